"""Catalog writes: validate, import and export catalog-as-code.

``validate_catalog`` checks a set of YAML files structurally (against the published JSON Schema)
and semantically (references, limits, 情形 rules that can never apply), naming file, line and
path for every problem. ``import_catalog`` applies a valid set in **one transaction**: bodies and
data elements are upserted; an item whose content changed gets a new immutable version and older
versions stay for the cases filed under them. ``export_catalog`` writes the database back as files
that import to the same state (round trip).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema
import structlog
import yaml
from django.db import transaction
from django.db.models import F
from pydantic import ValidationError as PydanticValidationError

from tongban.catalog.document import (
    SCHEMA_ID,
    STATUTORY_EXTENSION_DAYS,
    CatalogDocument,
    DataElementDoc,
    DivisionDoc,
    ItemDoc,
    json_schema,
)
from tongban.catalog.models import (
    CatalogRevision,
    DataElement,
    Field,
    Implementation,
    Item,
    ItemVersion,
    Material,
    Question,
)
from tongban.catalog.rules import (
    QuestionSpec,
    Rule,
    RuleError,
    analyse,
    compile_rule,
    to_document,
)
from tongban.core.errors import FieldError, PermissionDenied, ValidationFailed
from tongban.core.sourcefiles import LoadedFile, PathKey, Problem, load_yaml, yaml_files
from tongban.core.uploads import Upload, read_within
from tongban.identity import services as identity_services
from tongban.identity.models import Department, Division, ServiceCentre

logger = structlog.get_logger(__name__)

LEVEL_DEPTH = {"province": 0, "city": 1, "district": 2, "street": 3}


class CatalogInvalid(Exception):
    """The files cannot be imported; ``problems`` says exactly where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class ParsedFile:
    loaded: LoadedFile
    document: CatalogDocument


@dataclass
class ValidCatalog:
    files: list[ParsedFile]
    warnings: list[Problem]

    def entries(self, section: str) -> Iterable[tuple[ParsedFile, int, Any]]:
        for parsed in self.files:
            for index, entry in enumerate(getattr(parsed.document, section)):
                yield parsed, index, entry


@dataclass
class ImportReport:
    files: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    warnings: list[Problem] = field(default_factory=list)
    revision: int = 0

    def summary(self) -> str:
        parts = [f"{k}={v}" for k, v in sorted(self.counts.items())]
        return f"{self.files} file(s); " + ", ".join(parts) + f"; catalog revision {self.revision}"


# --- validation ---------------------------------------------------------------------------------
_schema_validator: jsonschema.protocols.Validator | None = None


def _validator() -> jsonschema.protocols.Validator:
    global _schema_validator
    if _schema_validator is None:
        schema = json_schema()
        cls = jsonschema.validators.validator_for(schema)
        _schema_validator = cls(schema)
    return _schema_validator


def _display(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.relative_to(root))
        except ValueError:
            pass
    return str(path)


def validate_catalog(paths: Sequence[Path], *, root: Path | None = None) -> ValidCatalog:
    """Check the files; return them parsed, or raise ``CatalogInvalid`` listing every problem."""
    problems: list[Problem] = []
    parsed_files: list[ParsedFile] = []
    files = list(yaml_files([Path(p) for p in paths]))
    if not files:
        raise CatalogInvalid(
            [Problem(", ".join(map(str, paths)) or "-", 1, "", "没有找到 YAML 文件")]
        )
    for path in files:
        loaded, load_problems = load_yaml(path, _display(path, root))
        problems.extend(load_problems)
        if loaded is None:
            continue
        structural = [
            loaded.problem(_schema_path(err), _schema_message(err))
            for err in _validator().iter_errors(_jsonable(loaded.data))
        ]
        if structural:
            problems.extend(structural)
            continue
        try:
            document = CatalogDocument.model_validate(loaded.data)
        except PydanticValidationError as exc:
            problems.extend(loaded.problem(tuple(e["loc"]), e["msg"]) for e in exc.errors())
            continue
        parsed_files.append(ParsedFile(loaded, document))
    if problems:
        raise CatalogInvalid(problems)
    catalog = ValidCatalog(parsed_files, [])
    semantic = _check_semantics(catalog)
    if not any(p.severity == "error" for p in semantic):
        semantic += _check_sections(catalog)
    errors = [p for p in semantic if p.severity == "error"]
    if errors:
        raise CatalogInvalid(semantic)
    catalog.warnings = [p for p in semantic if p.severity != "error"]
    return catalog


def _check_sections(catalog: ValidCatalog) -> list[Problem]:
    """Sections another app owns (``tongban.catalog.extensions``), checked once the catalog's
    own parts are sound."""
    from tongban.catalog.extensions import section_handlers

    problems: list[Problem] = []
    for _name, handler in section_handlers.items():
        problems.extend(handler.check(catalog))
    for parsed, index, _entry in catalog.entries("bundles"):
        if "bundles" not in section_handlers:
            problems.append(
                parsed.loaded.problem(("bundles", index), "未安装一件事（bundles）应用")
            )
    return problems


def _jsonable(data: Any) -> Any:
    """YAML may hold dates; the schema sees them as the ISO strings they were written as."""
    return json.loads(json.dumps(data, default=str))


def _extra_keys(err: jsonschema.ValidationError) -> list[str]:
    allowed = err.schema.get("properties", {}) if isinstance(err.schema, dict) else {}
    return [k for k in err.instance if k not in allowed] if isinstance(err.instance, dict) else []


def _schema_path(err: jsonschema.ValidationError) -> PathKey:
    path = tuple(err.absolute_path)
    extras = _extra_keys(err) if err.validator == "additionalProperties" else []
    return (*path, extras[0]) if extras else path


def _schema_message(err: jsonschema.ValidationError) -> str:
    if err.validator == "additionalProperties":
        return f"不允许的字段：{', '.join(_extra_keys(err))}"
    if err.validator == "required":
        return f"缺少必填字段：{err.message.split(' is a required')[0]}"
    if err.validator == "enum":
        allowed = ", ".join(map(str, err.validator_value))
        return f"取值 {err.instance!r} 不在允许范围内（{allowed}）"
    if err.validator == "const":
        return f"应为 {err.validator_value!r}"
    if err.validator == "type":
        return f"类型不正确：应为 {err.validator_value}"
    if err.validator == "pattern":
        return f"{err.instance!r} 格式不正确（应匹配 {err.validator_value}）"
    return err.message


def _check_semantics(catalog: ValidCatalog) -> list[Problem]:
    problems: list[Problem] = []

    def dup(section: str, key_of: Any, label: str) -> dict[Any, tuple[ParsedFile, int, Any]]:
        seen: dict[Any, tuple[ParsedFile, int, Any]] = {}
        for parsed, index, entry in catalog.entries(section):
            key = key_of(entry)
            if key in seen:
                first = seen[key][0].loaded
                problems.append(
                    parsed.loaded.problem(
                        (section, index),
                        f"{label} {key} 重复定义（首次出现于 {first.path}:{first.line_of((section, seen[key][1]))}）",
                    )
                )
            else:
                seen[key] = (parsed, index, entry)
        return seen

    divisions = dup("divisions", lambda d: d.code, "区划")
    departments = dup("departments", lambda d: d.code, "部门")
    centres = dup("service_centres", lambda c: c.code, "服务中心")
    elements = dup("data_elements", lambda e: e.code, "数据元")
    items = dup("items", lambda i: i.code, "事项")
    dup("implementations", lambda i: (i.item, i.division), "实施清单")

    db_divisions = dict(Division.objects.values_list("code", "level"))
    division_levels = {**db_divisions, **{c: e[2].level for c, e in divisions.items()}}
    known_departments = set(departments) | set(Department.objects.values_list("code", flat=True))
    known_centres = set(centres) | set(ServiceCentre.objects.values_list("code", flat=True))
    element_types = {
        code: (kind, tuple(choices))
        for code, kind, choices in DataElement.objects.values_list("code", "value_type", "choices")
    }
    element_types.update({c: (e[2].type, tuple(e[2].choices)) for c, e in elements.items()})
    known_items = set(items) | set(Item.objects.values_list("code", flat=True))

    for parsed, i, d in catalog.entries("divisions"):
        problems.extend(_check_division(parsed.loaded, i, d, division_levels))
    for parsed, i, d in catalog.entries("departments"):
        if d.division not in division_levels:
            problems.append(
                parsed.loaded.problem(("departments", i, "division"), f"未知的区划 {d.division}")
            )
    for parsed, i, c in catalog.entries("service_centres"):
        if c.division not in division_levels:
            problems.append(
                parsed.loaded.problem(
                    ("service_centres", i, "division"), f"未知的区划 {c.division}"
                )
            )
        for w, window in enumerate(c.windows):
            for k, dept in enumerate(window.departments):
                if dept not in known_departments:
                    problems.append(
                        parsed.loaded.problem(
                            ("service_centres", i, "windows", w, "departments", k),
                            f"未知的部门 {dept}",
                        )
                    )
    for parsed, i, e in catalog.entries("data_elements"):
        problems.extend(_check_element(parsed.loaded, i, e))
    problems.extend(_check_retyped_elements(catalog, element_types, set(items)))
    for parsed, i, item in catalog.entries("items"):
        problems.extend(_check_item(parsed.loaded, i, item, known_departments, element_types))
    for parsed, i, impl in catalog.entries("implementations"):
        base: PathKey = ("implementations", i)
        if impl.item not in known_items:
            problems.append(parsed.loaded.problem((*base, "item"), f"未知的事项 {impl.item}"))
        if impl.division not in division_levels:
            problems.append(
                parsed.loaded.problem((*base, "division"), f"未知的区划 {impl.division}")
            )
        if impl.handling_department and impl.handling_department not in known_departments:
            problems.append(
                parsed.loaded.problem(
                    (*base, "handling_department"), f"未知的部门 {impl.handling_department}"
                )
            )
        if impl.service_centre and impl.service_centre not in known_centres:
            problems.append(
                parsed.loaded.problem(
                    (*base, "service_centre"), f"未知的服务中心 {impl.service_centre}"
                )
            )
        item_doc = items.get(impl.item)
        if item_doc and impl.promised_limit_days is not None:
            statutory = item_doc[2].statutory_limit_days
            if statutory is not None and impl.promised_limit_days > statutory:
                problems.append(
                    parsed.loaded.problem(
                        (*base, "promised_limit_days"),
                        f"承诺时限 {impl.promised_limit_days} 个工作日超过法定时限 {statutory} 个工作日",
                    )
                )
    return problems


def _check_division(
    loaded: LoadedFile, i: int, d: DivisionDoc, levels: dict[str, str]
) -> list[Problem]:
    base: PathKey = ("divisions", i)
    out = []
    if d.level == "street" and len(d.code) != 9:
        out.append(loaded.problem((*base, "code"), "乡镇街道代码应为9位（区县代码+3位）"))
    if d.level != "street" and len(d.code) != 6:
        out.append(loaded.problem((*base, "code"), "省、市、县区代码应为6位（GB/T 2260）"))
    if d.level == "province" and (d.parent or not d.code.endswith("0000")):
        out.append(loaded.problem(base, "省级区划代码以0000结尾，且没有上级"))
    if d.level != "province":
        if not d.parent:
            out.append(loaded.problem((*base, "parent"), "缺少上级区划"))
        elif d.parent not in levels:
            out.append(loaded.problem((*base, "parent"), f"未知的上级区划 {d.parent}"))
        elif LEVEL_DEPTH[levels[d.parent]] >= LEVEL_DEPTH[d.level]:
            out.append(loaded.problem((*base, "parent"), f"上级区划 {d.parent} 的层级不高于本级"))
        elif not d.code.startswith(d.parent.rstrip("0")[: max(2, len(d.parent.rstrip("0")))]):
            out.append(
                loaded.problem((*base, "code"), f"区划代码 {d.code} 与上级 {d.parent} 不一致")
            )
    return out


def _check_element(loaded: LoadedFile, i: int, e: DataElementDoc) -> list[Problem]:
    base: PathKey = ("data_elements", i)
    out = []
    if e.validator == "regex":
        if not e.pattern:
            out.append(loaded.problem((*base, "pattern"), "校验规则为 regex 时必须给出 pattern"))
        else:
            try:
                re.compile(e.pattern)
            except re.error as exc:
                out.append(loaded.problem((*base, "pattern"), f"正则表达式无效：{exc}"))
    if e.type == "choice" and not e.choices:
        out.append(loaded.problem((*base, "choices"), "选项类型的数据元必须给出 choices"))
    return out


def _check_item(
    loaded: LoadedFile,
    i: int,
    item: ItemDoc,
    departments: set[str],
    elements: dict[str, tuple[str, tuple[str, ...]]],
) -> list[Problem]:
    base: PathKey = ("items", i)
    out: list[Problem] = []

    def err(path: PathKey, message: str, severity: str = "error") -> None:
        out.append(loaded.problem((*base, *path), message, severity))

    if item.department not in departments:
        err(("department",), f"未知的部门 {item.department}")
    if (
        item.statutory_limit_days is not None
        and item.promised_limit_days > item.statutory_limit_days
    ):
        err(
            ("promised_limit_days",),
            f"承诺时限 {item.promised_limit_days} 个工作日超过法定时限 {item.statutory_limit_days} 个工作日",
        )
    longest = 0
    for j, stage in enumerate(item.review_stages):
        for k, task in enumerate(stage.tasks):
            if task.department not in departments:
                err(("review_stages", j, "tasks", k, "department"), f"未知的部门 {task.department}")
        counts = Counter(t.department for t in stage.tasks)
        for dept, count in counts.items():
            if count > 1:
                err(("review_stages", j, "tasks"), f"同一环节中部门 {dept} 出现了 {count} 次")
        longest += max(t.limit_days for t in stage.tasks)
    if longest > item.promised_limit_days:
        err(
            ("review_stages",),
            f"各审查环节时限之和 {longest} 个工作日超过承诺时限 {item.promised_limit_days} 个工作日",
        )
    if (
        item.extension_max_days > STATUTORY_EXTENSION_DAYS
        and not item.extension_legal_basis.strip()
    ):
        err(
            ("extension_max_days",),
            f"可延长期限 {item.extension_max_days} 个工作日超过行政许可法第四十二条可以延长的 "
            f"{STATUTORY_EXTENSION_DAYS} 个工作日：须在 extension_legal_basis 中写明另有规定的"
            "法律、法规依据",
        )
    if item.result == "licence" and not item.result_licence_type:
        err(("result_licence_type",), "办理结果为证照时须给出证照类型")
    if item.handling_mode == "immediate" and item.promised_limit_days > 1:
        err(("handling_mode",), "即办件的承诺时限应为0或1个工作日")
    for section in ("questions", "materials", "fields"):
        counts = Counter(part.key for part in getattr(item, section))
        for j, part in enumerate(getattr(item, section)):
            if counts[part.key] > 1:
                err((section, j, "key"), f"标识 {part.key} 在 {section} 中重复")

    specs: dict[str, QuestionSpec] = {}
    compiled: list[tuple[PathKey, Rule]] = []
    for j, q in enumerate(item.questions):
        values = [o.value for o in q.options]
        if q.type in ("choice", "multi_choice"):
            if len(values) < 2:
                err(("questions", j, "options"), "选择题至少需要两个选项")
            for value, count in Counter(values).items():
                if count > 1:
                    err(("questions", j, "options"), f"选项值 {value} 重复")
        elif q.options:
            err(("questions", j, "options"), f"{q.type} 类型的问题不设选项")
        earlier = dict(specs)
        try:
            rule = compile_rule(q.when, earlier, "when")
            compiled.append((("questions", j), rule))
        except RuleError as exc:
            hint = "（追问只能引用排在它前面的问题）" if "未知的问题" in exc.message else ""
            err(("questions", j, *_rule_path(exc.path)), exc.message + hint)
        specs[q.key] = QuestionSpec(q.key, q.type, tuple(values))
    for section in ("materials", "fields"):
        for j, part in enumerate(getattr(item, section)):
            try:
                compiled.append(((section, j), compile_rule(part.when, specs, "when")))
            except RuleError as exc:
                err((section, j, *_rule_path(exc.path)), exc.message)
    for j, f in enumerate(item.fields):
        if f.element not in elements:
            err(("fields", j, "element"), f"未知的数据元 {f.element}")
        if f.prefill == "data_source" and not f.data_source:
            err(("fields", j, "data_source"), "系统填（data_source）的字段须给出数源")
    decision_specs = instant_rule_specs(specs, [(f.key, f.element) for f in item.fields], elements)
    decisions: list[tuple[PathKey, Rule]] = []
    for j, rule_doc in enumerate(item.instant_rules):
        try:
            decisions.append(
                (("instant_rules", j), compile_rule(rule_doc.when, decision_specs, "when"))
            )
        except RuleError as exc:
            err(("instant_rules", j, *_rule_path(exc.path)), exc.message)
        if rule_doc.outcome == "deny" and not rule_doc.legal_basis.strip():
            err(
                ("instant_rules", j, "legal_basis"),
                "不予（deny）的秒办规则须写明法律依据：不予许可决定书必须载明依据",
            )
    _check_reach(compiled, specs, err)
    _check_reach(decisions, decision_specs, err)
    return out


def _check_retyped_elements(
    catalog: Any, element_types: dict[str, tuple[str, tuple[str, ...]]], imported: set[str]
) -> list[Problem]:
    """A data element whose type or options change must still fit the 秒办 rules of the stored
    items that compare it (the current versions of items this import leaves as they are):
    versions never change, so a retyped element would leave their rules unable to run."""
    stored = {
        code: (kind, tuple(choices))
        for code, kind, choices in DataElement.objects.values_list("code", "value_type", "choices")
    }
    out: list[Problem] = []
    for parsed, i, e in catalog.entries("data_elements"):
        if e.code not in stored or stored[e.code] == element_types[e.code]:
            continue
        versions = (
            ItemVersion.objects.filter(
                pk__in=Item.objects.values("current_version"), fields__element__code=e.code
            )
            .exclude(item__code__in=imported)
            .select_related("item")
            .prefetch_related("questions", "fields__element")
            .distinct()
        )
        for version in (v for v in versions if v.instant_rules):
            for rule_name, message in _rules_that_no_longer_fit(version, element_types):
                out.append(
                    parsed.loaded.problem(
                        ("data_elements", i, "type"),
                        f"事项 {version.item.code} 的秒办规则“{rule_name}”比较该数据元，"
                        f"改为此类型后不再成立：{message}",
                    )
                )
    return out


def _rules_that_no_longer_fit(
    version: ItemVersion, element_types: dict[str, tuple[str, tuple[str, ...]]]
) -> list[tuple[str, str]]:
    questions = {
        q.key: QuestionSpec(q.key, q.answer_type, tuple(o["value"] for o in q.options))
        for q in version.questions.all()
    }
    fields = [(f.key, f.element.code) for f in version.fields.all()]
    specs = instant_rule_specs(questions, fields, element_types)
    broken = []
    for rule_doc in version.instant_rules:
        try:
            compile_rule(rule_doc["when"], specs)
        except RuleError as exc:
            broken.append((rule_doc["name"], str(exc)))
    return broken


def _check_reach(
    compiled: list[tuple[PathKey, Rule]], specs: dict[str, QuestionSpec], err: Any
) -> None:
    """A rule no answer can satisfy is an error; one that always holds is a warning."""
    all_rules = [r for _, r in compiled]
    for path, rule in compiled:
        if not rule.questions():
            continue
        reach = analyse(rule, specs, all_rules)
        if reach is None:
            err((*path, "when"), "条件涉及的组合过多，无法检查", "warning")
        elif not reach.can_be_true:
            err((*path, "when"), "条件自相矛盾或永远无法满足：无论怎样回答都不会适用")
        elif not reach.can_be_false:
            err((*path, "when"), "条件恒成立，可以删去", "warning")


FIELD_ANSWER_TYPES = {
    "integer": "number",
    "decimal": "number",
    "date": "date",
    "boolean": "yes_no",
    "choice": "choice",
    "text": "text",
}


def instant_rule_specs(
    questions: dict[str, QuestionSpec],
    fields: Iterable[tuple[str, str]],
    elements: dict[str, tuple[str, tuple[str, ...]]],
) -> dict[str, QuestionSpec]:
    """What 秒办 rules may refer to: ``answer.<question>``, ``form.<field>``, ``fact.<name>``."""
    from tongban.core.facts import facts

    specs = {
        f"answer.{k}": QuestionSpec(f"answer.{k}", q.answer_type, q.options)
        for k, q in questions.items()
    }
    for field_key, element in fields:
        kind, choices = elements.get(element, ("text", ()))
        key = f"form.{field_key}"
        specs[key] = QuestionSpec(key, FIELD_ANSWER_TYPES.get(kind, "text"), choices)
    for name, fact in facts.items():
        specs[name] = QuestionSpec(name, fact.answer_type)
    return specs


def _rule_path(path: str) -> PathKey:
    parts: list[str | int] = []
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    return tuple(parts)


# --- import -------------------------------------------------------------------------------------
def import_catalog(paths: Sequence[Path], *, root: Path | None = None) -> ImportReport:
    """Validate and apply catalog files atomically; raises ``CatalogInvalid`` and changes nothing
    if any file has a problem."""
    catalog = validate_catalog(paths, root=root)
    report = ImportReport(files=len(catalog.files), warnings=catalog.warnings)
    digest = _catalog_digest(catalog)
    with transaction.atomic():
        revision, _ = CatalogRevision.objects.select_for_update().get_or_create(pk=1)
        _apply(catalog, report)
        if revision.source_digest != digest:  # re-importing the same files changes nothing
            revision.number += 1
            revision.source_digest = digest
            revision.save(update_fields=["number", "source_digest", "changed_at"])
        report.revision = revision.number
    return report


def _catalog_digest(catalog: ValidCatalog) -> str:
    parts = sorted(
        json.dumps(p.document.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)
        for p in catalog.files
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _apply(catalog: ValidCatalog, report: ImportReport) -> None:
    division_docs = sorted(
        (d for _, _, d in catalog.entries("divisions")),
        key=lambda d: (LEVEL_DEPTH[d.level], d.code),
    )
    divisions = {d.code: d for d in Division.objects.all()}
    for d in division_docs:
        parent = divisions.get(d.parent) if d.parent else None
        divisions[d.code] = identity_services.do_upsert_division(d.code, d.name, d.level, parent)
        report.counts["divisions"] += 1
    departments = {d.code: d for d in Department.objects.all()}
    for _, _, dep in catalog.entries("departments"):
        departments[dep.code] = identity_services.do_upsert_department(
            dep.code, dep.name, dep.short_name, divisions[dep.division]
        )
        report.counts["departments"] += 1
    for _, _, c in catalog.entries("service_centres"):
        identity_services.do_upsert_service_centre(
            c.code,
            c.name,
            divisions[c.division],
            c.address,
            c.opening_hours,
            c.phone,
            [
                (w.number, w.name, w.kind, [departments[x] for x in w.departments])
                for w in c.windows
            ],
        )
        report.counts["service_centres"] += 1
    for _, _, e in catalog.entries("data_elements"):
        DataElement.objects.update_or_create(
            code=e.code,
            defaults={
                "name": e.name,
                "value_type": e.type,
                "validator": e.validator,
                "pattern": e.pattern,
                "max_length": e.max_length,
                "choices": list(e.choices),
                "description": e.description,
            },
        )
        report.counts["data_elements"] += 1
    elements = {e.code: e for e in DataElement.objects.all()}
    for _, _, item_doc in catalog.entries("items"):
        outcome = _apply_item(item_doc, departments, elements)
        report.counts[f"items_{outcome}"] += 1
    centres = {c.code: c for c in ServiceCentre.objects.all()}
    items = {i.code: i for i in Item.objects.all()}
    for _, _, impl in catalog.entries("implementations"):
        Implementation.objects.update_or_create(
            item=items[impl.item],
            division=divisions[impl.division],
            defaults={
                "handling_department": departments.get(impl.handling_department or ""),
                "promised_limit_days": impl.promised_limit_days,
                "fee": impl.fee,
                "service_centre": centres.get(impl.service_centre or ""),
                "windows": impl.windows,
                "online_depth": impl.online_depth,
                "required_trips": impl.required_trips,
            },
        )
        report.counts["implementations"] += 1
    from tongban.catalog.extensions import section_handlers

    for _name, handler in section_handlers.items():
        handler.apply(catalog, report.counts)


def canonical_item(item: ItemDoc) -> ItemDoc:
    """The item with every rule in canonical form (what is stored and exported)."""
    specs: dict[str, QuestionSpec] = {}
    questions = []
    for q in item.questions:
        when = to_document(compile_rule(q.when, specs))
        specs[q.key] = QuestionSpec(q.key, q.type, tuple(o.value for o in q.options))
        questions.append(q.model_copy(update={"when": when}))
    materials = [
        m.model_copy(update={"when": to_document(compile_rule(m.when, specs))})
        for m in item.materials
    ]
    fields = [
        f.model_copy(update={"when": to_document(compile_rule(f.when, specs))}) for f in item.fields
    ]
    return item.model_copy(
        update={"questions": questions, "materials": materials, "fields": fields}
    )


def item_content_hash(item: ItemDoc) -> str:
    # an item without an extension basis hashes as before the field existed: re-importing an
    # unchanged catalog makes no new versions
    unset = set() if item.extension_legal_basis else {"extension_legal_basis"}
    data = item.model_dump(mode="json", exclude=unset)
    payload = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _apply_item(
    doc: ItemDoc, departments: dict[str, Department], elements: dict[str, DataElement]
) -> str:
    doc = canonical_item(doc)
    digest = item_content_hash(doc)
    item, created = Item.objects.select_for_update().get_or_create(code=doc.code)
    current = item.current_version
    if current is not None and current.content_hash == digest:
        return "unchanged"
    number = (item.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    version = ItemVersion.objects.create(
        item=item,
        number=number,
        content_hash=digest,
        name=doc.name,
        item_type=doc.type,
        department=departments[doc.department],
        legal_basis=doc.legal_basis,
        acceptance_conditions=doc.acceptance_conditions,
        statutory_limit_days=doc.statutory_limit_days,
        promised_limit_days=doc.promised_limit_days,
        fee=doc.fee,
        result_kind=doc.result,
        result_name=doc.result_name,
        result_licence_type=doc.result_licence_type,
        handling_mode=doc.handling_mode,
        online_depth=doc.online_depth,
        required_trips=doc.required_trips,
        applicant_types=list(doc.applicant_types),
        allows_commitment=doc.allows_commitment,
        allows_tolerance=doc.allows_tolerance,
        tongban_scope=doc.tongban_scope,
        keywords=list(doc.keywords),
        themes=list(doc.themes),
        popularity=doc.popularity,
        sample_note=doc.sample_note,
        review_stages=[stage.model_dump() for stage in doc.review_stages],
        extension_max_days=doc.extension_max_days,
        extension_legal_basis=doc.extension_legal_basis,
        instant_rules=[rule.model_dump() for rule in doc.instant_rules],
    )
    Question.objects.bulk_create(
        Question(
            version=version,
            order=n,
            key=q.key,
            text=q.text,
            help_text=q.help,
            answer_type=q.type,
            options=[o.model_dump() for o in q.options],
            when=q.when,
        )
        for n, q in enumerate(doc.questions)
    )
    Material.objects.bulk_create(
        Material(
            version=version,
            order=n,
            key=m.key,
            name=m.name,
            source=m.source,
            requirement=m.requirement,
            commitment_replaceable=m.commitment_replaceable,
            licence_type=m.licence_type,
            data_source=m.data_source,
            formats=list(m.formats),
            max_size_mb=m.max_size_mb,
            originals=m.originals,
            copies=m.copies,
            template=m.template,
            notes=m.notes,
            when=m.when,
        )
        for n, m in enumerate(doc.materials)
    )
    Field.objects.bulk_create(
        Field(
            version=version,
            order=n,
            key=f.key,
            label=f.label,
            element=elements[f.element],
            required=f.required,
            prefill=f.prefill,
            data_source=f.data_source,
            when=f.when,
        )
        for n, f in enumerate(doc.fields)
    )
    item.current_version = version
    item.save(update_fields=["current_version"])
    return "created" if created else "new_version"


# --- export -------------------------------------------------------------------------------------
def export_documents() -> dict[str, CatalogDocument]:
    """The whole catalog as documents, keyed by relative file name (deterministic)."""
    out: dict[str, CatalogDocument] = {}
    bodies = {
        "divisions": [
            {
                "code": d.code,
                "name": d.name,
                "level": d.level,
                "parent": d.parent.code if d.parent else None,
            }
            for d in Division.objects.select_related("parent").order_by("code")
        ],
        "departments": [
            {
                "code": d.code,
                "name": d.name,
                "short_name": d.short_name,
                "division": d.division.code,
            }
            for d in Department.objects.select_related("division").order_by("code")
        ],
        "service_centres": [
            {
                "code": c.code,
                "name": c.name,
                "division": c.division.code,
                "address": c.address,
                "opening_hours": c.opening_hours,
                "phone": c.phone,
                "windows": [
                    {
                        "number": w.number,
                        "name": w.name,
                        "kind": w.kind,
                        "departments": sorted(d.code for d in w.departments.all()),
                    }
                    for w in c.windows.order_by("number")
                ],
            }
            for c in ServiceCentre.objects.select_related("division")
            .prefetch_related("windows__departments")
            .order_by("code")
        ],
    }
    if any(bodies.values()):
        out["bodies.yaml"] = _document(bodies)
    elements = [
        {
            "code": e.code,
            "name": e.name,
            "type": e.value_type,
            "validator": e.validator,
            "pattern": e.pattern,
            "max_length": e.max_length,
            "choices": list(e.choices),
            "description": e.description,
        }
        for e in DataElement.objects.order_by("code")
    ]
    if elements:
        out["data-elements.yaml"] = _document({"data_elements": elements})
    by_department: dict[str, list[dict[str, Any]]] = {}
    versions = (
        ItemVersion.objects.filter(item__current_version=F("pk"))
        .select_related("item", "department")
        .prefetch_related("questions", "materials", "fields__element")
        .order_by("item__code")
    )
    for v in versions:
        by_department.setdefault(v.department.code, []).append(_item_data(v))
    for code, item_data in sorted(by_department.items()):
        out[f"items/{code}.yaml"] = _document({"items": item_data})
    impls = [
        {
            "item": i.item.code,
            "division": i.division.code,
            "handling_department": i.handling_department.code if i.handling_department else None,
            "promised_limit_days": i.promised_limit_days,
            "fee": i.fee,
            "service_centre": i.service_centre.code if i.service_centre else None,
            "windows": i.windows,
            "online_depth": i.online_depth,
            "required_trips": i.required_trips,
        }
        for i in Implementation.objects.select_related(
            "item", "division", "handling_department", "service_centre"
        ).order_by("item__code", "division__code")
    ]
    if impls:
        out["implementations.yaml"] = _document({"implementations": impls})
    from tongban.catalog.extensions import section_handlers

    for _name, handler in section_handlers.items():
        out.update(handler.export())
    return out


def _document(sections: dict[str, Any]) -> CatalogDocument:
    return CatalogDocument.model_validate({"schema": SCHEMA_ID, **sections})


def item_document(v: ItemVersion) -> ItemDoc:
    """An item version as the catalog file describes it (used by export and the API)."""
    return ItemDoc.model_validate(_item_data(v))


def _item_data(v: ItemVersion) -> dict[str, Any]:
    return {
        "code": v.item.code,
        "name": v.name,
        "type": v.item_type,
        "department": v.department.code,
        "legal_basis": v.legal_basis,
        "acceptance_conditions": v.acceptance_conditions,
        "statutory_limit_days": v.statutory_limit_days,
        "promised_limit_days": v.promised_limit_days,
        "fee": v.fee,
        "result": v.result_kind,
        "result_name": v.result_name,
        "result_licence_type": v.result_licence_type,
        "handling_mode": v.handling_mode,
        "online_depth": v.online_depth,
        "required_trips": v.required_trips,
        "applicant_types": list(v.applicant_types),
        "allows_commitment": v.allows_commitment,
        "allows_tolerance": v.allows_tolerance,
        "tongban_scope": v.tongban_scope,
        "keywords": list(v.keywords),
        "themes": list(v.themes),
        "popularity": v.popularity,
        "sample_note": v.sample_note,
        "review_stages": list(v.review_stages),
        "extension_max_days": v.extension_max_days,
        "extension_legal_basis": v.extension_legal_basis,
        "instant_rules": list(v.instant_rules),
        "questions": [
            {
                "key": q.key,
                "text": q.text,
                "help": q.help_text,
                "type": q.answer_type,
                "options": list(q.options),
                "when": q.when,
            }
            for q in v.questions.all()
        ],
        "materials": [
            {
                "key": m.key,
                "name": m.name,
                "source": m.source,
                "requirement": m.requirement,
                "commitment_replaceable": m.commitment_replaceable,
                "licence_type": m.licence_type,
                "data_source": m.data_source,
                "formats": list(m.formats),
                "max_size_mb": m.max_size_mb,
                "originals": m.originals,
                "copies": m.copies,
                "template": m.template,
                "notes": m.notes,
                "when": m.when,
            }
            for m in v.materials.all()
        ],
        "fields": [
            {
                "key": f.key,
                "label": f.label,
                "element": f.element.code,
                "required": f.required,
                "prefill": f.prefill,
                "data_source": f.data_source,
                "when": f.when,
            }
            for f in v.fields.all()
        ],
    }


def dump_document(document: CatalogDocument) -> str:
    data = document.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data = {"schema": SCHEMA_ID, **data}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def export_catalog(target: Path) -> list[Path]:
    """Write the catalog under ``target``; returns the files written."""
    written = []
    for name, document in export_documents().items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_document(document), encoding="utf-8")
        written.append(path)
    return written


# --- import by an actor (admin page, API) -------------------------------------------------------
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_ARCHIVE_FILES = 2000


def check_import_catalog_upload(actor: Any, filename: str, content: bytes | Upload) -> ImportReport:
    """A catalog administrator uploads one YAML file or a zip of YAML files and imports it.

    The upload is judged by its content: a zip archive by its signature, anything else must be
    UTF-8 YAML. Archive members are unpacked into a private temporary folder (no absolute paths,
    no ``..``, bounded size and count). ``content`` may be the upload itself, read only for a
    catalog administrator and no further than the size limit. Raises ``PermissionDenied``,
    ``ValidationFailed`` or ``CatalogInvalid``; imports nothing unless everything is valid."""
    from tongban.identity.permissions import can_manage_catalog

    if not can_manage_catalog(actor):
        raise PermissionDenied("只有事项管理员可以导入事项目录", code="catalog_admin_required")
    if not isinstance(content, bytes):
        content = read_within(content, MAX_UPLOAD_BYTES)
    if not content:
        raise ValidationFailed(
            "上传的文件为空", code="empty_upload", errors=[FieldError("file", "上传的文件为空")]
        )
    if len(content) > MAX_UPLOAD_BYTES:
        raise ValidationFailed(
            "上传的文件过大",
            code="upload_too_large",
            errors=[FieldError("file", f"文件不能超过 {MAX_UPLOAD_BYTES // 2**20} MB")],
        )
    with tempfile.TemporaryDirectory(prefix="tongban-catalog-") as tmp:
        root = Path(tmp)
        if content[:4] == b"PK\x03\x04":
            paths = _unpack_archive(content, root)
        else:
            name = PurePosixPath(filename or "catalog.yaml").name
            if not name.endswith((".yaml", ".yml")):
                name = f"{name}.yaml"
            target = root / name
            target.write_bytes(content)
            paths = [target]
        report = import_catalog(paths, root=root)
    logger.info("catalog imported", actor=getattr(actor, "username", "?"), summary=report.summary())
    return report


def _unpack_archive(content: bytes, root: Path) -> list[Path]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise ValidationFailed(
            "压缩包已损坏", code="bad_archive", errors=[FieldError("file", "无法读取 zip 压缩包")]
        ) from exc
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > MAX_ARCHIVE_FILES:
        raise ValidationFailed(
            "压缩包内文件过多",
            code="archive_too_large",
            errors=[FieldError("file", f"最多 {MAX_ARCHIVE_FILES} 个文件")],
        )
    if sum(m.file_size for m in members) > MAX_UPLOAD_BYTES * 5:
        raise ValidationFailed(
            "压缩包解压后过大",
            code="archive_too_large",
            errors=[FieldError("file", "解压后的总大小超出限制")],
        )
    paths = []
    budget = MAX_UPLOAD_BYTES * 5  # the sizes in the archive's headers are not trusted
    for member in members:
        relative = PurePosixPath(member.filename)
        if relative.is_absolute() or ".." in relative.parts:
            raise ValidationFailed(
                "压缩包含有不安全的路径",
                code="unsafe_archive",
                errors=[FieldError("file", f"不安全的路径：{member.filename}")],
            )
        hidden = relative.parts[0] == "__MACOSX" or any(p.startswith(".") for p in relative.parts)
        if hidden or relative.suffix not in (".yaml", ".yml"):
            continue  # macOS resource forks, dot-files and non-catalog files are ignored
        with archive.open(member) as source:
            data = source.read(budget + 1)
        budget -= len(data)
        if budget < 0:
            raise ValidationFailed(
                "压缩包解压后过大",
                code="archive_too_large",
                errors=[FieldError("file", "解压后的总大小超出限制")],
            )
        target = root.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        paths.append(target)
    if not paths:
        raise ValidationFailed(
            "压缩包中没有 YAML 文件",
            code="empty_archive",
            errors=[FieldError("file", "压缩包中没有 .yaml 文件")],
        )
    return paths
