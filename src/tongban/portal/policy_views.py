"""我的政策 and 政策体检 in the applicant space: the policies each of the applicant's entities (the
person, and the enterprises they hold a valid 经办人授权 for) matches, with the reason; 即申即享
offers with a one-click confirmation; payment status; and the per-condition explanation.

Thin: reads through ``tongban.policies.selectors``, the confirmation through
``tongban.policies.runs.check_confirm_offer``. Anonymous visitors are sent to the login page,
staff get 403, another entity's offer is 404.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tongban.core.errors import Conflict, NotFound
from tongban.core.masking import mask_id_number
from tongban.policies import access, runs, selectors
from tongban.policies.models import Mode, PaymentStatus
from tongban.portal.applicant_views import applicant_only
from tongban.portal.views import not_found


def _entities(request: HttpRequest) -> list[dict[str, Any]]:
    keys = access.entity_keys(request.user)
    person = getattr(request.user, "person", None)
    own_name = person.name if person is not None else ""
    names = {}
    for target in ("person", "enterprise"):
        model = selectors.profile_model(target)
        key = "id_number" if target == "person" else "uscc"
        names.update(
            dict(model.objects.filter(**{f"{key}__in": list(keys)}).values_list(key, "name"))
        )
    return [
        {
            "key": key,
            "target": target,
            "label": names.get(key) or (own_name if target == "person" else key),
            "shown_key": mask_id_number(key) if target == "person" else key,
            "has_profile": key in names,
        }
        for key, target in keys.items()
    ]


def _yuan(fen: int | None) -> str:
    return runs.yuan(fen)


@require_GET
@applicant_only
def my_policies(request: HttpRequest) -> HttpResponseBase:
    entities = _entities(request)
    keys = [e["key"] for e in entities]
    offers = list(selectors.offers_for(keys))
    payments = list(selectors.payments_for(keys)[:50])
    names = selectors.item_names({o.item_code for o in offers} | {p.item_code for p in payments})
    matches: dict[str, list[Any]] = defaultdict(list)
    for entity in entities:
        if not entity["has_profile"]:
            continue
        for check in selectors.check_entity(entity["target"], entity["key"]):
            if check.verdict != "ineligible":
                matches[entity["key"]].append(
                    {
                        "check": check,
                        "amount": _yuan(check.amount_fen),
                        "passed": [
                            leaf.label for leaf in check.explanation.leaves() if leaf.result
                        ],
                    }
                )
    for entity in entities:
        entity["matches"] = matches.get(entity["key"], [])
    return render(
        request,
        "portal/policies/my_policies.html",
        {
            "entities": entities,
            "offers": [
                {
                    "offer": o,
                    "name": names.get(o.item_code, o.item_code),
                    "amount": _yuan(o.amount_fen),
                }
                for o in offers
            ],
            "payments": [
                {
                    "payment": p,
                    "name": names.get(p.item_code, p.item_code),
                    "amount": _yuan(p.amount_fen),
                }
                for p in payments
            ],
            "Mode": Mode,
            "PaymentStatus": PaymentStatus,
        },
    )


@require_GET
@applicant_only
def checkup(request: HttpRequest) -> HttpResponseBase:
    """政策体检: every published payable item for one of the applicant's entities, explained."""
    entities = _entities(request)
    chosen_key = request.GET.get("entity") or (entities[0]["key"] if entities else "")
    entity = next((e for e in entities if e["key"] == chosen_key), None)
    if entity is None:
        return not_found(request, _("没有这个对象的档案"))
    checks: list[Any] = []
    if entity["has_profile"]:
        checks = [
            {"check": c, "amount": _yuan(c.amount_fen), "leaves": c.explanation.leaves()}
            for c in selectors.check_entity(entity["target"], entity["key"])
        ]
    order = {"eligible": 0, "unknown": 1, "ineligible": 2}
    checks.sort(key=lambda c: (order[c["check"].verdict], c["check"].policy.code))
    return render(
        request,
        "portal/policies/checkup.html",
        {"entities": entities, "entity": entity, "checks": checks},
    )


@require_POST
@applicant_only
def confirm_offer(request: HttpRequest, offer_id: int) -> HttpResponseBase:
    """即申即享: one click confirms the offer; the payment instruction follows at once."""
    try:
        instruction = runs.check_confirm_offer(request.user, offer_id)
    except NotFound:
        return not_found(request, _("没有这条待确认的兑现"))
    except Conflict as exc:
        messages.warning(request, exc.message)
    else:
        messages.success(
            request,
            _("已确认，%(amount)s 元将拨付到您登记的账户。")
            % {"amount": _yuan(instruction.amount_fen)},
        )
    return HttpResponseRedirect(reverse("portal:my_policies"))
