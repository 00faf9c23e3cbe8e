"""Written notices and decisions of a case (办件文书) as PDF: 受理通知书, 补正告知书,
不予受理决定书, 准予行政许可决定书 and 不予行政许可决定书.

A case's notices are derived from its event trail — nothing is stored: each ``accept``,
``request_correction``, ``refuse``, ``decide``, ``instant_decision`` (智能秒办) and
``approve_on_commitment`` (告知承诺) event issues one document, numbered
``〔<year>〕<word>字第 <case number>[-<n>] 号`` (the year of the event, a word per kind, ``-n`` for
the n-th document of a kind on one case from the second on). The text comes from the event
(reasons, listed materials, legal basis, dates) and the case, so the same event always renders
to the same bytes. Who may download: whoever may see the case (``tongban.cases.access``); the
applicant and handling staff get the document as served, with the applicant's full identity
(staff downloads are logged as personal-data access), other staff who may see the case (e.g.
supervisors) a copy with the name and ID number masked.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from tongban.cases import access, selectors
from tongban.cases.models import Case, CaseEvent, Outcome
from tongban.core.errors import NotFound
from tongban.core.masking import mask_id_number, mask_name
from tongban.core.pdf import GovernmentDocument, QrCode, numeric_date
from tongban.identity.services import record_personal_data_access


@dataclass(frozen=True)
class NoticeKind:
    slug: str
    title: str
    number_word: str  # 文号 word: 〔2025〕受字第 … 号


ACCEPTANCE: Final = NoticeKind("acceptance", gettext_noop("受理通知书"), "受")
CORRECTION: Final = NoticeKind("correction", gettext_noop("补正告知书"), "补")
REFUSAL: Final = NoticeKind("refusal", gettext_noop("不予受理决定书"), "不受")
APPROVAL: Final = NoticeKind("approval", gettext_noop("准予行政许可决定书"), "准许")
DENIAL: Final = NoticeKind("denial", gettext_noop("不予行政许可决定书"), "不许")
KINDS: Final = {k.slug: k for k in (ACCEPTANCE, CORRECTION, REFUSAL, APPROVAL, DENIAL)}

# event actions that issue a document
NOTICE_ACTIONS: Final = (
    "accept",
    "request_correction",
    "refuse",
    "decide",
    "instant_decision",
    "approve_on_commitment",
)

REMEDIES: Final = (
    "如不服本决定，可以自收到本决定书之日起六十日内依法申请行政复议，"
    "或者自收到本决定书之日起六个月内依法向人民法院提起行政诉讼"
    "（《中华人民共和国行政复议法》第二十条、《中华人民共和国行政诉讼法》第四十六条）。"
)
DOWNLOAD_PURPOSE: Final = "下载办件文书"


@dataclass(frozen=True)
class Notice:
    """One document of a case: which kind, from which event, its 文号 and its file name."""

    kind: NoticeKind
    event: CaseEvent
    number: str
    ordinal: int  # 1 for the first document of this kind on the case

    @property
    def key(self) -> str:
        """Stable address within the case: ``correction-4`` (kind and event sequence)."""
        return f"{self.kind.slug}-{self.event.sequence}"

    @property
    def title(self) -> str:
        return self.kind.title

    @property
    def issued_at(self) -> dt.datetime:
        return timezone.localtime(self.event.at)

    def filename(self, case: Case) -> str:
        suffix = f"-{self.ordinal}" if self.ordinal > 1 else ""
        return f"{self.kind.title}-{case.number}{suffix}.pdf"

    def ascii_filename(self, case: Case) -> str:
        suffix = f"-{self.ordinal}" if self.ordinal > 1 else ""
        return f"{self.kind.slug}-{case.number}{suffix}.pdf"


def _kind_of(case: Case, event: CaseEvent) -> NoticeKind | None:
    if event.action == "accept":
        return ACCEPTANCE
    if event.action == "request_correction":
        return CORRECTION
    if event.action == "refuse":
        return REFUSAL
    if event.action == "approve_on_commitment":
        return APPROVAL
    if event.action == "decide":
        outcome = (event.data or {}).get("outcome")
    elif event.action == "instant_decision":
        # the event names the rule, the case holds the outcome (revoked only after approval)
        outcome = Outcome.APPROVED if case.outcome == Outcome.REVOKED else case.outcome
    else:
        return None
    if outcome == Outcome.APPROVED:
        return APPROVAL
    if outcome == Outcome.DENIED:
        return DENIAL
    return None


def notices_of(case: Case, events: Iterable[CaseEvent] | None = None) -> list[Notice]:
    """The documents ``events`` (default: all of the case's events) issue, in order."""
    if events is None:
        events = case.events.filter(action__in=NOTICE_ACTIONS).order_by("sequence")
    counts: dict[str, int] = {}
    notices = []
    for event in sorted(events, key=lambda e: e.sequence):
        kind = _kind_of(case, event)
        if kind is None:
            continue
        counts[kind.slug] = ordinal = counts.get(kind.slug, 0) + 1
        suffix = f"-{ordinal}" if ordinal > 1 else ""
        year = timezone.localtime(event.at).year
        number = f"〔{year}〕{kind.number_word}字第 {case.number}{suffix} 号"
        notices.append(Notice(kind=kind, event=event, number=number, ordinal=ordinal))
    return notices


def visible_notices(actor: Any, case: Case) -> list[Notice]:
    """The documents ``actor`` (already allowed to see ``case``) may download; an applicant
    gets those from the events shown to them."""
    events = case.events.filter(action__in=NOTICE_ACTIONS).order_by("sequence")
    if _applicant_only(actor, case):
        events = events.filter(visible_to_applicant=True)
    return notices_of(case, events)


def _applicant_only(actor: Any, case: Case) -> bool:
    return access.is_case_applicant(actor, case) and not access.is_case_staff(actor, case)


def find_notice(notices: list[Notice], key: str) -> Notice:
    """``acceptance`` (the latest of the kind) or ``correction-4`` (from event 4)."""
    slug, _, sequence = key.partition("-")
    matches = [n for n in notices if n.kind.slug == slug]
    if sequence:  # an event number in plain digits; anything else (², 5,000 digits) has none
        number = int(sequence) if re.fullmatch(r"[0-9]{1,9}", sequence) else None
        matches = [n for n in matches if n.event.sequence == number]
    if slug not in KINDS or not matches:
        title = KINDS[slug].title if slug in KINDS else key
        raise NotFound(f"该办件没有{title}", code="notice_not_found")
    return matches[-1]


# --- download -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeFile:
    content: bytes
    filename: str
    ascii_filename: str
    masked: bool

    @property
    def content_disposition(self) -> str:
        """``attachment`` with an ASCII fallback name and the Chinese name (RFC 6266/5987)."""
        return (
            f'attachment; filename="{self.ascii_filename}"; '
            f"filename*=UTF-8''{quote(self.filename, safe='')}"
        )


def _handling_staff(actor: Any, case: Case) -> bool:
    return access.is_window_for(actor, case) or access.is_case_staff(actor, case)


def shows_applicant_in_full(actor: Any, case: Case) -> bool:
    """The applicant and handling staff get documents as served; others a masked copy."""
    return access.is_case_applicant(actor, case) or _handling_staff(actor, case)


def check_download_notice(
    actor: Any, number: str, key: str, *, progress_url: str = ""
) -> NoticeFile:
    """The PDF of one notice of case ``number`` for ``actor``: 404 when the actor may not see
    the case or the case has no such notice. The applicant's own copy and handling staff's copy
    show the applicant in full (staff downloads are logged, 个人信息访问记录); anyone else
    allowed to see the case gets the name and ID number masked.

    The PDF is drawn outside any transaction (no write lock is held while drawing); the access
    record is one row written after it, so a failed rendering logs nothing."""
    case = selectors.case_for(actor, number)
    notice = find_notice(visible_notices(actor, case), key)
    masked = not shows_applicant_in_full(actor, case)
    content = render_notice(case, notice, masked=masked, progress_url=progress_url)
    # an enterprise's notice names the enterprise only: no personal data in it
    person = case.applicant_person if case.applicant_enterprise is None else None
    if person is not None and not masked and not access.is_case_applicant(actor, case):
        with transaction.atomic():
            record_personal_data_access(
                actor, person, f"{DOWNLOAD_PURPOSE}：{notice.title} {notice.number}"
            )
    return NoticeFile(
        content=content,
        filename=notice.filename(case),
        ascii_filename=notice.ascii_filename(case),
        masked=masked,
    )


# --- the documents ------------------------------------------------------------------------------


def _applicant(case: Case, *, masked: bool) -> tuple[str, list[tuple[str, str]]]:
    """The addressee line and the applicant rows of the facts table."""
    if case.applicant_enterprise is not None:
        enterprise = case.applicant_enterprise
        return enterprise.name, [
            ("申请人", enterprise.name),
            ("统一社会信用代码", enterprise.uscc),
        ]
    person = case.applicant_person
    if person is None:
        return "申请人", []
    name = mask_name(person.name) if masked else person.name
    id_number = mask_id_number(person.id_number) if masked else person.id_number
    return name, [("申请人", name), ("身份证件号码", id_number)]


def _date(value: dt.datetime | None) -> str:
    return numeric_date(timezone.localtime(value).date()) if value else "—"


def _iso_date(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _facts(rows: list[tuple[str, str]], doc: GovernmentDocument) -> None:
    doc.table(["项目", "内容"], [[k, v] for k, v in rows], widths=[0.3, 0.7])


def render_notice(case: Case, notice: Notice, *, masked: bool, progress_url: str = "") -> bytes:
    """The PDF of ``notice``; ``progress_url`` adds a QR code to the case's progress page."""
    issued = notice.issued_at
    doc = GovernmentDocument(
        title=notice.title,
        number=notice.number,
        issued_at=issued,
        author=case.department.name,
        subject=f"{case.item_name} {case.number}",
        keywords=[notice.title, case.item_name, case.number or ""],
    )
    addressee, applicant_rows = _applicant(case, masked=masked)
    doc.addressee(f"{addressee}：")
    application = f"你（单位）于{_date(case.submitted_at)}提出的“{case.item_name}”申请（办件编号：{case.number}）"
    basics = [("事项名称", case.item_name), ("办件编号", case.number or ""), *applicant_rows]
    basics.append(("申请日期", _date(case.submitted_at)))
    BUILDERS[notice.kind.slug](case, notice, doc, application, basics)
    qr = QrCode(caption="扫码查看办理进度", text=progress_url) if progress_url else None
    doc.signature(case.department.name, issued.date(), qr=qr)
    return doc.render()


def _acceptance(
    case: Case,
    notice: Notice,
    doc: GovernmentDocument,
    application: str,
    basics: list[tuple[str, str]],
) -> None:
    data = notice.event.data or {}
    due = _iso_date(data.get("due_date"))
    days = case.promised_limit_days
    doc.paragraph(
        f"{application}，经审查，申请事项属于本机关职权范围，申请材料齐全、符合法定形式，"
        "根据《中华人民共和国行政许可法》第三十二条第一款第（五）项的规定，决定予以受理。"
    )
    if days:
        limit = f"自受理之日起{days}个工作日内" + (f"（{numeric_date(due)}前）" if due else "")
        doc.paragraph(
            f"本机关将{limit}作出决定。依法需要听证、招标、拍卖、检验、检测、检疫、鉴定和"
            "专家评审的，所需时间不计算在上述期限内，本机关将另行书面告知。"
        )
    else:
        doc.paragraph("本事项为即办件，本机关将当场作出决定。")
    rows = [*basics, ("受理日期", numeric_date(notice.issued_at.date()))]
    rows.append(("承诺办结时限", f"{days}个工作日" if days else "即办"))
    if due:
        rows.append(("办结期限", numeric_date(due)))
    _facts(rows, doc)
    tolerated_keys = set(data.get("tolerated", []))
    if tolerated_keys:
        tolerance_due = _iso_date(data.get("tolerance_due"))
        # this acceptance's materials: a later one (after 退回) may tolerate the same again
        named = {t.material_key: t.material_name for t in case.tolerated.all()}
        names = [named[k] for k in data.get("tolerated", []) if k in named]
        by = f"于{numeric_date(tolerance_due)}前" if tolerance_due else "在规定期限内"
        doc.paragraph(
            f"下列材料按容缺受理，请你（单位）{by}补交；材料补齐前，办理结果暂不送达："
            + "；".join(f"{n}. {name}" for n, name in enumerate(names, start=1))
            + "。"
        )
    doc.paragraph("你（单位）可登录通办“我的办件”查询办理进度。")


def _correction(
    case: Case,
    notice: Notice,
    doc: GovernmentDocument,
    application: str,
    basics: list[tuple[str, str]],
) -> None:
    items = (notice.event.data or {}).get("items", [])
    doc.paragraph(
        f"{application}，经审查，申请材料不齐全或者不符合法定形式。根据《中华人民共和国"
        "行政许可法》第三十二条第一款第（四）项的规定，现一次性告知你（单位）需要补正的"
        f"全部内容（共{len(items)}项）如下："
    )
    doc.table(
        ["序号", "材料名称", "需要补正的内容及原因"],
        [
            [str(n), item.get("name", ""), item.get("problem", "")]
            for n, item in enumerate(items, 1)
        ],
        widths=[0.12, 0.33, 0.55],
    )
    doc.paragraph(
        "请你（单位）按上述要求补正后，登录通办“我的办件”在线提交补正材料，或者携带补正材料到"
        f"{case.department.name}受理窗口提交。补正材料齐全、符合法定形式的，本机关将予以受理；"
        "本告知书所列以外的材料，本机关不再要求补正。"
    )
    _facts(basics, doc)


def _remedies(doc: GovernmentDocument) -> None:
    doc.paragraph(REMEDIES)


def _refusal(
    case: Case,
    notice: Notice,
    doc: GovernmentDocument,
    application: str,
    basics: list[tuple[str, str]],
) -> None:
    event = notice.event
    basis = (event.data or {}).get("legal_basis", "")
    doc.paragraph(f"{application}，经审查，本机关决定不予受理。")
    doc.heading("一、不予受理的理由")
    doc.paragraph(event.reason or "—")
    doc.heading("二、法律依据")
    doc.paragraph(basis or "—")
    doc.heading("三、救济途径")
    _remedies(doc)
    _facts(basics, doc)


def _decision_rows(
    case: Case, notice: Notice, basics: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    rows = [*basics, ("受理日期", _date(case.accepted_at))]
    rows.append(("决定日期", numeric_date(notice.issued_at.date())))
    return rows


def _approval(
    case: Case,
    notice: Notice,
    doc: GovernmentDocument,
    application: str,
    basics: list[tuple[str, str]],
) -> None:
    event = notice.event
    data = event.data or {}
    basis = data.get("legal_basis") or case.item_version.legal_basis
    if event.action == "approve_on_commitment":
        doc.paragraph(
            f"{application}，你（单位）已书面承诺符合法定条件、标准，本机关依告知承诺制，"
            "根据《中华人民共和国行政许可法》第三十八条第一款的规定，决定准予行政许可。"
        )
        verification_due = _iso_date(data.get("verification_due"))
        if verification_due:
            doc.paragraph(
                f"请你（单位）于{numeric_date(verification_due)}前备齐所承诺的材料，接受本机关"
                "核查；经核查发现承诺不实的，本机关将依法撤销本决定，并记入信用记录。"
            )
    else:
        doc.paragraph(
            f"{application}，本机关于{_date(case.accepted_at)}受理。经审查，申请符合法定条件、"
            "标准，根据《中华人民共和国行政许可法》第三十八条第一款的规定，决定准予行政许可。"
        )
        if event.action == "instant_decision":
            rule = data.get("rule", "")
            doc.paragraph(
                "本决定由系统依据公布的审批规则"
                + (f"（{rule}）" if rule else "")
                + "当场作出（智能秒办）。"
            )
    if event.reason and event.action != "approve_on_commitment":
        doc.paragraph(f"说明：{event.reason}")
    if basis:
        doc.paragraph(f"依据：{basis}")
    if case.item_version.result_name:
        doc.paragraph(f"行政许可证件：{case.item_version.result_name}（以本机关颁发的证件为准）。")
    _facts(_decision_rows(case, notice, basics), doc)


def _denial(
    case: Case,
    notice: Notice,
    doc: GovernmentDocument,
    application: str,
    basics: list[tuple[str, str]],
) -> None:
    event = notice.event
    basis = (event.data or {}).get("legal_basis") or case.decision_basis
    doc.paragraph(
        f"{application}，本机关于{_date(case.accepted_at)}受理。经审查，申请不符合法定条件、"
        "标准，根据《中华人民共和国行政许可法》第三十八条第二款的规定，决定不予行政许可。"
    )
    doc.heading("一、不予行政许可的理由")
    doc.paragraph(event.reason or "—")
    doc.heading("二、法律依据")
    doc.paragraph(basis or "—")
    doc.heading("三、救济途径")
    _remedies(doc)
    _facts(_decision_rows(case, notice, basics), doc)


BUILDERS: Final = {
    ACCEPTANCE.slug: _acceptance,
    CORRECTION.slug: _correction,
    REFUSAL.slug: _refusal,
    APPROVAL.slug: _approval,
    DENIAL.slug: _denial,
}
