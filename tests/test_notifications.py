"""Notifications: the outbox is written in the caller's transaction and delivered after commit,
exactly once per row in practice (claims, leases, dedupe keys), with retries, backoff and
``dead``; the in-app inbox; channels and SMS gateways as plugins.

Sends are counted by a recording SMS gateway registered here; races use real threads on the
suite's database (PostgreSQL: ``SKIP LOCKED``; SQLite: one writer at a time).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from structlog.testing import capture_logs

from tests.factories import ApplicantFactory, StaffUserFactory
from tongban.core.errors import Conflict, NotFound, ValidationFailed
from tongban.identity.models import User
from tongban.notifications import selectors, services
from tongban.notifications.apps import check_sms_gateway
from tongban.notifications.channels import (
    DeliveryError,
    OutgoingMessage,
    PermanentDeliveryError,
    SmsGateway,
    message_id,
    sms_gateways,
)
from tongban.notifications.message_templates import (
    MessageTemplate,
    get_template,
    message_templates,
    register_template,
)
from tongban.notifications.models import Notification, Status
from tongban.notifications.services import Outcome, backoff, deliver, deliver_due
from tongban.notifications.tasks import deliver_notification

IMMEDIATE = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default"],
    }
}
TEMPLATE = "notifications.test"


class Recorder:
    """What the recording gateway sent, and what it should do next."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: list[OutgoingMessage] = []
        self.calls = 0
        self.delay = 0.0
        self.failures: list[Exception] = []

    def send(self, message: OutgoingMessage) -> None:
        with self.lock:
            self.calls += 1
            failure = self.failures.pop(0) if self.failures else None
        if self.delay:
            time.sleep(self.delay)
        if failure is not None:
            raise failure
        with self.lock:
            self.sent.append(message)


RECORDER = Recorder()


@sms_gateways.register("test-recording")
class RecordingGateway(SmsGateway):
    def send(self, message: OutgoingMessage) -> None:
        RECORDER.send(message)


@pytest.fixture(autouse=True)
def recorder(settings: Any) -> Recorder:
    global RECORDER
    RECORDER = Recorder()
    settings.TONGBAN_SMS_GATEWAY = "test-recording"
    return RECORDER


@pytest.fixture
def immediate(settings: Any) -> None:
    """Run enqueued tasks at once, in the enqueuing thread (after commit)."""
    settings.TASKS = IMMEDIATE


def applicant(mobile: str = "13812345678", email: str = "zhang@example.org") -> User:
    user = ApplicantFactory(email=email)
    user.person.mobile = mobile
    user.person.save(update_fields=["mobile"])
    return user


def queue(
    user: User, key: str = "case:1:accepted", channels: tuple[str, ...] = ("sms",)
) -> list[Notification]:
    return services.queue_notification(user, TEMPLATE, {"name": "张三"}, channels, key)


# --- after commit, never on rollback ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("immediate")
def test_rollback_leaves_no_outbox_row_and_sends_nothing(recorder: Recorder) -> None:
    user = applicant()

    def change_that_fails() -> None:
        with transaction.atomic():
            queue(user, channels=("in_app", "sms", "email"))
            raise RuntimeError("the case change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert Notification.objects.count() == 0
    assert recorder.calls == 0
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("immediate")
def test_commit_delivers_exactly_once_even_if_the_task_runs_again(recorder: Recorder) -> None:
    user = applicant()
    with transaction.atomic():
        (row,) = queue(user)
        assert recorder.calls == 0  # nothing leaves before the commit
    assert [m.dedupe_key for m in recorder.sent] == ["case:1:accepted:sms"]
    assert deliver_notification.call(row.pk) == "skipped"
    assert deliver_notification.enqueue(row.pk).return_value == "skipped"
    assert len(recorder.sent) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.leased_until) == (Status.SENT, 1, None)
    assert row.sent_at is not None


@pytest.mark.django_db
def test_delivery_job_on_the_embedded_queue_commits_or_rolls_back_with_the_change(
    django_capture_on_commit_callbacks: Any,
) -> None:
    user = applicant()
    seen_inside: list[int] = []

    def failing_change() -> None:
        with transaction.atomic():
            queue(user)
            seen_inside.append(DBTaskResult.objects.count())
            raise RuntimeError("the change fails")

    with pytest.raises(RuntimeError):
        failing_change()
    assert seen_inside == [1]  # written in the change's transaction
    assert DBTaskResult.objects.count() == 0  # … and gone with it
    assert not Notification.objects.exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        (row,) = queue(user)
    assert callbacks == []  # nothing left to do after the commit
    job = DBTaskResult.objects.get()
    assert job.task_path == "tongban.notifications.tasks.deliver_notification"
    assert job.args_kwargs == {"args": [row.pk], "kwargs": {}}


def _race(pk: int, threads: int) -> list[Outcome]:
    barrier = threading.Barrier(threads)
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            outcomes.append(deliver(pk))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(30)
    assert not errors, errors
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_workers_racing_on_one_row_send_it_once(recorder: Recorder) -> None:
    """Four workers run the same delivery at the same moment; the gateway sees one message."""
    user = applicant()
    (row,) = queue(user)  # autocommit: committed at once; the enqueued job is not run here
    recorder.delay = 0.3
    outcomes = _race(row.pk, threads=4)
    assert len(recorder.sent) == 1
    assert sorted(outcomes).count(Outcome.SENT) == 1
    assert set(outcomes) - {Outcome.SENT} <= {Outcome.SKIPPED, Outcome.IN_PROGRESS}
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)


@pytest.mark.django_db(transaction=True)
def test_racing_retries_of_a_failing_message_count_each_attempt_once(
    recorder: Recorder, settings: Any
) -> None:
    settings.TONGBAN_NOTIFICATION_MAX_ATTEMPTS = 2
    user = applicant()
    (row,) = queue(user)
    recorder.delay = 0.2
    recorder.failures = [DeliveryError("gateway down")] * 4
    outcomes = _race(row.pk, threads=3)
    assert outcomes.count(Outcome.RETRY) == 1
    assert recorder.calls == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.FAILED, 1)


# --- retries, backoff, dead ---------------------------------------------------------------------


@pytest.mark.django_db
def test_failures_back_off_exponentially_then_the_row_is_dead(
    recorder: Recorder, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.TONGBAN_NOTIFICATION_MAX_ATTEMPTS = 3
    settings.TONGBAN_NOTIFICATION_RETRY_SECONDS = 60
    recorder.failures = [DeliveryError("gateway answered 503")] * 3
    user = applicant()
    (row,) = queue(user)
    t0 = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(row.pk, now=t0) == Outcome.RETRY
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.FAILED, 1)
    assert row.next_attempt_at == t0 + dt.timedelta(seconds=60)
    assert "503" in row.last_error
    # besides the first delivery job, the retry waits in the queue until it is due
    (retry,) = DBTaskResult.objects.filter(run_after=row.next_attempt_at)
    assert retry.args_kwargs["args"] == [row.pk]

    assert deliver(row.pk, now=t0 + dt.timedelta(seconds=30)) == Outcome.NOT_DUE
    assert recorder.calls == 1

    t1 = t0 + dt.timedelta(seconds=61)
    assert deliver(row.pk, now=t1) == Outcome.RETRY
    row.refresh_from_db()
    assert row.next_attempt_at == t1 + dt.timedelta(seconds=120)

    assert deliver(row.pk, now=t1 + dt.timedelta(seconds=121)) == Outcome.DEAD
    row.refresh_from_db()
    assert (row.status, row.attempts, recorder.calls) == (Status.DEAD, 3, 3)
    assert deliver(row.pk, now=t1 + dt.timedelta(days=1)) == Outcome.SKIPPED
    assert recorder.calls == 3
    assert list(selectors.undelivered(dead_only=True)) == [row]


def test_backoff_doubles_and_is_capped(settings: Any) -> None:
    settings.TONGBAN_NOTIFICATION_RETRY_SECONDS = 60
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff(20) == dt.timedelta(hours=1)


@pytest.mark.django_db
def test_a_permanent_error_is_dead_at_once(recorder: Recorder) -> None:
    recorder.failures = [PermanentDeliveryError("号码不存在")]
    (row,) = queue(applicant())
    assert deliver(row.pk) == Outcome.DEAD
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.DEAD, 1)
    assert "号码不存在" in row.last_error


@pytest.mark.django_db
def test_a_failing_then_working_gateway_sends_once(recorder: Recorder) -> None:
    recorder.failures = [DeliveryError("timeout")]
    (row,) = queue(applicant())
    t0 = timezone.now()
    assert deliver(row.pk, now=t0) == Outcome.RETRY
    assert deliver(row.pk, now=t0 + dt.timedelta(minutes=5)) == Outcome.SENT
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (Status.SENT, 2, "")
    assert [m.attempt for m in recorder.sent] == [2]


# --- the sweep ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sweep_delivers_rows_whose_enqueue_was_lost(recorder: Recorder) -> None:
    user = applicant()
    queue(user, key="lost")  # its on_commit never ran: the job was never enqueued
    (crashed,) = queue(user, key="crashed")
    (busy,) = queue(user, key="busy")
    now = timezone.now()
    # a worker claimed `crashed` and died (its lease ran out); `busy` is being sent right now
    Notification.objects.filter(pk=crashed.pk).update(
        attempts=1, leased_until=now - dt.timedelta(seconds=1)
    )
    Notification.objects.filter(pk=busy.pk).update(
        attempts=1, leased_until=now + dt.timedelta(minutes=5)
    )
    assert deliver_due(now=now) == {"sent": 2}
    assert sorted(m.dedupe_key for m in recorder.sent) == ["crashed:sms", "lost:sms"]
    crashed.refresh_from_db()
    assert (crashed.status, crashed.attempts) == (Status.SENT, 2)
    assert deliver_due(now=now) == {}  # nothing left that is due
    busy.refresh_from_db()
    assert busy.status == Status.PENDING
    assert deliver(busy.pk, now=now) == Outcome.IN_PROGRESS


@pytest.mark.django_db
def test_sweep_leaves_retries_until_they_are_due(recorder: Recorder) -> None:
    recorder.failures = [DeliveryError("busy")]
    (row,) = queue(applicant())
    t0 = timezone.now()
    deliver(row.pk, now=t0)
    assert deliver_due(now=t0 + dt.timedelta(seconds=10)) == {}
    assert deliver_due(now=t0 + dt.timedelta(minutes=2)) == {"sent": 1}


# --- queueing rules: dedupe, validation, addresses --------------------------------------------


@pytest.fixture(params=["skip_duplicates", "savepoint"])
def insert_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of writing outbox rows: one ``ON CONFLICT DO NOTHING`` statement per row (the
    databases tongban runs on), and a savepoint around one bulk insert (databases without)."""
    if request.param == "savepoint":
        monkeypatch.setattr(services, "can_insert_unless_exists", lambda: False)
    return str(request.param)


@pytest.mark.django_db
def test_the_same_dedupe_key_queues_nothing_more(recorder: Recorder, insert_path: str) -> None:
    user = applicant()
    rows = queue(user, channels=("sms", "in_app"))
    assert DBTaskResult.objects.count() == 1  # the SMS goes out; the inbox row is already there
    again = queue(user, channels=("sms", "in_app"))
    assert [r.pk for r in again] == [r.pk for r in rows]
    assert Notification.objects.count() == 2
    assert DBTaskResult.objects.count() == 1
    with pytest.raises(Conflict) as error:
        queue(applicant(mobile="13900001111"), channels=("sms",))
    assert error.value.code == "dedupe_key_reused"


@pytest.mark.django_db
def test_a_key_queued_on_one_channel_keeps_that_row_and_adds_the_other(
    recorder: Recorder, insert_path: str
) -> None:
    user = applicant()
    (sms,) = queue(user, channels=("sms",))
    rows = queue(user, channels=("sms", "in_app"))
    assert rows[0].pk == sms.pk
    assert rows[1].channel == "in_app"
    assert rows[1].pk is not None
    assert Notification.objects.filter(recipient=user).count() == 2
    assert DBTaskResult.objects.count() == 1  # the SMS once; the inbox row needs no delivery


@pytest.mark.django_db
def test_a_duplicate_does_not_spoil_the_caller_s_transaction(recorder: Recorder) -> None:
    user = applicant()
    with transaction.atomic():
        queue(user)
        queue(user)  # skipped without an error that would abort the transaction
        assert Notification.objects.filter(recipient=user).count() == 1


@pytest.mark.django_db
def test_invalid_requests_are_refused_with_field_paths() -> None:
    user = applicant()
    with pytest.raises(ValidationFailed) as error:
        services.queue_notification(user, TEMPLATE, {}, ["sms", "fax"], "k")
    assert [e.path for e in error.value.errors] == ["channels[1]"]
    with pytest.raises(ValidationFailed):
        services.queue_notification(user, TEMPLATE, {}, [], "k")
    with pytest.raises(ValidationFailed) as error:
        services.queue_notification(user, "no.such.template", {}, ["sms"], "k")
    assert error.value.code == "unknown_message_template"
    with pytest.raises(ValidationFailed) as error:
        services.queue_notification(user, TEMPLATE, {}, ["sms"], " ")
    assert error.value.code == "invalid_dedupe_key"
    with pytest.raises(ValidationFailed) as error:
        services.queue_notification(user, TEMPLATE, {"x": object()}, ["sms"], "k")
    assert error.value.code == "invalid_context"
    assert Notification.objects.count() == 0


@pytest.mark.django_db
def test_a_recipient_without_an_address_gets_a_dead_row_not_an_error() -> None:
    staff = StaffUserFactory(email="")  # staff accounts have no Person, hence no mobile
    rows = services.queue_notification(staff, TEMPLATE, {"name": "王五"}, ["sms", "email"], "k")
    assert [(r.channel, r.status) for r in rows] == [("sms", "dead"), ("email", "dead")]
    assert "手机号" in rows[0].last_error
    assert "电子邮箱" in rows[1].last_error


@pytest.mark.django_db
def test_messages_are_rendered_once_in_the_recipients_language() -> None:
    user = applicant()
    (zh,) = services.queue_notification(user, TEMPLATE, {"name": "张三"}, ["in_app"], "zh")
    (en,) = services.queue_notification(
        user, TEMPLATE, {"name": "Zhang San"}, ["in_app"], "en", language="en"
    )
    assert (zh.subject, zh.body) == ("通办测试消息", "张三，您好：这是一条来自通办的测试消息。")
    assert (en.subject, en.body) == (
        "tongban test message",
        "Hello Zhang San, this is a test message from tongban.",
    )
    assert zh.context == {"name": "张三"}


def test_templates_need_both_languages_and_valid_syntax() -> None:
    with pytest.raises(ValueError, match="en"):
        MessageTemplate(key="x", subject={"zh-hans": "标题"}, body={"zh-hans": "正文", "en": "b"})
    with pytest.raises(ValueError, match="x"):
        MessageTemplate(
            key="x", subject={"zh-hans": "{% if %}", "en": "s"}, body={"zh-hans": "b", "en": "b"}
        )
    if "tests.plain" not in message_templates:
        register_template(
            "tests.plain",
            subject={"zh-hans": "<b>{{ a }}</b>", "en": "{{ a }}"},
            body={"zh-hans": "{{ a }} & {{ missing }}", "en": "{{ a }}"},
        )
    rendered = get_template("tests.plain").render({"a": "<x>"}, "zh-hans")
    assert (rendered.subject, rendered.body) == ("<b><x></b>", "<x> &")  # plain text, no escaping


# --- in-app inbox ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_in_app_messages_are_the_inbox_and_need_no_worker(
    django_assert_max_num_queries: Any,
) -> None:
    user, other = applicant(), applicant(mobile="13900001111")
    first = services.queue_notification(user, TEMPLATE, {"name": "甲"}, ["in_app"], "a")[0]
    second = services.queue_notification(user, TEMPLATE, {"name": "乙"}, ["in_app"], "b")[0]
    services.queue_notification(other, TEMPLATE, {"name": "丙"}, ["in_app"], "c")
    assert first.status == Status.SENT
    assert first.sent_at is not None
    assert DBTaskResult.objects.count() == 0  # nothing for a worker to do
    with django_assert_max_num_queries(1):
        assert [n.pk for n in selectors.inbox(user)] == [second.pk, first.pk]
    assert selectors.unread_count(user) == 2

    read = services.mark_read(user, first.pk)
    assert read.read_at is not None
    assert services.mark_read(user, first.pk).read_at == read.read_at  # idempotent
    assert [n.pk for n in selectors.inbox(user, unread_only=True)] == [second.pk]
    with pytest.raises(NotFound):
        services.mark_read(other, second.pk)  # not theirs
    assert services.mark_all_read(user) == 1
    assert selectors.unread_count(user) == 0
    assert selectors.unread_count(other) == 1


# --- channels and gateways ---------------------------------------------------------------------


@pytest.mark.django_db
def test_logging_sms_gateway_masks_the_mobile_number(settings: Any) -> None:
    settings.TONGBAN_SMS_GATEWAY = "logging"
    (row,) = queue(applicant(mobile="13812345678"))
    with capture_logs() as logs:
        assert deliver(row.pk) == Outcome.SENT
    (sms,) = [entry for entry in logs if entry["event"] == "notification.sms.sent"]
    assert sms["to"] == "138****5678"
    assert sms["dedupe_key"] == "case:1:accepted:sms"
    assert "张三" in sms["text"]
    assert "13812345678" not in json.dumps(logs, ensure_ascii=False, default=str)


@pytest.mark.django_db
def test_email_goes_through_django_with_a_stable_message_id(
    settings: Any,
) -> None:
    settings.DEFAULT_FROM_EMAIL = "通办 <noreply@zwfw.example.gov.cn>"
    (row,) = queue(applicant(email="li@example.org"), channels=("email",))
    assert deliver(row.pk) == Outcome.SENT
    (sent,) = mail.outbox
    assert sent.to == ["li@example.org"]
    assert sent.subject == "通办测试消息"
    assert sent.extra_headers["Message-ID"] == message_id("case:1:accepted:email")
    assert message_id("case:1:accepted:email").endswith("@zwfw.example.gov.cn>")
    assert sent.extra_headers["X-Tongban-Dedupe-Key"] == "case:1:accepted:email"


class _Gateway(BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        body["authorization"] = self.headers.get("Authorization")
        self.received.append(body)
        status = self.answers.pop(0) if self.answers else 200
        if status == 0:  # never answer in time
            time.sleep(2)
            status = 200
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_gateway(settings: Any) -> Iterator[type[_Gateway]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    _Gateway.answers, _Gateway.received = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.TONGBAN_SMS_GATEWAY = "http"
    settings.TONGBAN_SMS_HTTP_URL = f"http://127.0.0.1:{server.server_address[1]}/sms"
    settings.TONGBAN_SMS_HTTP_TIMEOUT = 1
    settings.TONGBAN_SMS_HTTP_TOKEN = "s3cret"
    yield _Gateway
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_http_sms_gateway_retries_server_errors_and_timeouts_not_refusals(
    http_gateway: type[_Gateway],
) -> None:
    user = applicant(mobile="13812345678")
    http_gateway.answers = [503, 0, 200, 400]
    (row,) = queue(user, key="a")
    t0 = timezone.now()
    assert deliver(row.pk, now=t0) == Outcome.RETRY  # 503
    assert deliver(row.pk, now=t0 + dt.timedelta(hours=1)) == Outcome.RETRY  # timeout
    row.refresh_from_db()
    assert "unreachable" in row.last_error
    assert deliver(row.pk, now=t0 + dt.timedelta(hours=2)) == Outcome.SENT
    (refused,) = queue(user, key="b")
    assert deliver(refused.pk) == Outcome.DEAD  # 400: a retry cannot help
    assert http_gateway.received[0] == {
        "mobile": "13812345678",
        "content": "张三，您好：这是一条来自通办的测试消息。",
        "client_message_id": "a:sms",
        "authorization": "Bearer s3cret",
    }
    assert [r["client_message_id"] for r in http_gateway.received] == ["a:sms"] * 3 + ["b:sms"]


def test_system_check_reports_an_unusable_sms_gateway(settings: Any) -> None:
    settings.TONGBAN_SMS_GATEWAY = "carrier-pigeon"
    assert [e.id for e in check_sms_gateway()] == ["notifications.E001"]
    settings.TONGBAN_SMS_GATEWAY = "http"
    settings.TONGBAN_SMS_HTTP_URL = ""
    assert [e.id for e in check_sms_gateway()] == ["notifications.E002"]
    settings.TONGBAN_SMS_HTTP_URL = "https://sms.example.gov.cn/send"
    assert check_sms_gateway() == []
    settings.TONGBAN_SMS_GATEWAY = "logging"
    assert check_sms_gateway() == []
