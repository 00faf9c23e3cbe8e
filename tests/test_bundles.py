"""一件事: import checks, merging, the reform report (hand-computed), one application → many
cases in one transaction, stage scheduling, partial denial, withdrawal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from freezegun import freeze_time

from tests.bundle_fixtures import ANSWERS, BUNDLE, FILES, FORM, Staff, decide, load, write
from tongban.bundles import report, selectors, services
from tongban.bundles.merging import merge
from tongban.bundles.models import BundleCase, BundleComponent, ComponentState
from tongban.cases.models import Case, CaseMaterial, CaseState
from tongban.cases.services import perform
from tongban.catalog.services import CatalogInvalid, import_catalog
from tongban.core.errors import NotFound, ValidationFailed

pytestmark = pytest.mark.django_db
NOW = "2025-03-03 09:00:00+08:00"


def _problems(tmp_path: Path, bundle: str) -> list[str]:
    with pytest.raises(CatalogInvalid) as exc:
        import_catalog(write(tmp_path, bundle))
    return [str(p) for p in exc.value.problems]


def _variant(old: str, new: str) -> str:
    text = BUNDLE.format(on_denial="continue")
    assert old in text
    return text.replace(old, new)


def test_a_dependency_cycle_is_rejected_with_file_and_line(tmp_path: Path) -> None:
    bundle = _variant("      - item: T-CERT\n", "      - item: T-CERT\n        needs: [T-INS]\n")
    problems = _problems(tmp_path, bundle)
    assert any(
        p.startswith(f"{tmp_path / 'bundles.yaml'}:") and "循环" in p and "T-CERT → " in p
        for p in problems
    ), problems
    assert not BundleCase.objects.exists()


def test_an_item_missing_from_the_catalog_is_rejected(tmp_path: Path) -> None:
    problems = _problems(tmp_path, _variant("      - item: T-PAY\n", "      - item: T-NOPE\n"))
    assert any("bundles[0].components[2].item: 事项目录中没有事项 T-NOPE" in p for p in problems)


def test_a_link_across_incompatible_data_elements_is_rejected(tmp_path: Path) -> None:
    bundle = _variant('"T-REG:child"]', '"T-REG:child", "T-DEATH:date"]')
    bundle = bundle.replace(
        "      - item: T-INS\n", "      - item: T-INS\n      - item: T-DEATH\n", 1
    )
    bundle = bundle.replace(
        "      - item: T-INS\n      - item: T-DEATH\n        needs: [T-REG]\n",
        "      - item: T-INS\n        needs: [T-REG]\n      - item: T-DEATH\n",
    )
    problems = _problems(tmp_path, bundle)
    assert any(
        "same_fields[0].parts[2]" in p and "death_date" in p and "不兼容" in p for p in problems
    ), problems


def test_a_stage_that_can_never_start_is_rejected(tmp_path: Path) -> None:
    # T-REG waits for T-CERT, but T-CERT is only part of the bundle when the applicant says so
    bundle = _variant(
        "    components:\n      - item: T-CERT\n",
        "    questions:\n      - {key: want_cert, text: 要证明吗？, type: yes_no}\n"
        "    components:\n      - item: T-CERT\n        when: {q: want_cert, eq: true}\n",
    )
    problems = _problems(tmp_path, bundle)
    assert any("components[1].needs[0]" in p and "永远无法开始" in p for p in problems), problems
    # waiting for an item that issues no result can never start either
    problems = _problems(tmp_path, _variant("needs: [T-REG]", "needs: [T-PAY]"))
    assert any("components[3].needs[0]" in p and "没有办理结果" in p for p in problems), problems


def test_merging_asks_shared_questions_once_and_merges_fields_and_materials(tmp_path: Path) -> None:
    load(tmp_path)
    merged = merge(selectors.bundle_spec("T-BUNDLE"), ANSWERS)
    kind = [q for q in merged.questions if q.key == "kind"]
    assert len(kind) == 1
    assert kind[0].asked_by == ["T-CERT", "T-PAY"]
    fields = {f.key: f for f in merged.fields}
    assert set(fields) == {"applicant_name", "applicant_id", "baby_name", "address", "bank"}
    assert fields["applicant_name"].parts == [
        ("T-CERT", "applicant_name"),
        ("T-REG", "applicant_name"),
        ("T-INS", "applicant_name"),
    ]
    assert fields["baby_name"].parts == [("T-CERT", "baby_name"), ("T-REG", "child")]
    coverage = {m.key: (m.coverage, m.parts) for m in merged.materials}
    assert coverage == {
        "id_card": ("exempt", [("T-CERT", "id_card"), ("T-INS", "id_card")]),
        "photo": ("upload", [("T-CERT", "photo"), ("T-REG", "photo")]),
        "cert": ("produced", [("T-REG", "cert"), ("T-INS", "cert")]),
        "form_sheet": ("upload", [("T-REG", "form_sheet")]),
        "bank_card": ("optional", [("T-PAY", "bank_card")]),
    }
    assert next(m for m in merged.materials if m.key == "cert").produced_by == "T-CERT"


def test_report_arithmetic_on_the_hand_computed_example(tmp_path: Path) -> None:
    load(tmp_path)
    result = report.compute(selectors.bundle_spec("T-BUNDLE"))
    figures = {k: (v.before, v.after) for k, v in result.figures.items()}
    assert figures == {
        "forms": (4, 1),
        "fields": (10, 3),  # 3+3+2+2 before; 5 merged minus 2 自动填 after
        "materials": (7, 2),  # 2+3+0+2 before; 照片 and 登记表 are the only uploads after
        "days": (14, 12),  # 5+3+2+4 before; T-CERT 5 → T-REG 3 → T-INS 4 after
        "trips": (3, 0),
        "departments": (2, 1),
    }
    assert result.stages == 3
    assert result.as_dict()["published"] == {"source": "测试", "fields": {"before": 10, "after": 3}}
    # another situation adds the material only answer b needs
    other = report.compute(selectors.bundle_spec("T-BUNDLE"), {"kind": "b"})
    assert (other.figures["materials"].before, other.figures["materials"].after) == (8, 3)


def test_cli_report_all_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    load(tmp_path)
    call_command("bundle", "report", "--all", "--json")
    data = json.loads(capsys.readouterr().out)
    assert [d["code"] for d in data] == ["T-BUNDLE"]
    assert data[0]["materials"] == {"before": 7, "after": 2}
    assert set(data[0]) >= {
        "code",
        "name",
        "forms",
        "fields",
        "materials",
        "days",
        "trips",
        "departments",
        "published",
    }


@freeze_time(NOW)
def test_submission_creates_the_bundle_case_and_stage_one_cases_in_one_go(tmp_path: Path) -> None:
    staff = load(tmp_path)
    bundle_case = services.check_submit_bundle(
        staff.applicant, "T-BUNDLE", answers=ANSWERS, form=FORM, files=FILES
    )
    components = {c.item_code: c for c in bundle_case.components.select_related("case")}
    assert {k: c.state for k, c in components.items()} == {
        "T-CERT": ComponentState.STARTED,
        "T-REG": ComponentState.WAITING,
        "T-PAY": ComponentState.STARTED,
        "T-INS": ComponentState.WAITING,
    }
    cert = components["T-CERT"].case
    assert cert is not None
    assert cert.state == CaseState.SUBMITTED
    assert cert.form_data["baby_name"] == "王小宝"
    assert cert.form_data["applicant_name"] == staff.applicant.person.name  # 自动填
    assert components["T-PAY"].case.form_data["bank"] == "6222020200112233445"
    photo = CaseMaterial.objects.get(case=cert, material_key="photo")
    assert photo.sha256 == bundle_case.uploads.get(material_key="photo").sha256


@freeze_time(NOW)
def test_incomplete_application_creates_nothing(tmp_path: Path) -> None:
    staff = load(tmp_path)
    with pytest.raises(ValidationFailed) as exc:
        services.check_submit_bundle(
            staff.applicant, "T-BUNDLE", answers=ANSWERS, form={"baby_name": "王小宝"}, files={}
        )
    paths = {e.path for e in exc.value.errors}
    assert paths == {"form.address", "form.bank", "materials.photo", "materials.form_sheet"}
    assert not BundleCase.objects.exists()
    assert not Case.objects.exists()


@freeze_time(NOW)
def test_a_form_key_no_item_of_the_bundle_has_is_refused_and_nothing_is_filed(
    tmp_path: Path,
) -> None:
    """``date`` is a field of an item outside the bundle and ``child`` one of T-REG's own keys,
    merged into ``baby_name``: neither is a key of the bundle's form. Both are refused at their
    path, with the other problems, instead of being dropped; nothing is filed."""
    from tongban.bundles.models import BundleUpload

    staff = load(tmp_path)
    form = {**FORM, "date": "2025-03-01", "child": "王小宝"}
    with pytest.raises(ValidationFailed) as exc:
        services.check_submit_bundle(
            staff.applicant, "T-BUNDLE", answers=ANSWERS, form=form, files=FILES
        )
    errors = {e.path: e.message for e in exc.value.errors}
    assert errors == {
        "form.date": "未知字段：本事项的表单没有“date”",
        "form.child": "未知字段：本事项的表单没有“child”",
    }
    assert not BundleCase.objects.exists()
    assert not BundleUpload.objects.exists()
    assert not Case.objects.exists()


def test_the_form_keys_are_those_of_every_component_whatever_the_answers(tmp_path: Path) -> None:
    """T-PAY applies only when the applicant wants to pay now: without it its ``bank`` field is
    left out of the form (a value for it is dropped) but still a key of the bundle's form."""
    from tongban.bundles.merging import form_keys

    variant = _variant(
        "    components:\n",
        "    questions:\n      - {key: want_pay, text: 现在缴费吗？, type: yes_no}\n"
        "    components:\n",
    ).replace(
        "      - item: T-PAY\n", "      - item: T-PAY\n        when: {q: want_pay, eq: true}\n"
    )
    staff = load(tmp_path, bundle=variant)
    merged = merge(selectors.bundle_spec("T-BUNDLE"), {"kind": "a", "want_pay": False})
    assert "bank" not in {f.key for f in merged.fields}
    assert form_keys(merged) == {"applicant_name", "applicant_id", "baby_name", "address", "bank"}
    with freeze_time(NOW):
        bundle_case = services.check_submit_bundle(
            staff.applicant,
            "T-BUNDLE",
            answers={"kind": "a", "want_pay": False},
            form=FORM,  # its bank account too: dropped, not refused
            files=FILES,
        )
    assert "bank" not in bundle_case.form_data


@freeze_time(NOW)
def test_a_later_stage_starts_when_its_input_is_issued(tmp_path: Path) -> None:
    staff = load(tmp_path)
    bundle_case = services.check_submit_bundle(
        staff.applicant, "T-BUNDLE", answers=ANSWERS, form=FORM, files=FILES
    )
    cert = BundleComponent.objects.get(bundle_case=bundle_case, item_code="T-CERT").case
    decide(staff, cert, staff.a)
    reg = BundleComponent.objects.get(bundle_case=bundle_case, item_code="T-REG")
    assert reg.state == ComponentState.STARTED
    assert reg.case.state == CaseState.SUBMITTED
    assert reg.case.form_data["child"] == "王小宝"  # the linked field reaches its own key
    assert CaseMaterial.objects.filter(case=reg.case, material_key="photo").exists()
    ins = BundleComponent.objects.get(bundle_case=bundle_case, item_code="T-INS")
    assert ins.state == ComponentState.WAITING
    decide(staff, reg.case, staff.b)
    ins.refresh_from_db()
    assert ins.state == ComponentState.STARTED
    actions = [e.action for e in bundle_case.events.all()]
    assert actions == ["submit_bundle", "start_stage", "start_stage"]
    entries = selectors.timeline(staff.applicant, bundle_case)
    assert {e.source for e in entries} >= {"测试一件事", "出具证明", "登记", "参保"}


@freeze_time(NOW)
def test_the_applicant_reads_item_events_without_staff_notes(tmp_path: Path) -> None:
    staff = load(tmp_path)
    bundle_case = services.check_submit_bundle(
        staff.applicant, "T-BUNDLE", answers=ANSWERS, form=FORM, files=FILES
    )
    cert = BundleComponent.objects.get(bundle_case=bundle_case, item_code="T-CERT").case
    number = perform(staff.window, cert.number or "", "accept").number or ""
    perform(staff.a, number, "suspend", {"kind": "inspection", "reason": "内部：送检安排"})

    def suspended(who: Any) -> list[str]:
        return [e.reason for e in selectors.timeline(who, bundle_case) if e.action == "suspend"]

    assert suspended(staff.applicant) == [""]
    assert suspended(staff.a) == ["内部：送检安排"]


@freeze_time(NOW)
@pytest.mark.parametrize(("on_denial", "reg_state"), [("continue", "started"), ("hold", "held")])
def test_partial_denial_shows_which_and_why_and_follows_the_configuration(
    tmp_path: Path, on_denial: str, reg_state: str
) -> None:
    staff = load(tmp_path, on_denial=on_denial)
    bundle_case = services.check_submit_bundle(
        staff.applicant, "T-BUNDLE", answers=ANSWERS, form=FORM, files=FILES
    )
    pay = BundleComponent.objects.get(bundle_case=bundle_case, item_code="T-PAY").case
    cert = BundleComponent.objects.get(bundle_case=bundle_case, item_code="T-CERT").case
    decide(staff, pay, staff.b, "denied")
    decide(staff, cert, staff.a)
    reg = BundleComponent.objects.get(bundle_case=bundle_case, item_code="T-REG")
    assert reg.state == reg_state
    bundle_case.refresh_from_db()
    status = selectors.bundle_status(bundle_case)
    assert [(s.component.item_code, s.reason) for s in status.denied] == [
        ("T-PAY", "材料不符合要求")
    ]
    assert status.tone == "bad"


@freeze_time(NOW)
def test_withdrawal_withdraws_every_open_item_case(tmp_path: Path) -> None:
    staff = load(tmp_path)
    bundle_case = services.check_submit_bundle(
        staff.applicant, "T-BUNDLE", answers=ANSWERS, form=FORM, files=FILES
    )
    with pytest.raises(NotFound):
        services.check_withdraw_bundle(staff.stranger, bundle_case.number)
    services.check_withdraw_bundle(staff.applicant, bundle_case.number, "不办了")
    states = {
        c.item_code: (c.state, c.case.state if c.case else None)
        for c in bundle_case.components.select_related("case")
    }
    assert states == {
        "T-CERT": ("started", CaseState.WITHDRAWN),
        "T-REG": ("withdrawn", None),
        "T-PAY": ("started", CaseState.WITHDRAWN),
        "T-INS": ("withdrawn", None),
    }
    bundle_case.refresh_from_db()
    assert bundle_case.state == "withdrawn"
    assert selectors.bundle_status(bundle_case).label == "已撤回"


def test_running_cases_keep_their_filed_item_versions(tmp_path: Path) -> None:
    staff = load(tmp_path)
    with freeze_time(NOW):
        bundle_case = services.check_submit_bundle(
            staff.applicant, "T-BUNDLE", answers=ANSWERS, form=FORM, files=FILES
        )
    cert = BundleComponent.objects.get(bundle_case=bundle_case, item_code="T-CERT").case
    filed = cert.item_version_id
    paths = write(tmp_path)
    paths[1].write_text(paths[1].read_text().replace("出具证明", "出具证明（新版）"))
    import_catalog(paths)
    cert.refresh_from_db()
    assert cert.item_version_id == filed
    assert selectors.bundle_spec("T-BUNDLE").component("T-CERT").item.name == "出具证明（新版）"


def test_the_sample_bundles_import_and_report(tmp_path: Path) -> None:
    from tongban.demo import sample

    import_catalog([sample.CATALOG_DIR])
    reports = {b.code: report.compute(selectors.spec_of(b)) for b in selectors.list_bundles()}
    assert len(reports) >= 8
    newborn = reports["YJS.newborn"]
    assert newborn.items == 6
    assert newborn.stages >= 2
    retirement = reports["YJS.retirement"].as_dict()
    assert retirement["published"]["materials"] == {"before": 14, "after": 2}
    for r in reports.values():
        for figure in r.figures.values():
            assert figure.after <= figure.before


@freeze_time(NOW)
def test_a_later_stage_that_cannot_be_filed_is_blocked_without_undoing_the_decision(
    tmp_path: Path,
) -> None:
    from tests import bundle_fixtures

    paths = write(tmp_path)
    items = bundle_fixtures.ITEMS
    ins = items.index("code: T-INS")
    end = items.index("applicant_types: [person]", ins)
    paths[1].write_text(
        items[:end]
        + "applicant_types: [enterprise]"
        + items[end + len("applicant_types: [person]") :],
        encoding="utf-8",
    )
    import_catalog(paths)
    staff = Staff()
    bundle_case = services.check_submit_bundle(
        staff.applicant, "T-BUNDLE", answers=ANSWERS, form=FORM, files=FILES
    )
    cert = BundleComponent.objects.get(bundle_case=bundle_case, item_code="T-CERT").case
    decide(staff, cert, staff.a)
    reg = BundleComponent.objects.get(bundle_case=bundle_case, item_code="T-REG").case
    decided = decide(staff, reg, staff.b)
    assert decided.state == CaseState.DECIDED  # the decision stands
    ins = BundleComponent.objects.get(bundle_case=bundle_case, item_code="T-INS")
    assert ins.state == ComponentState.BLOCKED
    assert ins.case is None
    failed = bundle_case.events.get(action="start_failed")
    assert "参保" in failed.reason


@freeze_time(NOW)
def test_one_combined_notice_when_every_item_has_its_result(tmp_path: Path) -> None:
    from tongban.notifications.models import Notification

    staff = load(tmp_path)
    bundle_case = services.check_submit_bundle(
        staff.applicant, "T-BUNDLE", answers=ANSWERS, form=FORM, files=FILES
    )
    assert Notification.objects.filter(template="bundle.submitted").exists()
    for code, user in (("T-CERT", staff.a), ("T-PAY", staff.b), ("T-REG", staff.b)):
        case = BundleComponent.objects.get(bundle_case=bundle_case, item_code=code).case
        decide(staff, case, user)
    assert not Notification.objects.filter(template="bundle.completed").exists()
    ins = BundleComponent.objects.get(bundle_case=bundle_case, item_code="T-INS").case
    decide(staff, ins, staff.a)
    completed = Notification.objects.filter(template="bundle.completed", recipient=staff.applicant)
    assert completed.count() == completed.values("channel").distinct().count() >= 1
    assert "测试一件事" in completed.first().body


@freeze_time(NOW)
@pytest.mark.parametrize(
    ("on_denial", "denied_item", "reg_label", "overall"),
    [
        ("continue", "T-CERT", "前序事项未获准予，无法办理", "部分事项不予办理"),
        ("hold", "T-PAY", "因有事项不予办理而暂停", "已暂停：有事项不予办理"),
    ],
)
def test_the_status_shows_blocked_and_held_components_at_once(
    tmp_path: Path, on_denial: str, denied_item: str, reg_label: str, overall: str
) -> None:
    staff = load(tmp_path, on_denial=on_denial)
    bundle_case = services.check_submit_bundle(
        staff.applicant, "T-BUNDLE", answers=ANSWERS, form=FORM, files=FILES
    )
    case = BundleComponent.objects.get(bundle_case=bundle_case, item_code=denied_item).case
    decide(staff, case, staff.a if denied_item == "T-CERT" else staff.b, "denied")
    status = selectors.bundle_status(bundle_case)
    labels = {s.component.item_code: s.label for s in status.components}
    assert labels["T-REG"] == reg_label
    assert status.label == overall


@freeze_time(NOW)
def test_a_catalog_change_that_breaks_a_running_bundle_never_undoes_a_decision(
    tmp_path: Path,
) -> None:
    staff = load(tmp_path)
    bundle_case = services.check_submit_bundle(
        staff.applicant, "T-BUNDLE", answers=ANSWERS, form=FORM, files=FILES
    )
    # a stored definition that no longer holds (T-REG would wait for an item it cannot)
    bundle = bundle_case.bundle
    definition = dict(bundle.definition)
    definition["components"] = [
        {**c, "needs": ["T-PAY"]} if c["item"] == "T-REG" else c for c in definition["components"]
    ]
    bundle_case.definition = definition
    bundle_case.save(update_fields=["definition"])
    cert = BundleComponent.objects.get(bundle_case=bundle_case, item_code="T-CERT").case
    decided = decide(staff, cert, staff.a)
    assert decided.state == CaseState.DECIDED
    reg = BundleComponent.objects.get(bundle_case=bundle_case, item_code="T-REG")
    assert reg.state == ComponentState.BLOCKED
    assert bundle_case.events.filter(action="start_failed").exists()


def test_an_item_change_that_breaks_a_stored_bundle_is_rejected_at_the_item(
    tmp_path: Path,
) -> None:
    load(tmp_path)
    paths = write(tmp_path)
    text = paths[1].read_text(encoding="utf-8")
    paths[1].write_text(
        text.replace('result: licence\n    result_licence_type: "LT-CERT"', "result: none"),
        encoding="utf-8",
    )
    with pytest.raises(CatalogInvalid) as exc:
        import_catalog(paths[:2])
    problems = [str(p) for p in exc.value.problems]
    assert any(
        p.startswith(f"{paths[1]}:") and "items[0]" in p and "T-BUNDLE" in p for p in problems
    ), problems
