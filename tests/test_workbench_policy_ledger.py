"""The workbench payment ledger of a policy (支付台账): who may open it and act on it, filters,
keyset pages, masking, the totals of a period, the source of each instruction (run or case), and
the two acts — 标记已发送银行 and 导入银行回单 (all or nothing, problems with their lines)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import StaffUserFactory
from tests.policy_fixtures import PAY_DAY, applicant_for, elder_profile, make_world, publish
from tongban.core.masking import mask_id_number
from tongban.policies import runs
from tongban.policies.models import PaymentInstruction, PaymentStatus, Policy, PolicyEvent
from tongban.workbench import ledger_views

pytestmark = pytest.mark.django_db

CASE_NUMBER = "TB20261015000042"


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def world() -> Any:
    w = make_world()
    w.policy = publish(w, budget="100000")
    w.elders = [elder_profile(n) for n in (1, 2, 3)]
    run = runs.check_start_run(w.author, w.policy.code, period="2026-11", payment_date=PAY_DAY)
    runs.check_approve_run(w.head, run.pk)
    w.run = run
    w.applied = PaymentInstruction.objects.create(
        policy=w.policy,
        version=w.policy.published_version,
        run=None,
        case_number=CASE_NUMBER,
        item_code="T-ELDER",
        entity_key=w.elders[0].id_number,
        entity_name=w.elders[0].name,
        period="2026-10",
        amount_fen=50_000,
        status=PaymentStatus.PAID,
        bank_reference="BANK-0001",
        note="申请制兑现",
    )
    w.applicant = applicant_for(w.elders[0])
    w.legality_only = StaffUserFactory(
        department=w.departments["T-SFJ"], roles=["legality_reviewer"]
    )
    w.policy_admin = StaffUserFactory(department=w.departments["T-MZJ"], roles=["policy_admin"])
    return w


def ledger_url(world: Any, suffix: str = "") -> str:
    return f"/workbench/policies/{world.policy.code}/payments/{suffix}"


def statuses(world: Any) -> dict[tuple[str, str], str]:
    return {
        (p.entity_key, p.period): p.status
        for p in PaymentInstruction.objects.filter(policy=world.policy)
    }


# --- who may open the page ----------------------------------------------------------------------
def test_visibility_matrix(world: Any) -> None:
    url = ledger_url(world)
    anonymous = client_for(None).get(url)
    assert anonymous.status_code == 302
    assert "/login" in anonymous["Location"]
    assert client_for(world.applicant).get(url).status_code == 403
    # staff of a department with nothing to do with the policy do not learn it exists
    assert client_for(world.outsider).get(url).status_code == 404
    assert client_for(world.outsider_head).get(url).status_code == 404
    for user in (world.author, world.head, world.policy_admin):
        page = client_for(user).get(url)
        assert page.status_code == 200
        assert "标记已发送银行" in page.content.decode()
        assert "导入银行回单" in page.content.decode()
    for reviewer in (world.legal, world.finance, world.legality_only):
        page = client_for(reviewer).get(url)
        assert page.status_code == 200, reviewer
        text = page.content.decode()
        assert "长者1" in text
        assert "标记已发送银行" not in text  # they see the ledger but do not act on it
        assert "导入银行回单" not in text
    assert client_for(world.author).get("/workbench/policies/NO-SUCH/payments/").status_code == 404


def test_the_policy_page_links_to_the_ledger(world: Any) -> None:
    page = client_for(world.author).get(f"/workbench/policies/{world.policy.code}/")
    assert f'href="{ledger_url(world)}"' in page.content.decode()


# --- rows, masking, source ----------------------------------------------------------------------
def test_rows_are_newest_first_masked_and_show_their_source(world: Any) -> None:
    text = client_for(world.legal).get(ledger_url(world)).content.decode()
    for elder in world.elders:
        assert elder.id_number not in text
        assert mask_id_number(elder.id_number) in text
    assert "高龄津贴" in text  # the payable item's name
    assert "100.00" in text
    assert "500.00" in text
    assert "BANK-0001" in text
    assert "申请制兑现" in text
    assert f'href="/workbench/cases/{CASE_NUMBER}/"' in text
    assert f"兑现批次 #{world.run.pk}" in text
    ids = [p.pk for p in PaymentInstruction.objects.order_by("-id")]
    positions = [text.index(f'id="payment-{pk}"') for pk in ids]
    assert positions == sorted(positions)


def test_enterprise_identifiers_are_shown_in_full(world: Any) -> None:
    Policy.objects.filter(pk=world.policy.pk).update(target="enterprise")
    text = client_for(world.author).get(ledger_url(world)).content.decode()
    assert world.elders[1].id_number in text


# --- filters and totals -------------------------------------------------------------------------
def test_filters_by_period_status_and_name(world: Any) -> None:
    client = client_for(world.author)
    october = client.get(ledger_url(world), {"period": "2026-10"}).content.decode()
    assert october.count('class="wb-row payment') == 1
    assert CASE_NUMBER in october
    paid = client.get(ledger_url(world), {"status": "paid"}).content.decode()
    assert paid.count('class="wb-row payment') == 1
    pending = client.get(ledger_url(world), {"status": "pending"}).content.decode()
    assert pending.count('class="wb-row payment') == 3
    assert CASE_NUMBER not in pending
    named = client.get(ledger_url(world), {"q": "长者2"}).content.decode()
    assert named.count('class="wb-row payment') == 1
    assert mask_id_number(world.elders[1].id_number) in named
    nothing = client.get(ledger_url(world), {"q": "无此人", "status": "bogus"})
    assert nothing.status_code == 200
    assert "没有符合条件的支付指令。" in nothing.content.decode()


def test_totals_of_the_selected_period_by_status(world: Any) -> None:
    client = client_for(world.author)
    newest = client.get(ledger_url(world)).context
    totals = newest["totals"]
    assert totals.period == "2026-11"  # no period chosen: the newest one
    by_status = {t.status: (t.count, t.amount) for t in totals.by_status}
    assert by_status["pending"] == (3, "300.00")
    assert by_status["paid"] == (0, "0.00")
    assert (totals.count, totals.amount) == (3, "300.00")
    october = client.get(ledger_url(world), {"period": "2026-10"}).context["totals"]
    by_status = {t.status: (t.count, t.amount) for t in october.by_status}
    assert by_status["paid"] == (1, "500.00")
    assert by_status["pending"] == (0, "0.00")
    text = client.get(ledger_url(world), {"period": "2026-10"}).content.decode()
    assert "期间 2026-10 合计" in text


# --- keyset pages -------------------------------------------------------------------------------
def test_cursor_pagination(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_views, "PAGE_SIZE", 2)
    ids = list(
        PaymentInstruction.objects.filter(policy=world.policy)
        .order_by("-id")
        .values_list("id", flat=True)
    )
    assert len(ids) == 4
    client = client_for(world.author)
    with CaptureQueriesContext(connection) as queries:
        first = client.get(ledger_url(world), {"status": ""})
    sql = " ".join(q["sql"] for q in queries.captured_queries).upper()
    assert "COUNT(*)" not in sql
    assert "OFFSET" not in sql
    assert [r.instruction.pk for r in first.context["page"].rows] == ids[:2]
    assert first.context["next_url"] == f"{ledger_url(world)}?cursor={ids[1]}"
    assert first.context["first_url"] == ""
    second = client.get(first.context["next_url"])
    assert [r.instruction.pk for r in second.context["page"].rows] == ids[2:]
    assert second.context["next_url"] == ""
    assert second.context["first_url"] == ledger_url(world)
    # the filters travel with the cursor (the newest row is the paid 申请制 one)
    pending = client.get(ledger_url(world), {"status": "pending"})
    assert [r.instruction.pk for r in pending.context["page"].rows] == ids[1:3]
    assert pending.context["next_url"] == f"{ledger_url(world)}?status=pending&cursor={ids[2]}"
    rest = client.get(pending.context["next_url"])
    assert [r.instruction.pk for r in rest.context["page"].rows] == [ids[3]]
    assert rest.context["next_url"] == ""
    assert client.get(ledger_url(world), {"cursor": "junk"}).status_code == 200
    for odd in ("²", "9" * 5000):  # digits int() refuses: the first page, not a server error
        assert (
            client.get(ledger_url(world), {"cursor": odd}).context["next_url"]
            == first.context["next_url"]
        ), odd


def test_the_page_runs_a_bounded_number_of_queries(
    world: Any, django_assert_max_num_queries: Any
) -> None:
    client = client_for(world.author)
    client.get(ledger_url(world))  # warm the session
    for n in range(40):
        elder = elder_profile(10 + n)
        PaymentInstruction.objects.create(
            policy=world.policy,
            version=world.policy.published_version,
            case_number=f"TB2026100100{n:04d}",
            item_code="T-ELDER",
            entity_key=elder.id_number,
            entity_name=elder.name,
            period="2026-09",
            amount_fen=10_000,
        )
    with django_assert_max_num_queries(12):
        page = client.get(ledger_url(world))
    assert len(page.context["page"].rows) == 44
    with django_assert_max_num_queries(12):
        client.get(ledger_url(world), {"period": "2026-09", "status": "pending", "q": "长者"})
    reviewer = client_for(world.legal)  # a reviewer's access is read from the versions
    reviewer.get(ledger_url(world))
    with django_assert_max_num_queries(12):
        assert reviewer.get(ledger_url(world)).status_code == 200


# --- 标记已发送银行 ------------------------------------------------------------------------------
def test_mark_sent(world: Any) -> None:
    url = ledger_url(world, "sent/")
    assert client_for(None).post(url, {"period": "2026-11"}).status_code == 302
    assert client_for(world.applicant).post(url, {"period": "2026-11"}).status_code == 403
    assert client_for(world.outsider_head).post(url, {"period": "2026-11"}).status_code == 404
    for reviewer in (world.legal, world.finance):
        refused = client_for(reviewer).post(url, {"period": "2026-11"})
        assert refused.status_code == 403
        assert "无权处理该政策的支付" in refused.content.decode()
    assert client_for(world.head).get(url).status_code == 405
    assert client_for(world.head).post(url, {"period": ""}).status_code == 422
    assert set(statuses(world).values()) == {PaymentStatus.PENDING, PaymentStatus.PAID}
    head = client_for(world.head)
    done = head.post(url, {"period": "2026-11"})
    assert done.status_code == 302
    assert done["Location"] == f"{ledger_url(world)}?period=2026-11"
    page = head.get(done["Location"]).content.decode()
    assert "已将期间 2026-11 的 3 笔待发送支付指令标记为已发送银行。" in page
    november = [s for (_, period), s in statuses(world).items() if period == "2026-11"]
    assert november == [PaymentStatus.SENT] * 3
    assert statuses(world)[(world.elders[0].id_number, "2026-10")] == PaymentStatus.PAID
    assert PolicyEvent.objects.filter(policy=world.policy, action="payments_sent").count() == 1


# --- 导入银行回单 --------------------------------------------------------------------------------
def csv_file(text: str, name: str = "bank.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_reconciliation_upload(world: Any) -> None:
    runs.check_mark_sent(world.head, world.policy.code, "2026-11")
    a, b, c = (e.id_number for e in world.elders)
    good = (
        "item_code,entity_key,period,status,bank_reference,note\n"
        f"T-ELDER,{a},2026-11,paid,B1,\n"
        f"T-ELDER,{b},2026-11,returned,B2,账户已销户\n"
    )
    url = ledger_url(world, "reconciliation/")
    assert client_for(None).post(url, {"file": csv_file(good)}).status_code == 302
    assert client_for(world.applicant).post(url, {"file": csv_file(good)}).status_code == 403
    assert client_for(world.outsider).post(url, {"file": csv_file(good)}).status_code == 404
    refused = client_for(world.finance).post(url, {"file": csv_file(good)})
    assert refused.status_code == 403
    assert "无权处理该政策的支付" in refused.content.decode()
    assert set(statuses(world).values()) == {PaymentStatus.SENT, PaymentStatus.PAID}
    author = client_for(world.author)
    done = author.post(url, {"file": csv_file(good, "回单-11月.csv")})
    assert done.status_code == 302
    assert done["Location"] == ledger_url(world)
    page = author.get(done["Location"]).content.decode()
    assert "已导入银行回单 回单-11月.csv：更新 2 笔支付指令。" in page
    now = statuses(world)
    assert now[(a, "2026-11")] == PaymentStatus.PAID
    assert now[(b, "2026-11")] == PaymentStatus.RETURNED
    assert now[(c, "2026-11")] == PaymentStatus.SENT
    assert PaymentInstruction.objects.get(entity_key=b, period="2026-11").note == "账户已销户"


def test_a_wrong_reconciliation_file_changes_nothing_and_names_the_lines(world: Any) -> None:
    runs.check_mark_sent(world.head, world.policy.code, "2026-11")
    a, b, _ = (e.id_number for e in world.elders)
    bad = (
        "item_code,entity_key,period,status,bank_reference\n"
        f"T-ELDER,{a},2026-11,paid,B1\n"
        f"T-ELDER,{b},2026-11,vanished,\n"
        "T-ELDER,000,2026-11,paid,\n"
    )
    before = statuses(world)
    answer = client_for(world.head).post(
        ledger_url(world, "reconciliation/"), {"file": csv_file(bad)}
    )
    assert answer.status_code == 422
    text = answer.content.decode()
    assert "对账文件有误，未更新任何支付状态" in text
    assert "第 3 行" in text
    assert "未知状态 &#x27;vanished&#x27;" in text
    assert "第 4 行" in text
    assert "没有支付指令 T-ELDER/000/2026-11" in text
    assert "第 2 行" not in text
    assert [(p.line, p.column) for p in answer.context["problems"]] == [
        (3, "status"),
        (4, "entity_key"),
    ]
    assert statuses(world) == before
    missing = client_for(world.head).post(
        ledger_url(world, "reconciliation/"), {"file": csv_file("item_code,period\nX,2026-11\n")}
    )
    assert missing.status_code == 422
    assert "缺少此列" in missing.content.decode()


def test_an_upload_that_is_not_a_csv_is_refused(world: Any) -> None:
    url = ledger_url(world, "reconciliation/")
    nothing = client_for(world.head).post(url, {})
    assert nothing.status_code == 422
    assert "请选择要导入的银行回单文件（CSV）" in nothing.content.decode()
    binary = SimpleUploadedFile("bank.csv", b"\xff\xfe\x00\x81", content_type="text/csv")
    garbled = client_for(world.head).post(url, {"file": binary})
    assert garbled.status_code == 422
    assert "文件不是 UTF-8 编码的 CSV" in garbled.content.decode()


def test_the_page_in_english(world: Any) -> None:
    english = client_for(world.author)
    english.cookies["django_language"] = "en"
    text = english.get(ledger_url(world), {"period": "2026-11"}).content.decode()
    assert "Payment ledger" in text
    assert "Totals for period 2026-11" in text
    assert f"Run #{world.run.pk}" in text
    done = english.post(ledger_url(world, "sent/"), {"period": "2026-11"}, follow=True)
    assert "Marked 3 pending payment instructions of period 2026-11" in done.content.decode()
