"""factory_boy factories for identity records, shared by every app's tests.

Identifiers are valid (身份证号 by GB 11643, 统一社会信用代码 by GB 32100) and unique per
sequence number; names are synthetic. Accounts get the password ``PASSWORD``. Typical use::

    reviewer = StaffUserFactory(roles=["reviewer"])          # role in the account's department
    admin = StaffUserFactory(roles=["system_admin"])         # is_staff follows admin roles
    applicant = ApplicantFactory()                           # with a Person, 基础实名
    agent = EnterpriseAgentFactory(person=applicant.person)  # may act for a new enterprise

Tests log in with ``client.force_login(user)``: ``client.login()`` does not pass a request, which
the lockout backend (django-axes) requires.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from factory.django import DjangoModelFactory

from tongban.core.identifiers import id_number_check_char, org_code_check_char, uscc_check_char
from tongban.identity.models import (
    AccountKind,
    AgentRole,
    Department,
    Division,
    DivisionLevel,
    Enterprise,
    EnterpriseAgent,
    EnterpriseKind,
    Person,
    RealNameLevel,
    Role,
    ServiceCentre,
    StaffRole,
    User,
    Window,
    WindowKind,
)

PASSWORD = "correct-horse-battery-staple"
ADMIN_ROLES = frozenset({Role.CATALOG_ADMIN, Role.SYSTEM_ADMIN})

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = [
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
]


def make_id_number(division_code: str, born: dt.date, sequence: int) -> str:
    """A valid 18-digit 身份证号; an odd ``sequence`` (17th digit) means male."""
    body = f"{division_code}{born:%Y%m%d}{sequence % 1000:03d}"
    return body + id_number_check_char(body)


def make_uscc(division_code: str, n: int, *, kind_prefix: str = "91") -> str:
    """A valid 统一社会信用代码 with a GB 11714 organisation code derived from ``n``."""
    organisation = f"{n % 100_000_000:08d}"
    body = kind_prefix + division_code + organisation + org_code_check_char(organisation)
    return body + uscc_check_char(body)


def _person_id_number(n: int) -> str:
    born = dt.date(1950, 1, 1) + dt.timedelta(days=(n * 37) % 20_000)
    return make_id_number("330106", born, n)


class DivisionFactory(DjangoModelFactory[Division]):
    """A city (市级) division under no parent; pass ``parent``/``level`` for a tree."""

    class Meta:
        model = Division
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"{11 + (n // 100) % 80:02d}{n % 100:02d}00")
    name = factory.Sequence(lambda n: f"示例市{n}")
    level = DivisionLevel.CITY
    parent = None


class DepartmentFactory(DjangoModelFactory[Department]):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"DEPT{n:05d}")
    name = factory.Sequence(lambda n: f"示例局{n}")
    short_name = factory.LazyAttribute(lambda o: o.name[:8])
    division = factory.SubFactory(DivisionFactory)


class ServiceCentreFactory(DjangoModelFactory[ServiceCentre]):
    class Meta:
        model = ServiceCentre

    code = factory.Sequence(lambda n: f"CENTRE{n:04d}")
    name = factory.Sequence(lambda n: f"示例政务服务中心{n}")
    division = factory.SubFactory(DivisionFactory)
    address = "示例路1号"
    opening_hours = "工作日 9:00–17:00"
    phone = "0571-12345"


class WindowFactory(DjangoModelFactory[Window]):
    class Meta:
        model = Window
        skip_postgeneration_save = True

    centre = factory.SubFactory(ServiceCentreFactory)
    number = factory.Sequence(lambda n: f"{n + 1}")
    name = "综合受理"
    kind = WindowKind.GENERAL

    @factory.post_generation
    def departments(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.departments.set(extracted)


class PersonFactory(DjangoModelFactory[Person]):
    """A natural person whose 身份证号, birth date and gender agree."""

    class Meta:
        model = Person

    id_number = factory.Sequence(_person_id_number)
    name = factory.Sequence(lambda n: _SURNAMES[n % len(_SURNAMES)] + _GIVEN[n % len(_GIVEN)])
    gender = factory.LazyAttribute(lambda o: "male" if int(o.id_number[16]) % 2 else "female")
    birth_date = factory.LazyAttribute(
        lambda o: dt.date(int(o.id_number[6:10]), int(o.id_number[10:12]), int(o.id_number[12:14]))
    )
    mobile = factory.Sequence(lambda n: f"138{n % 100_000_000:08d}")
    address = "示例路1号"
    household_division = None


class EnterpriseFactory(DjangoModelFactory[Enterprise]):
    class Meta:
        model = Enterprise

    uscc = factory.Sequence(lambda n: make_uscc("330106", n + 1))
    name = factory.Sequence(lambda n: f"示例科技有限公司{n}")
    kind = EnterpriseKind.COMPANY
    division = factory.SubFactory(DivisionFactory)
    legal_representative = factory.SubFactory(PersonFactory)
    industry_code = "I6510"
    registered_on = dt.date(2015, 6, 1)
    address = "示例路2号"


class EnterpriseAgentFactory(DjangoModelFactory[EnterpriseAgent]):
    """A 经办人授权 valid from 2020 with no end date."""

    class Meta:
        model = EnterpriseAgent

    enterprise = factory.SubFactory(EnterpriseFactory)
    person = factory.SubFactory(PersonFactory)
    role = AgentRole.AGENT
    valid_from = dt.date(2020, 1, 1)
    valid_until = None
    revoked_at = None


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(PASSWORD)
    display_name = factory.LazyAttribute(lambda o: o.username)
    is_active = True


class ApplicantFactory(UserFactory):
    """An applicant account linked to a new person, 基础实名."""

    username = factory.Sequence(lambda n: f"applicant{n}")
    kind = AccountKind.APPLICANT
    person = factory.SubFactory(PersonFactory)
    display_name = factory.LazyAttribute(lambda o: o.person.name if o.person else o.username)
    real_name_level = RealNameLevel.BASIC


class StaffUserFactory(UserFactory):
    """A staff account in a department; ``roles=[...]`` grants roles there, and an admin role
    (catalog_admin, system_admin) also sets ``is_staff`` so the account may open the admin."""

    username = factory.Sequence(lambda n: f"staff{n}")
    kind = AccountKind.STAFF
    department = factory.SubFactory(DepartmentFactory)
    display_name = factory.Sequence(lambda n: f"工作人员{n}")
    real_name_level = RealNameLevel.IN_PERSON
    is_staff = False

    @factory.post_generation
    def roles(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not create or not extracted:
            return
        StaffRole.objects.bulk_create(
            StaffRole(user=self, role=role, department=self.department) for role in extracted
        )
        if ADMIN_ROLES & set(extracted) and not self.is_staff:
            self.is_staff = True
            self.save(update_fields=["is_staff"])


class StaffRoleFactory(DjangoModelFactory[StaffRole]):
    class Meta:
        model = StaffRole

    user = factory.SubFactory(StaffUserFactory)
    role = Role.REVIEWER
    department = factory.LazyAttribute(lambda o: o.user.department)


SAMPLE_PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


def answer_correction(applicant: Any, number: str, *keys: str, note: str = "") -> Any:
    """补正 as an applicant does it: a new file for each material the notice named (``keys``),
    then the case handed back to the window."""
    from tongban.cases.materials import check_attach_material
    from tongban.cases.models import Case
    from tongban.cases.services import perform

    case_id = Case.objects.get(number=number).pk
    for key in keys:
        check_attach_material(applicant, case_id, key, f"{key}.pdf", SAMPLE_PDF)
    return perform(applicant, number, "supplement", {"note": note} if note else {})
