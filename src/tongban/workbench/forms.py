"""The workbench's action forms: for each action a staff member may take on a case now (as
``tongban.cases.services.available_actions`` says), the inputs that action needs — reasons, legal
basis, 补正 items picked from the item's materials, opinions, outcome, days, clock-stop kind,
delivery method, send-back target — and the payload read back from a POST.

Nothing is decided here: the service validates the payload and its field errors are put back next
to the inputs they name (``items[1].problem`` → the problem box of the second item ticked).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongban.cases import access, selectors
from tongban.cases.applications import Application
from tongban.cases.models import Case, CaseTask, ClockStopKind, Outcome, TaskState
from tongban.cases.transitions import DELIVERY_METHODS, TOLERANCE_DAYS_DEFAULT
from tongban.core.errors import FieldError
from tongban.portal.case_display import DELIVERY_LABELS, action_label, send_back_target

TASK_ACTIONS = ("approve_task", "reject_task")
ROUTING_ACTIONS = ("countersign", "transfer_task")  # 会签 / 转办 of one task
INT_INPUTS = ("days", "tolerance_days", "verify_within_days", "task", "limit_days")
LIST_INPUTS = ("tolerated",)
# Actions that end or refuse something get the warning style and come last.
DANGER = frozenset({"refuse", "reject_task", "revoke_for_broken_commitment", "send_back"})
# The next step of the ordinary course stays open; other forms start folded away.
PRIMARY = frozenset(
    {"accept", "decide", "deliver", "close", "resume", "approve_on_commitment", "verify_commitment"}
)
_VERIFY_DAYS_DEFAULT = 20


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    selected: bool = False


@dataclass(frozen=True)
class CorrectionRow:
    """One material on the 补正 form: tick it and say what is wrong."""

    key: str
    name: str
    applies: bool
    checked: bool = False
    problem: str = ""
    error: str = ""


@dataclass(frozen=True)
class Input:
    name: str
    label: str
    kind: str  # text | textarea | number | select | radio | checkboxes | items
    required: bool = False
    value: str = ""
    choices: tuple[Choice, ...] = ()
    rows: tuple[CorrectionRow, ...] = ()
    help: str = ""
    error: str = ""
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Button:
    action: str
    label: str
    danger: bool = False


@dataclass(frozen=True)
class ActionForm:
    """One form on the case page; task reviews have one form per task with two buttons."""

    key: str
    title: str
    buttons: tuple[Button, ...]
    inputs: tuple[Input, ...] = ()
    task: CaseTask | None = None
    error: str = ""
    failed: bool = False

    @property
    def anchor(self) -> str:
        return f"act-{self.key}"

    @property
    def collapsed(self) -> bool:
        """Shown folded (a ``<details>``) until opened: forms with inputs that are not the
        ordinary next step, unless they just failed."""
        return (
            bool(self.inputs)
            and not self.failed
            and self.task is None
            and (self.key not in PRIMARY)
        )


# --- building the forms ---------------------------------------------------------------------------


def _reason(required: bool = True, label: Any = None) -> Input:
    return Input("reason", str(label or _("理由")), "textarea", required=required)


def _basis(required: bool = True) -> Input:
    return Input(
        "legal_basis",
        _("法律依据"),
        "text",
        required=required,
        help=_("例如：《中华人民共和国行政许可法》第三十二条"),
    )


def _correction_rows(case: Case, application: Application) -> tuple[CorrectionRow, ...]:
    """The item's materials, those that apply first; after a first notice only its materials
    (补正须一次性告知)."""
    applying = {m.key for m in application.materials}
    notices = list(case.corrections.all())
    named = {i["material"] for i in notices[0].items} if notices else None
    rows = [
        CorrectionRow(m.key, m.name, m.key in applying)
        for m in case.item_version.materials.all()
        if named is None or m.key in named
    ]
    return tuple(sorted(rows, key=lambda r: not r.applies))


def _send_back_choices(case: Case) -> tuple[Choice, ...]:
    tasks = access.case_tasks(case)
    last = max((t.stage for t in tasks), default=0)
    upto = case.current_stage - 1 if case.state == "in_review" else last
    names = {t.stage: t.stage_name for t in tasks}
    choices = [Choice("intake", send_back_target("intake"))]
    choices += [
        Choice(f"stage:{n}", f"{send_back_target(f'stage:{n}')}：{names.get(n, '')}")
        for n in range(1, upto + 1)
    ]
    return tuple(choices)


def _tolerable(case: Case, application: Application) -> tuple[Choice, ...]:
    if not case.item_version.allows_tolerance:
        return ()
    # each one missing must be named (or the applicant told to correct): all ticked at first
    return tuple(Choice(m.key, m.name, True) for m in application.tolerable_missing)


def _single_form(case: Case, action: str, application: Application) -> ActionForm:
    label = action_label(action)
    inputs: tuple[Input, ...] = ()
    if action == "accept":
        tolerable = _tolerable(case, application)
        if tolerable:
            inputs = (
                Input(
                    "tolerated",
                    _("容缺受理的材料（可后补）"),
                    "checkboxes",
                    choices=tolerable,
                    help=_(
                        "未提交的容缺材料须全部列入，送达前补齐；不同意容缺的，请改为补正告知。"
                    ),
                ),
                Input(
                    "tolerance_days",
                    _("补交期限（工作日）"),
                    "number",
                    value=str(TOLERANCE_DAYS_DEFAULT),
                    minimum=1,
                    maximum=20,
                ),
            )
    elif action == "refuse":
        inputs = (_reason(), _basis())
    elif action == "request_correction":
        inputs = (
            Input(
                "items",
                _("需要补正的材料"),
                "items",
                required=True,
                rows=_correction_rows(case, application),
                help=_("一次性列明全部需要补正的材料，并写明每项的问题。"),
            ),
        )
    elif action == "send_back":
        inputs = (
            Input("to", _("退回至"), "select", required=True, choices=_send_back_choices(case)),
            _reason(),
        )
    elif action == "suspend":
        kinds = tuple(Choice(value, str(text)) for value, text in ClockStopKind.choices)
        inputs = (Input("kind", _("特别程序"), "select", required=True, choices=kinds), _reason())
    elif action == "extend":
        room = case.extension_max_days - case.extended_days
        inputs = (
            Input(
                "days",
                _("延长工作日数"),
                "number",
                required=True,
                minimum=1,
                maximum=max(room, 1),
                help=_("本事项最多还可延长 %(days)s 个工作日") % {"days": room},
            ),
            _reason(),
        )
    elif action == "decide":
        outcomes = (
            Choice(Outcome.APPROVED.value, str(Outcome.APPROVED.label)),
            Choice(Outcome.DENIED.value, str(Outcome.DENIED.label)),
        )
        inputs = (
            Input("outcome", _("决定"), "radio", required=True, choices=outcomes),
            Input(
                "reason",
                _("理由"),
                "textarea",
                help=_("不予许可的，须说明理由和法律依据。"),
            ),
            _basis(required=False),
        )
    elif action == "deliver":
        methods = tuple(
            Choice(m, str(DELIVERY_LABELS.get(m, m)), m == "electronic") for m in DELIVERY_METHODS
        )
        inputs = (Input("method", _("送达方式"), "select", required=True, choices=methods),)
    elif action == "approve_on_commitment":
        inputs = (
            Input(
                "verify_within_days",
                _("承诺核查期限（工作日）"),
                "number",
                value=str(_VERIFY_DAYS_DEFAULT),
                minimum=1,
                maximum=120,
            ),
        )
    elif action == "verify_commitment":
        inputs = (Input("finding", _("核查结论"), "textarea"),)
    elif action == "revoke_for_broken_commitment":
        inputs = (_reason(label=_("违诺事实与理由")),)
    elif action not in ("resume", "close"):
        inputs = (_reason(required=False, label=_("说明")),)
    return ActionForm(action, label, (Button(action, label, action in DANGER),), inputs)


def _task_forms(actor: Any, case: Case, actions: Sequence[str]) -> list[ActionForm]:
    wanted = [a for a in TASK_ACTIONS if a in actions]
    if not wanted:
        return []
    forms = []
    for task in access.case_tasks(case):
        if task.state != TaskState.OPEN or not access.is_reviewer_for(actor, task):
            continue
        title = _("审查：%(stage)s · %(department)s") % {
            "stage": task.name or task.stage_name,
            "department": task.department.name,
        }
        forms.append(
            ActionForm(
                f"task-{task.pk}",
                title,
                tuple(Button(a, action_label(a), a in DANGER) for a in wanted),
                (
                    Input(
                        "opinion",
                        _("审查意见"),
                        "textarea",
                        help=_("审查不通过时必须填写意见。"),
                    ),
                ),
                task=task,
            )
        )
    return forms


def _routing_forms(actor: Any, case: Case, actions: Sequence[str]) -> list[ActionForm]:
    """会签 / 转办: one form per open task of the actor's department."""
    wanted = [a for a in ROUTING_ACTIONS if a in actions]
    if not wanted:
        return []
    departments = tuple(Choice(d.code, d.name) for d in selectors.routing_departments(case))
    forms = []
    for task in access.case_tasks(case):
        if task.state != TaskState.OPEN:
            continue
        if not (
            access.is_reviewer_for(actor, task)
            or access.has_role_in(actor, "department_head", task.department_id)
        ):
            continue
        title = _("会签 / 转办：%(stage)s · %(department)s") % {
            "stage": task.name or task.stage_name,
            "department": task.department.name,
        }
        choices = tuple(c for c in departments if c.value != task.department.code)
        forms.append(
            ActionForm(
                f"route-{task.pk}",
                title,
                tuple(Button(a, action_label(a)) for a in wanted),
                (
                    Input("department", _("部门"), "select", required=True, choices=choices),
                    Input(
                        "limit_days",
                        _("会签时限（工作日）"),
                        "number",
                        value=str(task.limit_days),
                        minimum=1,
                        maximum=60,
                        help=_("转办时沿用原期限，不重新计时。"),
                    ),
                    _reason(),
                ),
                task=task,
            )
        )
    return forms


def action_forms(
    actor: Any, case: Case, actions: Sequence[str], application: Application
) -> list[ActionForm]:
    """The forms for ``actions`` (the actions the actor may take now), in the engine's order."""
    forms: list[ActionForm] = []
    tasks_done = routing_done = False
    for action in actions:
        if action in TASK_ACTIONS:
            if not tasks_done:
                forms += _task_forms(actor, case, actions)
                tasks_done = True
            continue
        if action in ROUTING_ACTIONS:
            if not routing_done:
                forms += _routing_forms(actor, case, actions)
                routing_done = True
            continue
        forms.append(_single_form(case, action, application))
    return sorted(forms, key=lambda f: f.key in DANGER)


# --- reading a POST and putting errors back -------------------------------------------------------


def payload_from(data: QueryDict) -> dict[str, Any]:
    """The action payload in a POST: numbers as integers, lists as lists, 补正 items as
    ``{"material", "problem"}`` in the order the materials were ticked."""
    payload: dict[str, Any] = {}
    text_inputs = ("reason", "legal_basis", "opinion", "outcome", "method", "kind", "to", "finding")
    for name in (*text_inputs, "department"):
        value = data.get(name)
        if value is not None:
            payload[name] = value
    for name in INT_INPUTS:
        value = (data.get(name) or "").strip()
        if value:
            # anything but a plain number (too long, other digits) goes on as text: the step
            # then names the field in its 422
            payload[name] = int(value) if re.fullmatch(r"-?[0-9]{1,9}", value) else value
    for name in LIST_INPUTS:
        values = [v for v in data.getlist(name) if v]
        if values:
            payload[name] = values
    if "item" in data:
        payload["items"] = [
            {"material": key, "problem": data.get(f"problem_{key}", "")}
            for key in data.getlist("item")
        ]
    return payload


def _error_target(path: str, payload: Mapping[str, Any]) -> tuple[str, str | None]:
    """(input name, 补正 material key) an error path points at."""
    if path.startswith("items[") and "]" in path:
        index = path[len("items[") : path.index("]")]
        items = payload.get("items") or []
        if index.isdigit() and int(index) < len(items):
            return "items", str(items[int(index)].get("material"))
        return "items", None
    name = path.split("[", 1)[0].split(".", 1)[0]
    return name, None


def with_errors(
    form: ActionForm,
    data: QueryDict,
    payload: Mapping[str, Any],
    message: str,
    errors: Sequence[FieldError],
) -> ActionForm:
    """``form`` as posted, with the service's errors next to the inputs they name and the rest
    (and the message) above the form."""
    by_input: dict[str, list[str]] = {}
    by_item: dict[str, list[str]] = {}
    loose: list[str] = []
    names = {i.name for i in form.inputs}
    for error in errors:
        target, key = _error_target(error.path, payload)
        if key is not None:
            by_item.setdefault(key, []).append(error.message)
        elif target in names:
            by_input.setdefault(target, []).append(error.message)
        else:
            loose.append(error.message)
    inputs = []
    ticked = set(data.getlist("item"))
    for item in form.inputs:
        value = data.get(item.name, item.value) or ""
        choices = tuple(
            replace(
                c,
                selected=(c.value in data.getlist(item.name))
                if item.kind == "checkboxes"
                else c.value == value,
            )
            for c in item.choices
        )
        rows = tuple(
            replace(
                r,
                checked=r.key in ticked,
                problem=data.get(f"problem_{r.key}", ""),
                error="；".join(by_item.get(r.key, [])),
            )
            for r in item.rows
        )
        inputs.append(
            replace(
                item,
                value=value,
                choices=choices,
                rows=rows,
                error="；".join(by_input.get(item.name, [])),
            )
        )
    banner = "；".join([message, *loose]) if loose else message
    return replace(form, inputs=tuple(inputs), error=banner, failed=True)


@dataclass
class BulkResult:
    """What happened to one case of a bulk 受理."""

    number: str
    ok: bool
    message: str
    extra: dict[str, Any] = field(default_factory=dict)


ACTION_DONE: dict[str, Any] = {
    "accept": gettext_lazy("已受理"),
    "refuse": gettext_lazy("已作出不予受理决定"),
    "request_correction": gettext_lazy("已发出补正告知"),
    "approve_task": gettext_lazy("审查意见已提交：通过"),
    "reject_task": gettext_lazy("审查意见已提交：不通过"),
    "send_back": gettext_lazy("已退回"),
    "suspend": gettext_lazy("已中止计时"),
    "resume": gettext_lazy("已恢复计时"),
    "extend": gettext_lazy("已延期"),
    "decide": gettext_lazy("已作出决定"),
    "deliver": gettext_lazy("已送达"),
    "close": gettext_lazy("已办结"),
}


def done_message(action: str) -> str:
    label = ACTION_DONE.get(action)
    return (
        str(label)
        if label is not None
        else _("已完成：%(action)s") % {"action": action_label(action)}
    )
