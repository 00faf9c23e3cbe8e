"""``tongban demo_data``: load the whole sample for ``make demo`` — catalog, registries, accounts.

Steps, each skipping what is already there so a second run changes nothing: import the sample
catalog (divisions, departments, service centres, data elements, items, 实施清单) with the
catalog importer; register synthetic persons and enterprises through the identity services
(deterministic for a given ``--seed``); create the demo accounts from ``tongban.demo.accounts``
with their persons, the demo enterprise and its 法定代表人/经办人 authorisations; fill the local
数源 registry with the deterministic synthetic records of every person and enterprise
(``tongban.sharing``), so 系统填 and 免提交 work for the demo accounts, and every one of them
has a 公共信用信息 record — on no 失信 list, but for the demo subjects named 失信被执行人 — so
智能秒办 rules over ``fact.credit_dishonest`` decide. Ends with a summary and the demo accounts
table.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from tongban.catalog.services import CatalogInvalid, import_catalog
from tongban.demo.accounts import (
    DEMO_ACCOUNTS,
    DEMO_ENTERPRISES,
    DEMO_PASSWORD,
    DEMO_WARNING,
    DemoAccount,
    DemoEnterprise,
    DemoPerson,
    accounts_table,
)
from tongban.demo.policies import POLICY_STAFF, load_policy_sample
from tongban.demo.sample import CATALOG_DIR
from tongban.identity import services
from tongban.identity.models import (
    AgentRole,
    Department,
    Division,
    Enterprise,
    Person,
    User,
)
from tongban.identity.synthetic import (
    DEFAULT_SEED,
    SyntheticEnterprise,
    SyntheticPerson,
    generate_enterprises,
    generate_persons,
)
from tongban.sharing import services as sharing_services
from tongban.sharing.sources import SOURCES

DEMO_CALENDAR_NOTICE = "示例数据：仅周末休息，非国务院公布的节假日安排"


class Command(BaseCommand):
    help = "载入演示数据：示例事项目录、合成的自然人与法人登记信息、演示账户（可重复运行）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--persons", type=int, default=200, help="合成自然人数量（默认200）")
        parser.add_argument("--enterprises", type=int, default=60, help="合成法人数量（默认60）")
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="随机种子；相同种子生成相同数据"
        )
        parser.add_argument("--no-table", action="store_true", help="不打印演示账户表")

    def handle(self, *args: Any, **options: Any) -> None:
        counts: Counter[str] = Counter()
        try:
            report = import_catalog([CATALOG_DIR])
        except CatalogInvalid as exc:
            raise CommandError(f"示例目录有误：\n{exc}") from exc
        self.stdout.write(f"示例目录：{report.summary()}")
        self._load_calendar_years()
        with transaction.atomic():
            people = generate_persons(options["persons"], seed=options["seed"])
            self._load_persons(people, counts)
            firms = generate_enterprises(
                options["enterprises"], seed=options["seed"], representatives=people
            )
            self._load_enterprises(firms, counts)
            for account in DEMO_ACCOUNTS:
                self._load_account(account, counts)
            for enterprise in DEMO_ENTERPRISES:
                self._load_demo_enterprise(enterprise, counts)
            counts["records"] = self._load_registry_records()
            policy_counts = load_policy_sample(
                people, firms, seed=options["seed"], password=DEMO_PASSWORD
            )
        self.stdout.write(
            "合成登记信息：自然人 新建{persons_created} 已有{persons_existing}；"
            "法人 新建{enterprises_created} 已有{enterprises_existing}".format_map(counts)
        )
        self.stdout.write(
            "本地数源示例记录：新写入 {records} 条（系统填、免提交使用）".format_map(counts)
        )
        self.stdout.write(
            "演示账户：新建{accounts_created} 已有{accounts_existing}；"
            "经办授权 新建{agents_created} 已有{agents_existing}".format_map(counts)
        )
        from tongban.licences.demo import load_demo_licences

        self.stdout.write(
            "电子证照：类型 {types}；新建印章密钥 {keys}；新发证照 {issued}".format_map(
                load_demo_licences()
            )
        )
        self.stdout.write(
            "惠企惠民政策：个人档案 新建{person_profiles}；企业档案 新建{enterprise_profiles}；"
            "示例政策 新建{policies}".format_map(policy_counts)
        )
        self.stdout.write(
            "政策工作人员账户（密码同演示账户）："
            + "、".join(f"{username}（{name}）" for username, name, *_ in POLICY_STAFF)
        )
        if not options["no_table"]:
            self.stdout.write("")
            self.stdout.write(accounts_table())
        self.stdout.write("")
        self.stdout.write(self.style.WARNING(DEMO_WARNING))

    # --- registries ---------------------------------------------------------------------------
    def _divisions(self, codes: set[str]) -> dict[str, Division]:
        found = {d.code: d for d in Division.objects.filter(code__in=codes)}
        missing = codes - set(found)
        if missing:
            raise CommandError(f"示例目录中缺少区划：{', '.join(sorted(missing))}")
        return found

    def _load_calendar_years(self) -> None:
        """Near the end of the shipped calendar, a case accepted today in the demo would get a
        deadline in a year nobody has entered; the demo enters next year as sample data (weekends
        off, no holidays), marked so in the admin. A deployment enters the published schedule."""
        from django.utils import timezone

        from tongban.workdays.services import do_enter_weekday_years

        entered = do_enter_weekday_years(
            timezone.localdate().year + 1, notice=DEMO_CALENDAR_NOTICE, entered_by="demo_data"
        )
        if entered:
            years = "、".join(str(y) for y in entered)
            self.stdout.write(
                f"工作日历：已录入 {years} 年示例日历（仅周末休息，非国务院公布的安排；"
                f"正式部署请用 tongban workdays import 录入并 --replace）"
            )

    def _load_persons(self, people: list[SyntheticPerson], counts: Counter[str]) -> None:
        divisions = self._divisions({p.household_division for p in people})
        existing = set(
            Person.objects.filter(id_number__in=[p.id_number for p in people]).values_list(
                "id_number", flat=True
            )
        )
        for p in people:
            if p.id_number in existing:
                counts["persons_existing"] += 1
                continue
            services.check_create_person(
                id_number=p.id_number,
                name=p.name,
                mobile=p.mobile,
                address=p.address,
                household_division=divisions[p.household_division],
            )
            counts["persons_created"] += 1

    def _load_enterprises(
        self, enterprises: list[SyntheticEnterprise], counts: Counter[str]
    ) -> None:
        divisions = self._divisions({e.division for e in enterprises})
        existing = set(
            Enterprise.objects.filter(uscc__in=[e.uscc for e in enterprises]).values_list(
                "uscc", flat=True
            )
        )
        representatives = Person.objects.in_bulk(
            {e.legal_representative for e in enterprises if e.legal_representative},
            field_name="id_number",
        )
        for e in enterprises:
            if e.uscc in existing:
                counts["enterprises_existing"] += 1
                continue
            services.check_create_enterprise(
                uscc=e.uscc,
                name=e.name,
                kind=e.kind,
                division=divisions[e.division],
                legal_representative=representatives.get(e.legal_representative or ""),
                industry_code=e.industry_code,
                registered_on=e.registered_on,
                address=e.address,
            )
            counts["enterprises_created"] += 1

    def _load_registry_records(self) -> int:
        """The local 数源 registry: deterministic synthetic records of every registered person
        and enterprise; the demo accounts and the demo enterprise have a record in every
        source, so 系统填 and 免提交 show on whatever they apply for."""
        demo_ids = [a.person.id_number for a in DEMO_ACCOUNTS if a.person is not None]
        demo_usccs = [e.uscc for e in DEMO_ENTERPRISES]
        dishonest = [a.person.id_number for a in DEMO_ACCOUNTS if a.person and a.person.dishonest]
        dishonest += [e.uscc for e in DEMO_ENTERPRISES if e.dishonest]
        everyone = sharing_services.load_synthetic_records(
            Person.objects.exclude(id_number__in=demo_ids),
            Enterprise.objects.exclude(uscc__in=demo_usccs).select_related("legal_representative"),
        )
        demo = sharing_services.load_synthetic_records(
            Person.objects.filter(id_number__in=demo_ids),
            Enterprise.objects.filter(uscc__in=demo_usccs).select_related("legal_representative"),
            ensure=SOURCES,
            dishonest=dishonest,
        )
        return everyone + demo

    # --- demo accounts ------------------------------------------------------------------------
    def _person(self, spec: DemoPerson) -> Person:
        person = Person.objects.filter(id_number=spec.id_number).first()
        if person is not None:
            return person
        return services.check_create_person(
            id_number=spec.id_number,
            name=spec.name,
            mobile=spec.mobile,
            address=spec.address,
            household_division=self._divisions({spec.household_division})[spec.household_division],
        )

    def _load_account(self, account: DemoAccount, counts: Counter[str]) -> None:
        person = self._person(account.person) if account.person else None
        if User.objects.filter(username=account.username).exists():
            counts["accounts_existing"] += 1
            return
        if person is not None:
            user = services.do_create_applicant_account(
                username=account.username,
                password=account.password,
                person=person,
                real_name_level=account.real_name_level,
            )
            services.do_set_elder_mode(user, account.elder_mode)
        else:
            department = Department.objects.filter(code=account.department).first()
            if department is None:
                raise CommandError(f"示例目录中缺少部门：{account.department}")
            services.do_create_staff_account(
                username=account.username,
                password=account.password,
                display_name=account.display_name,
                department=department,
                roles=account.roles,
                is_superuser=account.superuser,
            )
        counts["accounts_created"] += 1

    def _load_demo_enterprise(self, spec: DemoEnterprise, counts: Counter[str]) -> None:
        persons = {a.username: a.person for a in DEMO_ACCOUNTS if a.person is not None}
        representative = self._person(persons[spec.legal_representative])
        enterprise = Enterprise.objects.filter(uscc=spec.uscc).first()
        if enterprise is None:
            enterprise = services.check_create_enterprise(
                uscc=spec.uscc,
                name=spec.name,
                kind=spec.kind,
                division=self._divisions({spec.division})[spec.division],
                legal_representative=representative,
                industry_code=spec.industry_code,
                registered_on=spec.registered_on,
                address=spec.address,
            )
            counts["enterprises_created"] += 1
        else:
            counts["enterprises_existing"] += 1
        grants = [(representative, AgentRole.LEGAL_REPRESENTATIVE)]
        grants += [(self._person(persons[u]), AgentRole.AGENT) for u in spec.agents]
        for person, role in grants:
            _, created = services.do_authorise_agent(
                enterprise=enterprise, person=person, role=role, valid_from=spec.registered_on
            )
            counts["agents_created" if created else "agents_existing"] += 1
