"""``tongban bench guide``: 情形引导 evaluation latency (target p95 ≤ 5 ms).

One item version is built with 10 questions (choice, multi-choice, yes/no and number, three of
them follow-ups asked only on some answers), 30 materials and 20 fields whose ``when`` rules mix
comparisons, sets, ``answered``, ``all``/``any``/``not``. Random answer sets — some questions
left open, some follow-ups answered although hidden — are parsed and evaluated with
``guide.evaluate(spec_for(version), parse_answers(spec, answers))``, and posted to
``POST /api/v1/items/{code}/guide`` (Django's test client) when that endpoint is routed.
"""

from __future__ import annotations

import json
import random
from functools import partial
from typing import Any

from django.test import Client
from django.urls import Resolver404, resolve

from tongban.bench.base import (
    Benchmark,
    Log,
    Option,
    Stopwatch,
    benchmarks,
    percentiles,
    seeded_random,
)
from tongban.bench.catalog_data import bump_revision
from tongban.catalog import guide
from tongban.catalog.models import DataElement, Field, Item, ItemVersion, Material, Question
from tongban.identity.models import Department, Division

ITEM_CODE = "BENCH-GUIDE-001"

QUESTIONS: list[dict[str, Any]] = [
    {
        "key": "applicant",
        "text": "申请人类型",
        "answer_type": "choice",
        "options": ["company", "individual", "cooperative"],
    },
    {"key": "new_shop", "text": "是否新开门店？", "answer_type": "yes_no"},
    {"key": "area", "text": "经营场所面积（平方米）", "answer_type": "number"},
    {
        "key": "kitchen",
        "text": "是否设有加工操作间？",
        "answer_type": "yes_no",
        "when": {"q": "new_shop", "eq": True},
    },
    {
        "key": "food_kinds",
        "text": "经营项目",
        "answer_type": "multi_choice",
        "options": ["hot_food", "cold_food", "raw_seafood", "pastry", "drinks", "prepackaged"],
    },
    {"key": "staff", "text": "从业人员人数", "answer_type": "number"},
    {"key": "agent", "text": "是否委托代理人办理？", "answer_type": "yes_no"},
    {
        "key": "agent_kind",
        "text": "代理人类型",
        "answer_type": "choice",
        "options": ["employee", "agency", "relative"],
        "when": {"q": "agent", "eq": True},
    },
    {
        "key": "premises",
        "text": "场所性质",
        "answer_type": "choice",
        "options": ["owned", "leased", "free_use", "market_stall"],
    },
    {
        "key": "online",
        "text": "是否开展网络销售？",
        "answer_type": "yes_no",
        "when": {"q": "premises", "in": ["owned", "leased"]},
    },
]

MATERIAL_NAMES = (
    "申请书",
    "营业执照",
    "法定代表人身份证明",
    "经营场所使用证明",
    "房屋租赁合同",
    "产权证明",
    "食品安全管理制度",
    "设备布局和工艺流程图",
    "从业人员健康证明",
    "食品安全管理人员培训合格证明",
    "授权委托书",
    "代理人身份证明",
    "中介机构营业执照",
    "亲属关系证明",
    "冷食类操作间平面图",
    "生食类水产品加工承诺书",
    "糕点加工流程说明",
    "饮品配方说明",
    "网络经营承诺书",
    "网站备案信息",
    "场地平面图",
    "消防安全承诺书",
    "排烟设施说明",
    "垃圾处理协议",
    "给排水设施说明",
    "合作社章程",
    "成员名册",
    "个体工商户经营者身份证",
    "市场管理方证明",
    "告知承诺书",
)
FIELD_LABELS = (
    ("申请人名称", "name"),
    ("统一社会信用代码", "uscc"),
    ("法定代表人", "name"),
    ("法定代表人身份证号", "id_number"),
    ("联系电话", "mobile"),
    ("经营场所地址", "address"),
    ("经营面积", "area"),
    ("从业人员数", "count"),
    ("食品安全管理员", "name"),
    ("管理员身份证号", "id_number"),
    ("代理人姓名", "name"),
    ("代理人身份证号", "id_number"),
    ("代理人电话", "mobile"),
    ("网店名称", "name"),
    ("网店地址", "address"),
    ("场所产权人", "name"),
    ("租赁起止日期", "date"),
    ("所属行政区划", "division"),
    ("邮政编码", "postcode"),
    ("备注", "name"),
)
ELEMENTS = {
    "name": ("名称", "text", "none"),
    "uscc": ("统一社会信用代码", "text", "uscc"),
    "id_number": ("公民身份号码", "text", "id_number"),
    "mobile": ("手机号", "text", "mobile"),
    "address": ("地址", "text", "none"),
    "area": ("面积", "decimal", "none"),
    "count": ("人数", "integer", "none"),
    "date": ("日期", "date", "none"),
    "division": ("行政区划代码", "text", "division"),
    "postcode": ("邮政编码", "text", "postcode"),
}


def _simple_rule(rng: random.Random) -> dict[str, Any]:
    q = rng.choice(QUESTIONS)
    key, kind = q["key"], q["answer_type"]
    if kind == "yes_no":
        return {"q": key, "eq": rng.random() < 0.5}
    if kind == "number":
        return {"q": key, rng.choice(["gt", "gte", "lt", "lte"]): rng.choice([5, 20, 50, 150])}
    if kind == "choice":
        if rng.random() < 0.5:
            return {"q": key, "eq": rng.choice(q["options"])}
        return {"q": key, "in": rng.sample(q["options"], k=2)}
    if rng.random() < 0.2:
        return {"q": key, "answered": True}
    return {"q": key, "in": rng.sample(q["options"], k=rng.randint(1, 2))}


def random_rule(rng: random.Random) -> dict[str, Any] | None:
    """None (always applies) a fifth of the time, else a simple or compound rule."""
    roll = rng.random()
    if roll < 0.2:
        return None
    if roll < 0.6:
        return _simple_rule(rng)
    if roll < 0.8:
        return {"all": [_simple_rule(rng) for _ in range(rng.randint(2, 3))]}
    if roll < 0.93:
        return {"any": [_simple_rule(rng), {"all": [_simple_rule(rng), _simple_rule(rng)]}]}
    return {"not": _simple_rule(rng)}


def random_answers(rng: random.Random) -> dict[str, Any]:
    """Raw answers as a browser would send them; about one in eight questions left open."""
    answers: dict[str, Any] = {}
    for q in QUESTIONS:
        if rng.random() < 0.125:
            continue
        kind = q["answer_type"]
        if kind == "yes_no":
            answers[q["key"]] = rng.choice([True, False, "是", "否"])
        elif kind == "number":
            answers[q["key"]] = rng.choice([rng.randint(1, 300), str(rng.randint(1, 300))])
        elif kind == "choice":
            answers[q["key"]] = rng.choice(q["options"])
        else:
            answers[q["key"]] = rng.sample(q["options"], k=rng.randint(1, 3))
    return answers


def build_item(seed: int) -> ItemVersion:
    rng = seeded_random(seed)
    division, _ = Division.objects.get_or_create(
        code="330100", defaults={"name": "杭州市", "level": "city"}
    )
    department, _ = Department.objects.get_or_create(
        code="BENCH-GUIDE-SCJG",
        defaults={
            "name": "杭州市市场监督管理局",
            "short_name": "市市场监管局",
            "division": division,
        },
    )
    elements = {
        key: DataElement.objects.get_or_create(
            code=f"bench_{key}",
            defaults={"name": name, "value_type": value_type, "validator": validator},
        )[0]
        for key, (name, value_type, validator) in ELEMENTS.items()
    }
    item = Item.objects.create(code=ITEM_CODE)
    version = ItemVersion.objects.create(
        item=item,
        number=1,
        content_hash="bench",
        name="食品经营许可（基准测试）",
        item_type="licensing",
        department=department,
        legal_basis="《中华人民共和国食品安全法》（示例）",
        acceptance_conditions="示例数据（基准测试生成）",
        statutory_limit_days=20,
        promised_limit_days=5,
        fee="不收费",
        result_kind="licence",
        result_name="食品经营许可证",
        handling_mode="promised",
        online_depth=4,
        required_trips=0,
        applicant_types=["enterprise", "person"],
    )
    Question.objects.bulk_create(
        Question(
            version=version,
            order=n,
            key=q["key"],
            text=q["text"],
            answer_type=q["answer_type"],
            options=[{"value": o, "label": o} for o in q.get("options", [])],
            when=q.get("when"),
        )
        for n, q in enumerate(QUESTIONS)
    )
    Material.objects.bulk_create(
        Material(
            version=version,
            order=n,
            key=f"m{n:02d}",
            name=name,
            source=rng.choice(["applicant", "government", "third_party"]),
            requirement=rng.choice(["required", "required", "tolerable", "optional"]),
            formats=["pdf", "jpg"],
            when=random_rule(rng),
        )
        for n, name in enumerate(MATERIAL_NAMES)
    )
    Field.objects.bulk_create(
        Field(
            version=version,
            order=n,
            key=f"f{n:02d}",
            label=label,
            element=elements[element],
            required=rng.random() < 0.8,
            prefill=rng.choice(["none", "identity", "history", "data_source"]),
            when=random_rule(rng),
        )
        for n, (label, element) in enumerate(FIELD_LABELS)
    )
    item.current_version = version
    item.save(update_fields=["current_version"])
    bump_revision()
    return version


def api_available() -> bool:
    try:
        resolve(f"/api/v1/items/{ITEM_CODE}/guide")
    except Resolver404:
        return False
    return True


@benchmarks.register("guide")
class GuideBenchmark(Benchmark):
    summary = "情形引导 evaluate() p50/p95 for 10 questions, 30 materials, 20 fields (≤ 5 ms)"
    options = {
        "answers": Option(int, 2_000, "random answer sets evaluated (and posted)"),
        "seed": Option(int, 20261123, "random seed for rules and answers"),
    }

    def run(self, options: dict[str, Any], log: Log) -> dict[str, Any]:
        version = build_item(options["seed"])
        rng = seeded_random(options["seed"] + 1)
        answer_sets = [random_answers(rng) for _ in range(options["answers"])]
        spec = guide.spec_for(version)
        counts = {"complete": 0, "materials": 0}

        def evaluate(raw: dict[str, Any]) -> guide.GuideResult:
            return guide.evaluate(guide.spec_for(version), guide.parse_answers(spec, raw))

        for raw in answer_sets[:50]:  # warm-up
            evaluate(raw)
        watch = Stopwatch()
        for raw in answer_sets:
            result = watch.time(partial(evaluate, raw))
            counts["complete"] += result.complete
            counts["materials"] += sum(1 for m in result.materials if m.status == "applies")
        figures: dict[str, Any] = {
            "benchmark": "guide",
            "answers": len(answer_sets),
            "questions": len(spec.questions),
            "materials": len(spec.materials),
            "fields": len(spec.fields),
            "complete_share": round(counts["complete"] / max(1, len(answer_sets)), 3),
            "mean_materials_applying": round(counts["materials"] / max(1, len(answer_sets)), 2),
        }
        figures.update(percentiles(watch.samples_ms))
        through_api = api_available()
        figures["through_api"] = through_api
        if through_api:
            client = Client()
            url = f"/api/v1/items/{ITEM_CODE}/guide"
            bodies = [json.dumps({"answers": raw}) for raw in answer_sets]

            def post(body: str) -> Any:
                return client.post(url, data=body, content_type="application/json")

            for body in bodies[:50]:
                response = post(body)
                if response.status_code != 200:
                    raise RuntimeError(
                        f"POST {url}: HTTP {response.status_code} {response.content[:300]!r}"
                    )
            api_watch = Stopwatch()
            for body in bodies:
                api_watch.time(partial(post, body))
            figures.update(percentiles(api_watch.samples_ms, prefix="api_"))
        else:
            log("POST /api/v1/items/{code}/guide is not routed; timing evaluate() only")
        return figures

    def report(self, result: dict[str, Any]) -> list[str]:
        lines = [
            f"item: {result['questions']} questions, {result['materials']} materials, "
            f"{result['fields']} fields; {result['answers']} random answer sets "
            f"({result['complete_share']:.0%} complete, "
            f"{result['mean_materials_applying']} materials apply on average)",
            f"parse + evaluate: p50 {result['p50_ms']:.3f} ms  p95 {result['p95_ms']:.3f} ms  "
            f"p99 {result['p99_ms']:.3f} ms",
        ]
        if result.get("through_api"):
            lines.append(
                f"POST /api/v1/items/{{code}}/guide: p50 {result['api_p50_ms']:.2f} ms  "
                f"p95 {result['api_p95_ms']:.2f} ms  p99 {result['api_p99_ms']:.2f} ms"
            )
        return lines
