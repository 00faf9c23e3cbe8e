"""Compiled writes (``tongban.core.compiled_writes``) store exactly what ``save()`` stores: every
column, JSON, dates and times, NULL foreign keys, ``auto_now_add``; they set the new primary key,
compile once per connection, refuse expressions and already-saved rows, and report an update
that found no row. The case engine writes its events, case changes and task decisions with them,
so the models written that way must not rely on ``save()`` overrides or save signals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Model
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.catalog_fixtures import sample
from tests.factories import ApplicantFactory, StaffUserFactory
from tongban.cases.models import Case, CaseEvent, CaseTask
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.core.compiled_writes import (
    insert_row,
    insert_rows,
    insert_rows_unless_exist,
    update_row,
    update_then_insert,
)
from tongban.identity.models import Department
from tongban.notifications.models import Notification

pytestmark = pytest.mark.django_db

ANSWERS = {"entity": "individual", "area": 120, "cold": False}


@pytest.fixture
def case(tmp_path: Path) -> Case:
    import_catalog(sample(tmp_path))
    draft = check_create_draft(
        ApplicantFactory(), item_code="SC-FOOD-001", division_code="330100", answers=ANSWERS
    )
    return draft


def _stored(model: type[Model], pk: Any) -> dict[str, Any]:
    row = model.objects.get(pk=pk)
    return {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields}


def _event(case: Case, sequence: int, **extra: Any) -> CaseEvent:
    return CaseEvent(
        case=case,
        sequence=sequence,
        action="note",
        actor=None,
        actor_label="系统",
        from_state="draft",
        to_state="draft",
        reason="理由：材料不全（示例）",
        data={"items": [{"name": "营业执照", "n": 2}], "ok": True, "nothing": None},
        **extra,
    )


def test_an_inserted_row_is_what_save_would_store(case: Case) -> None:
    saved = _event(case, 2)
    saved.save(force_insert=True)
    compiled = insert_row(_event(case, 3))
    assert compiled.pk is not None
    assert compiled.pk != saved.pk
    assert not compiled._state.adding
    assert compiled.at is not None  # auto_now_add was applied to the instance
    one, two = _stored(CaseEvent, saved.pk), _stored(CaseEvent, compiled.pk)
    for key in ("id", "sequence", "at"):
        one.pop(key), two.pop(key)
    assert one == two
    assert CaseEvent.objects.get(pk=compiled.pk).at == compiled.at


def test_a_wide_row_with_nulls_and_defaults(case: Case) -> None:
    copy = Case(
        item_version=case.item_version,
        item_code=case.item_code,
        item_name=case.item_name,
        division=case.division,
        department=case.department,
        applicant_person=case.applicant_person,
        applicant_enterprise=None,
        submitted_by=case.submitted_by,
        answers={"area": 120, "cold": False},
        form_data={"名称": "示例店"},
        promised_limit_days=5,
        extension_max_days=0,
    )
    insert_row(copy)
    stored = _stored(Case, copy.pk)
    expected = {f.attname: getattr(copy, f.attname) for f in Case._meta.concrete_fields}
    assert stored == expected
    assert stored["applicant_enterprise_id"] is None
    assert stored["state"] == "draft"  # the field's default, written like save() writes it


def test_an_update_writes_only_the_chosen_columns(case: Case) -> None:
    before = _stored(Case, case.pk)
    other = Case.objects.get(pk=case.pk)
    other.item_name = "另一个名称（不应写入）"
    other.due_date = dt.date(2025, 10, 9)
    other.submitted_at = timezone.now()
    other.answers = {"area": 80, "cold": True}
    update_row(other, ["due_date", "submitted_at", "answers"])
    after = _stored(Case, case.pk)
    assert after["item_name"] == before["item_name"]
    assert after["due_date"] == dt.date(2025, 10, 9)
    assert after["submitted_at"] == other.submitted_at
    assert after["answers"] == {"area": 80, "cold": True}
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {"due_date", "submitted_at", "answers"}


def _open_task(case: Case) -> CaseTask:
    return CaseTask.objects.create(
        case=case,
        stage=1,
        stage_name="审查",
        name="现场核查",
        department=case.department,
        limit_days=3,
        opened_at=timezone.now(),
        due_date=dt.date(2025, 10, 9),
    )


def test_a_foreign_key_is_updated_by_its_field_name(case: Case) -> None:
    staff = StaffUserFactory(department=Department.objects.get(code="3301-SCJG"), roles=["window"])
    task = _open_task(case)
    task.state, task.completed_by, task.completed_at = "approved", staff, timezone.now()
    update_row(task, ["state", "completed_by", "completed_at"])
    task.refresh_from_db()
    assert (task.state, task.completed_by_id) == ("approved", staff.pk)
    task.completed_by = None
    update_row(task, ["completed_by"])
    task.refresh_from_db()
    assert task.completed_by_id is None


def test_statements_are_compiled_once_per_connection(case: Case) -> None:
    insert_row(_event(case, 2))
    with CaptureQueriesContext(connection) as captured:
        insert_row(_event(case, 3))
        case.event_count = 3
        update_row(case, ["event_count"])
        update_row(case, ["event_count"])
    assert len(captured.captured_queries) == 3
    sqls = [q["sql"] for q in captured.captured_queries]
    assert sqls[0].startswith("INSERT INTO")
    assert sqls[1].startswith("UPDATE")
    assert Case.objects.get(pk=case.pk).event_count == 3


def test_refusals(case: Case) -> None:
    saved = insert_row(_event(case, 2))
    with pytest.raises(ValueError, match="already saved"):
        insert_row(saved)
    case.event_count = F("event_count") + 1  # type: ignore[assignment]
    with pytest.raises(TypeError, match="expression"):
        update_row(case, ["event_count"])
    gone = Case.objects.get(pk=case.pk)
    gone.pk = gone.pk + 10_000
    with pytest.raises(DatabaseError, match="did not affect one row"):
        update_row(gone, ["item_name"])
    with pytest.raises(ValueError, match="cannot be updated"):
        update_row(gone, ["id"])


def test_a_failed_statement_writes_nothing(case: Case) -> None:
    insert_row(_event(case, 2))
    count = CaseEvent.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_row(_event(case, 2))  # (case, sequence) is unique
    assert CaseEvent.objects.count() == count


@pytest.mark.parametrize("model", [Case, CaseEvent, CaseTask, Notification])
def test_the_models_written_this_way_rely_on_no_save_signals(model: type[Model]) -> None:
    for signal in (pre_save, post_save):
        assert not signal.has_listeners(model), f"{model.__name__} has {signal} receivers"
    # CaseEvent.save only refuses changes to a saved event; insert_row refuses them too
    overrides = {m.__name__ for m in model.__mro__ if "save" in m.__dict__} - {"Model"}
    assert overrides <= {"CaseEvent"}


def test_a_whole_lifecycle_step_still_records_its_event(case: Case) -> None:
    applicant = case.submitted_by
    window = StaffUserFactory(department=Department.objects.get(code="3301-SCJG"), roles=["window"])
    submitted = submit_draft(applicant, case.pk)
    accepted = perform(window, submitted.number, "accept")
    events = list(CaseEvent.objects.filter(case=accepted).order_by("sequence"))
    assert [e.action for e in events] == ["create_draft", "submit", "accept"]
    assert [e.sequence for e in events] == [1, 2, 3]
    stored = Case.objects.get(pk=accepted.pk)
    assert (stored.state, stored.event_count) == (accepted.state, 3)
    assert stored.accepted_at == accepted.accepted_at


# --- a step's updates and its event together ---------------------------------------------------
def test_updates_and_an_insert_store_what_the_separate_writes_store(case: Case) -> None:
    task = _open_task(case)
    before = _stored(Case, case.pk)
    case.event_count, case.due_date = 2, dt.date(2025, 10, 20)
    task.state, task.opinion, task.completed_at = "approved", "同意", timezone.now()
    with CaptureQueriesContext(connection) as captured:
        event = update_then_insert(
            [(task, ["state", "opinion", "completed_at"]), (case, ["event_count", "due_date"])],
            _event(case, 2, task=task),
        )
    # one statement where writes run inside WITH (PostgreSQL); one each elsewhere
    assert len(captured.captured_queries) == (1 if connection.vendor == "postgresql" else 3)
    assert event.pk is not None
    assert not event._state.adding
    stored = _stored(CaseEvent, event.pk)
    assert stored == {f.attname: getattr(event, f.attname) for f in CaseEvent._meta.concrete_fields}
    after = _stored(Case, case.pk)
    assert {k for k in after if after[k] != before[k]} == {"event_count", "due_date"}
    assert (after["event_count"], after["due_date"]) == (2, dt.date(2025, 10, 20))
    task.refresh_from_db()
    assert (task.state, task.opinion) == ("approved", "同意")


def test_an_update_that_finds_no_row_undoes_the_insert(case: Case) -> None:
    task = _open_task(case)
    gone = CaseTask.objects.get(pk=task.pk)
    gone.pk = task.pk + 10_000
    gone.state = "approved"
    case.event_count = 2
    events = CaseEvent.objects.count()
    refused = pytest.raises(DatabaseError, match=f"CaseTask {gone.pk}: the update did not")
    with refused, transaction.atomic():
        update_then_insert([(case, ["event_count"]), (gone, ["state"])], _event(case, 2))
    assert CaseEvent.objects.count() == events
    assert Case.objects.get(pk=case.pk).event_count == 1


def test_no_updates_is_a_plain_insert_and_refusals_hold(case: Case) -> None:
    event = update_then_insert([(case, [])], _event(case, 2))
    assert CaseEvent.objects.filter(pk=event.pk).exists()
    with pytest.raises(ValueError, match="already saved"):
        update_then_insert([(case, ["event_count"])], event)
    with pytest.raises(ValueError, match="cannot be updated"):
        update_then_insert([(case, ["id"])], _event(case, 3))
    case.event_count = F("event_count") + 1  # type: ignore[assignment]
    with pytest.raises(TypeError, match="expression"):
        update_then_insert([(case, ["event_count"])], _event(case, 3))
    assert not CaseEvent.objects.filter(sequence=3).exists()


# --- several rows, skipping duplicates (the notification outbox) ------------------------------
def _message(user: Any, key: str) -> Notification:
    now = timezone.now()
    return Notification(
        recipient=user,
        channel="in_app",
        template="case.accepted",
        language="zh-hans",
        subject="受理通知",
        body="您的申请已受理",
        context={"number": key},
        created_at=now,
        next_attempt_at=now,
        dedupe_key=key,
    )


def test_rows_whose_key_exists_are_skipped_and_the_others_written(case: Case) -> None:
    user = case.submitted_by
    first = _message(user, "k:1")
    assert insert_rows_unless_exist([first], "dedupe_key") == [True]
    assert first.pk is not None
    again, second = _message(user, "k:1"), _message(user, "k:2")
    assert insert_rows_unless_exist([again, second], "dedupe_key") == [False, True]
    assert again.pk is None  # nothing written for it
    assert second.pk is not None
    stored = Notification.objects.get(pk=second.pk)
    assert (stored.dedupe_key, stored.context, stored.recipient_id) == (
        "k:2",
        {"number": "k:2"},
        user.pk,
    )
    assert Notification.objects.filter(dedupe_key__startswith="k:").count() == 2
    assert insert_rows_unless_exist([], "dedupe_key") == []


def test_several_rows_refusals(case: Case) -> None:
    user = case.submitted_by
    with pytest.raises(ValueError, match="repeat a value"):
        insert_rows_unless_exist([_message(user, "d"), _message(user, "d")], "dedupe_key")
    with pytest.raises(ValueError, match="not a unique column"):
        insert_rows_unless_exist([_message(user, "e")], "channel")
    with pytest.raises(TypeError, match="one model"):
        insert_rows_unless_exist([_message(user, "f"), _event(case, 9)], "dedupe_key")
    assert not Notification.objects.filter(dedupe_key__in=["d", "e", "f"]).exists()


def test_several_new_rows_in_one_statement_get_their_keys_in_order(case: Case) -> None:
    tasks = [
        CaseTask(
            case=case,
            stage=n,
            stage_name=f"第{n}环节",
            name=f"审查{n}",
            department=case.department,
            limit_days=n,
            opened_at=timezone.now() if n == 1 else None,
            due_date=dt.date(2025, 10, 9) if n == 1 else None,
        )
        for n in (1, 2, 3)
    ]
    with CaptureQueriesContext(connection) as captured:
        written = insert_rows(tasks)
    assert written == tasks
    inserts = [q for q in captured.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == (1 if connection.features.can_return_columns_from_insert else 3)
    for task in tasks:
        stored = CaseTask.objects.get(pk=task.pk)
        assert (stored.stage, stored.name, stored.limit_days) == (
            task.stage,
            task.name,
            task.limit_days,
        )
        assert (stored.opened_at, stored.due_date) == (task.opened_at, task.due_date)
    assert insert_rows([]) == []
    with pytest.raises(ValueError, match="already saved"):
        insert_rows(tasks)


def test_a_model_whose_key_is_made_in_python_is_refused() -> None:
    from django_tasks_db.models import DBTaskResult

    with pytest.raises(ValueError, match="key the database assigns"):
        insert_row(DBTaskResult(task_path="x.y", args_kwargs={}, backend_name="default"))
