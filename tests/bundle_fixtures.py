"""A small catalog with one four-item bundle whose reform report is computed by hand in the
tests (tests/test_bundles.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.factories import ApplicantFactory, StaffUserFactory
from tongban.cases.models import Case, TaskState
from tongban.cases.services import perform
from tongban.catalog.services import import_catalog
from tongban.identity.models import Department

BODIES = """\
schema: tongban-catalog/1
divisions:
  - {code: "330000", name: 浙江省, level: province}
  - {code: "330100", name: 杭州市, level: city, parent: "330000"}
departments:
  - {code: T-A, name: 甲局, division: "330100"}
  - {code: T-B, name: 乙局, division: "330100"}
  - {code: T-C, name: 丙局, division: "330100"}
data_elements:
  - {code: person_name, name: 姓名, type: text, max_length: 64}
  - {code: id_number, name: 身份证号, type: text, validator: id_number}
  - {code: address, name: 地址, type: text, max_length: 255}
  - {code: bank_account, name: 银行账号, type: text, validator: regex, pattern: '^\\d{12,19}$'}
  - {code: death_date, name: 死亡日期, type: date}
"""

_ITEM = """\
  - code: {code}
    name: {name}
    type: public_service
    department: {dept}
    legal_basis: 示例依据
    acceptance_conditions: 示例条件
    promised_limit_days: {days}
    required_trips: {trips}
    result: {result}
    result_licence_type: "{licence}"
    applicant_types: [person]
"""

ITEMS = (
    "schema: tongban-catalog/1\nitems:\n"
    + _ITEM.format(
        code="T-CERT",
        name="出具证明",
        dept="T-A",
        days=5,
        trips=1,
        result="licence",
        licence="LT-CERT",
    )
    + """\
    questions:
      - key: kind
        text: 哪种情形？
        type: choice
        options: [{value: a, label: 甲}, {value: b, label: 乙}]
    materials:
      - {key: id_card, name: 居民身份证, source: government, data_source: hukou}
      - {key: photo, name: 照片}
      - {key: extra_b, name: 补充说明, when: {q: kind, eq: b}}
    fields:
      - {key: applicant_name, label: 申请人姓名, element: person_name, prefill: identity}
      - {key: applicant_id, label: 申请人身份证号, element: id_number, prefill: identity}
      - {key: baby_name, label: 新生儿姓名, element: person_name}
"""
    + _ITEM.format(
        code="T-REG", name="登记", dept="T-B", days=3, trips=1, result="document", licence=""
    )
    + """\
    materials:
      - {key: cert, name: 证明, source: government, licence_type: LT-CERT}
      - {key: photo, name: 照片}
      - {key: form_sheet, name: 登记表}
    fields:
      - {key: applicant_name, label: 姓名, element: person_name, prefill: identity}
      - {key: child, label: 子女姓名, element: person_name}
      - {key: address, label: 地址, element: address}
"""
    + _ITEM.format(
        code="T-PAY", name="缴费", dept="T-B", days=2, trips=0, result="none", licence=""
    )
    + """\
    questions:
      - key: kind
        text: 哪种情形？
        type: choice
        options: [{value: a, label: 甲}, {value: b, label: 乙}]
    materials:
      - {key: bank_card, name: 银行卡, requirement: optional}
    fields:
      - {key: applicant_id, label: 身份证号, element: id_number, prefill: identity}
      - {key: bank, label: 银行账号, element: bank_account}
"""
    + _ITEM.format(
        code="T-INS", name="参保", dept="T-A", days=4, trips=1, result="document", licence=""
    )
    + """\
    materials:
      - {key: cert, name: 证明, source: government, licence_type: LT-CERT}
      - {key: id_card, name: 居民身份证, source: government, data_source: hukou}
    fields:
      - {key: applicant_name, label: 姓名, element: person_name, prefill: identity}
      - {key: address, label: 地址, element: address}
"""
    + _ITEM.format(
        code="T-DEATH", name="死亡登记", dept="T-C", days=1, trips=0, result="document", licence=""
    )
    + """\
    fields:
      - {key: date, label: 死亡日期, element: death_date}
"""
)

BUNDLE = """\
schema: tongban-catalog/1
bundles:
  - code: T-BUNDLE
    name: 测试一件事
    division: "330100"
    applicant_types: [person]
    required_trips: 0
    on_denial: {on_denial}
    components:
      - item: T-CERT
      - item: T-REG
        needs: [T-CERT]
      - item: T-PAY
      - item: T-INS
        needs: [T-REG]
    same_fields:
      - key: baby_name
        label: 新生儿姓名
        parts: ["T-CERT:baby_name", "T-REG:child"]
    report_answers: {{kind: a}}
    published:
      source: 测试
      fields: {{before: 10, after: 3}}
"""


def write(tmp_path: Path, bundle: str | None = None, *, on_denial: str = "continue") -> list[Path]:
    files = {
        "bodies.yaml": BODIES,
        "items.yaml": ITEMS,
        "bundles.yaml": bundle if bundle is not None else BUNDLE.format(on_denial=on_denial),
    }
    paths = []
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


class Staff:
    def __init__(self) -> None:
        a = Department.objects.get(code="T-A")
        b = Department.objects.get(code="T-B")
        c = Department.objects.get(code="T-C")
        self.applicant = ApplicantFactory()
        self.stranger = ApplicantFactory()
        self.window = StaffUserFactory(department=a, roles=["window"])
        self.a = StaffUserFactory(department=a, roles=["reviewer", "department_head"])
        self.b = StaffUserFactory(department=b, roles=["reviewer", "department_head"])
        self.outsider = StaffUserFactory(department=c, roles=["reviewer", "department_head"])
        self.admin = StaffUserFactory(department=a, roles=["catalog_admin"])


def load(tmp_path: Path, **kwargs: Any) -> Staff:
    import_catalog(write(tmp_path, **kwargs))
    return Staff()


ANSWERS = {"kind": "a"}
FORM = {"baby_name": "王小宝", "address": "示例路1号", "bank": "6222020200112233445"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FILES = {"photo": ("photo.png", PNG), "form_sheet": ("sheet.png", PNG)}


def decide(staff: Staff, case: Case, user: Any, outcome: str = "approved") -> Case:
    """Take an item case from submission to a decision."""
    case = perform(staff.window, case.number or "", "accept")
    task = case.tasks.get(state=TaskState.OPEN)
    case = perform(user, case.number or "", "approve_task", {"task": task.pk, "opinion": "符合"})
    payload = {"outcome": outcome}
    if outcome == "denied":
        payload |= {"reason": "材料不符合要求", "legal_basis": "示例依据第一条"}
    return perform(user, case.number or "", "decide", payload)
