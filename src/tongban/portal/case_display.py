"""How cases read on a page, for the applicant space and the staff workbench alike: the words for
each event and action, what an event's recorded data says, and the applicant's progress steps.

Only wording and grouping: what happened and what may happen next is decided by
``tongban.cases``; this module turns its codes into text in the active language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongban.cases.models import Case, CaseEvent, CaseState, ClockStopKind, Outcome
from tongban.cases.transitions import TRANSITIONS

ACTION_LABELS: dict[str, Any] = {
    "create_draft": gettext_lazy("创建申请"),
    "submit": gettext_lazy("提交申请"),
    "attach_material": gettext_lazy("上传材料"),
    "accept": gettext_lazy("受理"),
    "refuse": gettext_lazy("不予受理"),
    "request_correction": gettext_lazy("补正告知"),
    "supplement": gettext_lazy("提交补正材料"),
    "withdraw": gettext_lazy("撤回申请"),
    "approve_task": gettext_lazy("审查通过"),
    "reject_task": gettext_lazy("审查不通过"),
    "countersign": gettext_lazy("发起会签"),
    "transfer_task": gettext_lazy("转办"),
    "send_back": gettext_lazy("退回"),
    "suspend": gettext_lazy("中止（特别程序）"),
    "resume": gettext_lazy("恢复计时"),
    "extend": gettext_lazy("延期"),
    "decide": gettext_lazy("作出决定"),
    "deliver": gettext_lazy("送达"),
    "close": gettext_lazy("办结"),
    "approve_on_commitment": gettext_lazy("告知承诺审批（当场准予）"),
    "verify_commitment": gettext_lazy("承诺核查属实"),
    "revoke_for_broken_commitment": gettext_lazy("违诺撤销"),
    "instant_check": gettext_lazy("智能秒办判定"),
    "instant_decision": gettext_lazy("智能秒办"),
    "timeout_escalation": gettext_lazy("超期督办"),
    "deemed_approval": gettext_lazy("超时默认通过"),
}
DELIVERY_LABELS: dict[str, Any] = {
    "electronic": gettext_lazy("电子送达"),
    "mail": gettext_lazy("邮寄送达"),
    "pickup": gettext_lazy("窗口领取"),
}


def action_label(action: str) -> str:
    """The words for an action or event code (a transition added later shows its own label)."""
    label = ACTION_LABELS.get(action)
    if label is not None:
        return str(label)
    transition = TRANSITIONS.get(action)
    return transition.label if transition else action


def state_label(state: str) -> str:
    try:
        return str(CaseState(state).label)
    except ValueError:
        return state


def _choice(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


@dataclass(frozen=True)
class EventLine:
    """One timeline entry as shown."""

    event: CaseEvent
    label: str
    details: tuple[str, ...]

    @property
    def state_label(self) -> str:
        return state_label(self.event.to_state) if self.event.to_state else ""


def event_details(
    event: CaseEvent, material_names: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """What an event's data says, one sentence per fact (``material_names`` turns material keys
    into the names the applicant knows)."""
    data = event.data or {}
    lines: list[str] = []
    if event.task is not None:
        lines.append(_("审查部门：%(department)s") % {"department": event.task.department.name})
    if data.get("outcome"):
        lines.append(_("决定：%(outcome)s") % {"outcome": _choice(Outcome, data["outcome"])})
    if data.get("opinion"):
        lines.append(_("审查意见：%(opinion)s") % {"opinion": data["opinion"]})
    if event.reason:
        lines.append(_("理由：%(reason)s") % {"reason": event.reason})
    if data.get("legal_basis"):
        lines.append(_("法律依据：%(basis)s") % {"basis": data["legal_basis"]})
    for item in data.get("items") or ():
        lines.append(
            _("需补正：%(name)s — %(problem)s")
            % {"name": item.get("name", ""), "problem": item.get("problem", "")}
        )
    if data.get("kind"):
        lines.append(_("特别程序：%(kind)s") % {"kind": _choice(ClockStopKind, data["kind"])})
    if data.get("days"):
        lines.append(_("延长 %(days)s 个工作日") % {"days": data["days"]})
    if data.get("paused_workdays"):
        lines.append(_("中止 %(days)s 个工作日") % {"days": data["paused_workdays"]})
    if data.get("method"):
        lines.append(
            _("送达方式：%(method)s")
            % {"method": DELIVERY_LABELS.get(data["method"], data["method"])}
        )
    lines.extend(_deadline_lines(event.action, data))
    if data.get("to"):
        lines.append(_("退回至：%(where)s") % {"where": send_back_target(data["to"])})
    if data.get("tolerated"):
        lines.append(_("容缺受理，补交期限：%(date)s") % {"date": data.get("tolerance_due", "")})
    if data.get("verification_due"):
        lines.append(_("承诺核查期限：%(date)s") % {"date": data["verification_due"]})
    if data.get("finding"):
        lines.append(_("核查结论：%(finding)s") % {"finding": data["finding"]})
    if data.get("barred_until"):
        lines.append(_("限制使用告知承诺至：%(date)s") % {"date": data["barred_until"]})
    if data.get("note"):
        lines.append(_("说明：%(note)s") % {"note": data["note"]})
    if event.action == "attach_material" and data.get("material"):
        key = data["material"]
        lines.append(_("材料：%(name)s") % {"name": (material_names or {}).get(key, key)})
    return tuple(lines)


def _deadline_lines(action: str, data: Mapping[str, Any]) -> list[str]:
    """The 办结期限 an event set or moved (from → to), and the review task deadlines it names."""
    lines = []
    before, after = data.get("due_date_before"), data.get("due_date_after")
    # older 会签 events kept the new task's deadline under ``due_date``: not the 办结期限
    countersign_due = data.get("countersign_due_date") or (
        data.get("due_date") if action == "countersign" else None
    )
    if before and after and before != after:
        lines.append(_("办结期限：%(before)s → %(after)s") % {"before": before, "after": after})
    elif data.get("due_date") and action != "countersign":
        lines.append(_("办结期限：%(date)s") % {"date": data["due_date"]})
    if countersign_due:
        lines.append(_("会签期限：%(date)s") % {"date": countersign_due})
    if data.get("task_due_date"):
        lines.append(_("审查期限：%(date)s") % {"date": data["task_due_date"]})
    return lines


def send_back_target(target: str) -> str:
    """``intake`` → 预审; ``stage:2`` → 第 2 审查环节."""
    if target == "intake":
        return _("预审（综合窗口）")
    return _("第 %(n)s 审查环节") % {"n": target.removeprefix("stage:")}


def event_lines(events: Any, material_names: Mapping[str, str] | None = None) -> list[EventLine]:
    return [EventLine(e, action_label(e.action), event_details(e, material_names)) for e in events]


@dataclass(frozen=True)
class Step:
    label: str
    status: str  # "done" | "current" | "todo" | "stopped"


_STEPS = (
    ("submit", gettext_lazy("提交申请")),
    ("accept", gettext_lazy("受理")),
    ("review", gettext_lazy("审查")),
    ("decide", gettext_lazy("决定")),
    ("deliver", gettext_lazy("送达")),
    ("close", gettext_lazy("办结")),
)
_POSITION = {
    CaseState.DRAFT: 0,
    CaseState.SUBMITTED: 1,
    CaseState.CORRECTION: 1,
    CaseState.IN_REVIEW: 2,
    CaseState.AWAITING_DECISION: 3,
    CaseState.DECIDED: 4,
    CaseState.DELIVERED: 5,
    CaseState.CLOSED: 6,
}


def progress_steps(case: Case) -> list[Step]:
    """The applicant's progress bar: done steps, the current one, what comes next; an
    application refused or withdrawn stops where it was."""
    if case.state in (CaseState.REFUSED, CaseState.WITHDRAWN):
        reached = 2 if case.accepted_at else 1
        steps = [Step(str(label), "done") for _key, label in _STEPS[:reached]]
        ended = _("不予受理") if case.state == CaseState.REFUSED else _("已撤回")
        return [*steps, Step(ended, "stopped")]
    position = _POSITION.get(CaseState(case.state), 0)
    return [
        Step(
            str(label),
            "done" if n < position else "current" if n == position else "todo",
        )
        for n, (_key, label) in enumerate(_STEPS)
    ]
