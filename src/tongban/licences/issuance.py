"""Issuing a licence from a decided case (准予) and revoking it when the decision is revoked.

``CaseOutcomeListener`` is registered with ``tongban.cases.outcomes`` and runs inside the
decision's transaction: the licence exists exactly when the decision does. The licence's content
comes from the case through each field's ``source`` (``form.<key>``, ``answer.<key>``,
``applicant.name``, ``applicant.identifier``, ``case.number``, ``case.item_name``,
``case.decided_on``, ``department.name``). An item whose ``result_licence_type`` has no
configured licence type issues nothing and says so in the log (a configuration gap must not
block decisions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from django.utils import timezone

from tongban.licences import services
from tongban.licences.models import LicenceType

if TYPE_CHECKING:
    from tongban.cases.models import Case
    from tongban.identity.models import User

logger = structlog.get_logger(__name__)


def field_value(case: Case, source: str) -> Any:
    kind, _, key = source.partition(".")
    holder = case.applicant_enterprise or case.applicant_person
    if kind == "form":
        return (case.form_data or {}).get(key, "")
    if kind == "answer":
        return (case.answers or {}).get(key, "")
    if source == "applicant.name":
        return getattr(holder, "name", "")
    if source == "applicant.identifier":
        return getattr(holder, "uscc", None) or getattr(holder, "id_number", "")
    if source == "case.number":
        return case.number or ""
    if source == "case.item_name":
        return case.item_name
    if source == "case.decided_on":
        decided = case.decided_at or timezone.now()
        return timezone.localdate(decided).isoformat()
    if source == "department.name":
        return case.department.name
    return ""


def licence_data(licence_type: LicenceType, case: Case) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for spec in licence_type.fields:
        key = spec.get("key")
        if key:
            data[key] = field_value(case, str(spec.get("source", "")))
    return data


def issue_for_case(case: Case, actor: User | None) -> None:
    code = case.item_version.result_licence_type
    if not code:
        return
    licence_type = (
        LicenceType.objects.select_related("department__division")
        .filter(code=code, active=True)
        .first()
    )
    if licence_type is None:
        logger.warning("licences.type_not_configured", case=case.number, licence_type=code)
        return
    person = case.applicant_person
    enterprise = case.applicant_enterprise
    if enterprise is None and person is None:
        person = getattr(case.submitted_by, "person", None)
    if enterprise is not None:
        person = None
    services.do_issue(
        licence_type,
        holder_person=person,
        holder_enterprise=enterprise,
        data=licence_data(licence_type, case),
        actor=actor,
        case_number=case.number or "",
    )


class CaseOutcomeListener:
    """Registered as ``licences`` in ``tongban.cases.outcomes``."""

    def case_approved(self, case: Case, actor: User | None) -> None:
        issue_for_case(case, actor)

    def case_revoked(self, case: Case, actor: User | None, reason: str) -> None:
        services.do_revoke_for_case(case.number or "", actor, reason)
