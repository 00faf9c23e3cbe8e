"""What the applicant is told when their case moves, through the notifications outbox.

Messages are written in the same transaction as the change (``queue_notification``) and sent
after commit; the dedupe key is the case event, so a retried change never sends twice.
"""

from __future__ import annotations

from typing import Any

from tongban.cases import access
from tongban.cases.models import Case, CaseEvent
from tongban.core.compiled import CompiledRead
from tongban.identity.models import User
from tongban.identity.selectors import agent_accounts
from tongban.notifications.message_templates import register_template
from tongban.notifications.services import queue_notification

CHANNELS = ("in_app", "sms")

TEMPLATES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "accept": (
        {"zh-hans": "办件已受理", "en": "Application accepted"},
        {
            "zh-hans": "您申请的“{{ item }}”（{{ number }}）已受理，承诺于 {{ due_date }} 前办结。",
            "en": "Your application for {{ item }} ({{ number }}) was accepted; it will be decided "
            "by {{ due_date }}.",
        },
    ),
    "request_correction": (
        {"zh-hans": "请补正申请材料", "en": "Please complete your application"},
        {
            "zh-hans": "您申请的“{{ item }}”（{{ number }}）需要补正：{{ detail }}。请登录通办查看并补正。",
            "en": "Your application for {{ item }} ({{ number }}) needs: {{ detail }}. "
            "Please sign in to complete it.",
        },
    ),
    "refuse": (
        {"zh-hans": "申请不予受理", "en": "Application not accepted"},
        {
            "zh-hans": "您申请的“{{ item }}”（{{ number }}）不予受理，理由：{{ reason }}",
            "en": "Your application for {{ item }} ({{ number }}) was not accepted: {{ reason }}",
        },
    ),
    "decide": (
        {"zh-hans": "办件已作出决定", "en": "Decision made"},
        {
            "zh-hans": "您申请的“{{ item }}”（{{ number }}）已作出决定：{{ outcome }}。",
            "en": "A decision was made on your application for {{ item }} ({{ number }}): "
            "{{ outcome }}.",
        },
    ),
    "instant_decision": (
        {"zh-hans": "办件已秒批", "en": "Decided at once"},
        {
            "zh-hans": "您申请的“{{ item }}”（{{ number }}）已由系统按规则当场作出决定：{{ outcome }}。",
            "en": "Your application for {{ item }} ({{ number }}) was decided at once by the "
            "published rules: {{ outcome }}.",
        },
    ),
    "approve_on_commitment": (
        {"zh-hans": "已按告知承诺准予", "en": "Approved on your commitment"},
        {
            "zh-hans": "您申请的“{{ item }}”（{{ number }}）已按告知承诺准予，请于 {{ detail }} 前备齐承诺的材料以备核查。",
            "en": "Your application for {{ item }} ({{ number }}) was approved on your commitment; "
            "have the committed documents ready for verification by {{ detail }}.",
        },
    ),
    "deemed_approval": (
        {"zh-hans": "审查期限届满，视为同意", "en": "Review deemed approved"},
        {
            "zh-hans": "您申请的“{{ item }}”（{{ number }}）中{{ detail }}的审查期限已届满，"
            "依规定视为同意，办件继续办理。",
            "en": "The review by {{ detail }} of your application for {{ item }} ({{ number }}) "
            "was not completed in time and is deemed approved; your application goes on.",
        },
    ),
    "deliver": (
        {"zh-hans": "办理结果已送达", "en": "Result delivered"},
        {
            "zh-hans": "您申请的“{{ item }}”（{{ number }}）办理结果已送达。",
            "en": "The result of your application for {{ item }} ({{ number }}) was delivered.",
        },
    ),
    "revoke_for_broken_commitment": (
        {"zh-hans": "准予决定已撤销", "en": "Decision revoked"},
        {
            "zh-hans": "因违反告知承诺，“{{ item }}”（{{ number }}）的准予决定已撤销：{{ reason }}",
            "en": "The approval of {{ item }} ({{ number }}) was revoked for a broken commitment: "
            "{{ reason }}",
        },
    ),
}

OUTCOMES = {"approved": "准予", "denied": "不予", "revoked": "撤销"}


# the working days a 红牌 is late; not counted (None) while today's year is not in the calendar
LATE_ZH = (
    "{% if days is None %}超期工作日数无法计算（当年工作日历尚未录入）"
    "{% else %}超期 {{ days }} 个工作日{% endif %}"
)
LATE_EN = (
    "{% if days is None %}late (the working days cannot be counted: this year's calendar has "
    "not been entered){% else %}{{ days }} working day(s) late{% endif %}"
)

STAFF_TEMPLATES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "task_warning": (
        {"zh-hans": "黄牌预警：审查即将到期", "en": "Yellow card: review due soon"},
        {
            "zh-hans": "“{{ item }}”（{{ number }}）的{{ stage }}（{{ department }}）将于 {{ due_date }} 到期，"
            "还剩 {{ days }} 个工作日，请及时办理。",
            "en": "The {{ stage }} review ({{ department }}) of {{ item }} ({{ number }}) is due on "
            "{{ due_date }}: {{ days }} working day(s) left.",
        },
    ),
    "task_overdue": (
        {"zh-hans": "红牌督办：审查已超期", "en": "Red card: review overdue"},
        {
            "zh-hans": "“{{ item }}”（{{ number }}）的{{ stage }}（{{ department }}）已于 {{ due_date }} 到期，"
            + LATE_ZH
            + "，请督促办理。",
            "en": "The {{ stage }} review ({{ department }}) of {{ item }} ({{ number }}) was due on "
            "{{ due_date }} and is " + LATE_EN + ".",
        },
    ),
    "verification_warning": (
        {"zh-hans": "黄牌预警：承诺核查即将到期", "en": "Yellow card: verification due soon"},
        {
            "zh-hans": "“{{ item }}”（{{ number }}）按告知承诺准予，{{ department }}须于 {{ due_date }} "
            "前完成承诺核查，还剩 {{ days }} 个工作日，请及时核查。",
            "en": "{{ item }} ({{ number }}) was approved on a commitment; {{ department }} must "
            "verify it by {{ due_date }}: {{ days }} working day(s) left.",
        },
    ),
    "verification_overdue": (
        {"zh-hans": "红牌督办：承诺核查已超期", "en": "Red card: verification overdue"},
        {
            "zh-hans": "“{{ item }}”（{{ number }}）的承诺核查（{{ department }}）已于 {{ due_date }} "
            "到期，" + LATE_ZH + "，请督促核查。",
            "en": "The verification of the commitment for {{ item }} ({{ number }}) by "
            "{{ department }} was due on {{ due_date }} and is " + LATE_EN + ".",
        },
    ),
    "intake_warning": (
        {"zh-hans": "黄牌预警：预审即将到期", "en": "Yellow card: intake due soon"},
        {
            "zh-hans": "“{{ item }}”（{{ number }}）的申请材料须于 {{ due_date }} 前作出受理、补正告知"
            "或不予受理，还剩 {{ days }} 个工作日，请及时预审。",
            "en": "The application {{ item }} ({{ number }}) must be accepted, sent back for "
            "correction or refused by {{ due_date }}: {{ days }} working day(s) left.",
        },
    ),
    "intake_overdue": (
        {"zh-hans": "红牌督办：预审已超期", "en": "Red card: intake overdue"},
        {
            "zh-hans": "“{{ item }}”（{{ number }}）的预审期限已于 {{ due_date }} 届满，"
            + LATE_ZH
            + "仍未受理或告知补正，请督促办理。",
            "en": "The intake period of {{ item }} ({{ number }}) ended on {{ due_date }}; it is "
            + LATE_EN
            + " without acceptance or a correction notice.",
        },
    ),
    "case_warning": (
        {"zh-hans": "黄牌预警：办件即将到期", "en": "Yellow card: case due soon"},
        {
            "zh-hans": "“{{ item }}”（{{ number }}，{{ state }}）将于 {{ due_date }} 到办结期限，"
            "还剩 {{ days }} 个工作日，请及时作出决定。",
            "en": "{{ item }} ({{ number }}, {{ state }}) must be decided by {{ due_date }}: "
            "{{ days }} working day(s) left.",
        },
    ),
    "case_overdue": (
        {"zh-hans": "红牌督办：办件已超期", "en": "Red card: case overdue"},
        {
            "zh-hans": "“{{ item }}”（{{ number }}，{{ state }}，{{ department }}）已于 {{ due_date }} "
            "到办结期限，" + LATE_ZH + "仍未作出决定，请督促办理。",
            "en": "{{ item }} ({{ number }}, {{ state }}, {{ department }}) was due on "
            "{{ due_date }} and is " + LATE_EN + " without a decision.",
        },
    ),
    "delivery_warning": (
        {"zh-hans": "黄牌预警：送达即将到期", "en": "Yellow card: delivery due soon"},
        {
            "zh-hans": "“{{ item }}”（{{ number }}）已作出决定，办理结果须于 {{ due_date }} 前送达申请人，"
            "还剩 {{ days }} 个工作日，请及时送达。",
            "en": "A decision was made on {{ item }} ({{ number }}); its result must be delivered "
            "to the applicant by {{ due_date }}: {{ days }} working day(s) left.",
        },
    ),
    "delivery_overdue": (
        {"zh-hans": "红牌督办：送达已超期", "en": "Red card: delivery overdue"},
        {
            "zh-hans": "“{{ item }}”（{{ number }}，{{ department }}）的办理结果应于 {{ due_date }} "
            "前送达，" + LATE_ZH + "仍未送达，请督促办理。",
            "en": "The result of {{ item }} ({{ number }}, {{ department }}) was to be delivered "
            "by {{ due_date }} and is " + LATE_EN + " without delivery.",
        },
    ),
    "timeout_calendar_unknown": (
        {
            "zh-hans": "超时默认无法执行：{{ year }} 年工作日历尚未录入",
            "en": "Deemed approval held up: {{ year }} calendar not entered",
        },
        {
            "zh-hans": "“{{ item }}”（{{ number }}）的{{ stage }}（{{ department }}）已于 {{ due_date }} "
            "到期，依规定视为同意后应开启下一审查环节，但其期限落在 {{ year }} 年，该年的工作日历"
            "尚未录入，超时默认暂不执行。请系统管理员按国务院办公厅公布的安排录入 {{ year }} 年"
            "工作日历（tongban workdays import {{ year }}.yaml），录入后下一次巡查将自动处理。",
            "en": "The {{ stage }} review ({{ department }}) of {{ item }} ({{ number }}) was due "
            "on {{ due_date }} and is deemed approved, but the next stage's deadline falls in "
            "{{ year }}, whose working-day calendar has not been entered, so nothing was done. "
            "Please enter the {{ year }} calendar (tongban workdays import {{ year }}.yaml); the "
            "next sweep then applies it.",
        },
    ),
    "timeout_escalation": (
        {"zh-hans": "超时督办：审查期限届满未办理", "en": "Escalated: review not done in time"},
        {
            "zh-hans": "“{{ item }}”（{{ number }}）的{{ stage }}（{{ department }}）已于 {{ due_date }} "
            "到期，" + LATE_ZH + "仍未办理，依规定转部门负责人督办，请督促办理。",
            "en": "The {{ stage }} review ({{ department }}) of {{ item }} ({{ number }}) was due "
            "on {{ due_date }} and is " + LATE_EN + " without being done; it is escalated to "
            "the department head.",
        },
    ),
}


def register_templates() -> None:
    for action, (subject, body) in {**TEMPLATES, **STAFF_TEMPLATES}.items():
        register_template(f"case.{action}", subject=subject, body=body)


_RECIPIENT = CompiledRead(
    lambda user_id: User.objects.select_related("person").filter(pk=user_id).order_by(),
    (int,),
    "case_recipient",
)


def tell_applicant(case: Case, event: CaseEvent) -> None:
    """Queue the message for ``event`` if applicants hear about this kind of change."""
    if event.action not in TEMPLATES or not event.visible_to_applicant:
        return
    data: dict[str, Any] = event.data or {}
    detail = ""
    if event.action == "request_correction":
        detail = "；".join(f"{i['name']}（{i['problem']}）" for i in data.get("items", []))
    elif event.action == "approve_on_commitment":
        detail = data.get("verification_due", "")
    elif event.action == "deemed_approval":
        department, task = data.get("department", ""), data.get("task", "")
        detail = f"{department}（{task}）" if task else department
    if Case.submitted_by.is_cached(case):  # the locked case brings its applicant along
        filer = case.submitted_by
    else:
        filer = _RECIPIENT(case.submitted_by_id)[0]
    context = {
        "item": case.item_name,
        "number": case.number,
        "reason": event.reason,
        "due_date": case.due_date.isoformat() if case.due_date else "",
        "outcome": OUTCOMES.get(case.outcome, case.outcome),
        "detail": detail,
    }
    key = f"case:{case.number}:{event.sequence}"
    for recipient in applicant_recipients(case, filer):
        dedupe_key = key if recipient.pk == filer.pk else f"{key}:{recipient.pk}"
        queue_notification(
            recipient, f"case.{event.action}", context, CHANNELS, dedupe_key=dedupe_key
        )


def applicant_recipients(case: Case, filer: Any) -> list[Any]:
    """Who hears about an applicant's case: the account that filed it — for an enterprise's
    case only while it is still a valid 经办人; otherwise the enterprise's valid 经办人 of today
    (nobody, when it has none: the case then waits for the enterprise to authorise one)."""
    if case.applicant_enterprise_id is None or access.is_case_applicant(filer, case):
        return [filer]
    return list(agent_accounts(case.applicant_enterprise_id))
