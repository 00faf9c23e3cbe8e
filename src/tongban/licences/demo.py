"""Sample licence data for ``tongban demo_data``: a licence type for every ``LT-*`` code the
sample catalog uses (issuing department and name from the item that results in it, or from
the table below for licences issued outside the sample catalog — marked as sample), an e-seal
key per issuing department, and a few issued licences for the demo accounts. Idempotent."""

from __future__ import annotations

import datetime as dt
import re

from django.db import transaction

from tongban.catalog.models import Item
from tongban.identity.models import Department, Enterprise, Person, User
from tongban.licences import seals, services
from tongban.licences.models import HolderKind, Licence, LicenceType, SealKey

# 证照 the sample catalog accepts as materials but issues from no sample item (sample data).
OTHER_TYPES: dict[str, tuple[str, str, str]] = {
    "LT-BIRTH-MEDICAL-CERT": ("出生医学证明", "330106-WJJ", HolderKind.PERSON),
    "LT-DEATH-MEDICAL-CERT": ("居民死亡医学证明（推断）书", "330106-WJJ", HolderKind.PERSON),
    "LT-MARRIAGE-CERT": ("结婚证", "330106-MZJ", HolderKind.PERSON),
    "LT-DIVORCE-CERT": ("离婚证", "330106-MZJ", HolderKind.PERSON),
    "LT-FOOD-BUSINESS": ("食品经营许可证", "330106-SCJG", HolderKind.EITHER),
    "LT-PERFORMANCE-AGENCY": ("营业性演出许可证", "330100-WGL", HolderKind.ENTERPRISE),
    "LT-LAND-PLANNING-PERMIT": ("建设用地规划许可证", "330100-GHZY", HolderKind.ENTERPRISE),
}
VALIDITY_MONTHS = {
    "LT-BUSINESS-LICENCE": 0,
    "LT-RESIDENCE-PERMIT": 12,
    "LT-FOOD-BUSINESS": 60,
    "LT-PUBLIC-PLACE-HYGIENE": 48,
    "LT-NIGHT-CONSTRUCTION": 1,
}
DEFAULT_FIELDS = [
    {"key": "holder", "label": "持证主体", "source": "applicant.name"},
    {"key": "matter", "label": "许可/登记事项", "source": "case.item_name"},
    {"key": "decided_on", "label": "决定日期", "source": "case.decided_on"},
]


def _prefix(code: str) -> str:
    letters = "".join(part[0] for part in code.removeprefix("LT-").split("-") if part)
    return re.sub(r"[^A-Z]", "", letters)[:6] or "ZZ"


def load_demo_licence_types() -> int:
    """Create or update the licence types; returns how many exist afterwards."""
    wanted: dict[str, tuple[str, Department, str, str]] = {}
    items = Item.objects.select_related("current_version__department").exclude(current_version=None)
    for item in items:
        version = item.current_version
        assert version is not None
        code = version.result_licence_type
        if code and code not in wanted:
            name = version.result_name or code
            wanted[code] = (name, version.department, HolderKind.EITHER, item.code)
    for code, (name, department_code, holder_kind) in OTHER_TYPES.items():
        department = Department.objects.filter(code=department_code).first()
        if code not in wanted and department is not None:
            wanted[code] = (name, department, holder_kind, "")
    for code, (name, department, holder_kind, item_code) in wanted.items():
        LicenceType.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "number_prefix": _prefix(code),
                "department": department,
                "holder_kind": holder_kind,
                "fields": DEFAULT_FIELDS,
                "validity_months": VALIDITY_MONTHS.get(code, 60),
                "reminder_days": [30, 7],
                "renewal_item_code": item_code,
                "change_item_code": item_code,
            },
        )
    return LicenceType.objects.count()


def load_demo_licences() -> dict[str, int]:
    """Licence types, one e-seal key per issuing department, and sample licences."""
    with transaction.atomic():
        types = load_demo_licence_types()
        keys = 0
        for department_id in set(LicenceType.objects.values_list("department_id", flat=True)):
            department = Department.objects.get(pk=department_id)
            if not SealKey.objects.filter(department=department).exists():
                seals.do_create_seal_key(department)
                keys += 1
        issued = 0
        citizen = User.objects.filter(username="citizen").select_related("person").first()
        enterprise = Enterprise.objects.filter(name="杭州小满餐饮管理有限公司").first()
        samples: list[tuple[str, Person | None, Enterprise | None, dict[str, str], dt.date]] = []
        if citizen is not None and citizen.person is not None:
            samples.append(("LT-RESIDENCE-PERMIT", citizen.person, None, {"holder": citizen.person.name, "matter": "居住证申领（示例）", "decided_on": "2026-01-05"}, dt.date(2026, 1, 5)))  # fmt: skip
            samples.append(("LT-MARRIAGE-CERT", citizen.person, None, {"holder": citizen.person.name, "matter": "结婚登记（示例）", "decided_on": "2023-05-20"}, dt.date(2023, 5, 20)))  # fmt: skip
        if enterprise is not None:
            samples.append(("LT-BUSINESS-LICENCE", None, enterprise, {"holder": enterprise.name, "matter": "企业设立登记（示例）", "decided_on": "2021-03-15"}, dt.date(2021, 3, 15)))  # fmt: skip
            samples.append(("LT-FOOD-BUSINESS", None, enterprise, {"holder": enterprise.name, "matter": "食品经营许可（示例）", "decided_on": "2021-12-01"}, dt.date(2021, 12, 1)))  # fmt: skip
        for code, person, company, data, start in samples:
            licence_type = LicenceType.objects.filter(code=code).first()
            if licence_type is None:
                continue
            exists = Licence.objects.filter(
                licence_type=licence_type, holder_person=person, holder_enterprise=company
            ).exists()
            if not exists:
                services.do_issue(
                    licence_type,
                    holder_person=person,
                    holder_enterprise=company,
                    data=data,
                    valid_from=start,
                )
                issued += 1
    return {"types": types, "keys": keys, "issued": issued}
