"""Staff pages for policies (工作台 · 政策兑现): the policies the user authors or reviews, a policy
page with its versions and the review chain (合法性审查 → 财政审核), the simulation of a version
with ECharts charts by division and industry and the difference from the published version,
runs with their candidate figures, and the actions: submit, review, start a run, approve or
cancel a run.

Thin: every change is one service call of ``tongban.policies``; permissions are checked there
(403 shown as a banner) and a policy the user has nothing to do with is 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tongban.core.errors import DomainError, NotFound
from tongban.identity.selectors import staff_role_grants
from tongban.policies import access, runs, selectors, services
from tongban.policies.models import Policy, PolicyVersion, ReviewStep, Run, VersionStatus
from tongban.policies.simulation import simulate_version
from tongban.workbench.views import _not_found, _render, staff_only


def _my_departments(user: Any) -> set[int]:
    return {department for _, department in staff_role_grants(user)}


def _visible(user: Any, code: str) -> Policy:
    policy = selectors.get_policy(code)
    if not (access.can_see_policy_work(user, policy) or access.can_approve_run(user, policy)):
        raise NotFound("没有这项政策", code="policy_not_found")
    return policy


@require_GET
@staff_only
def policy_list(request: HttpRequest) -> HttpResponseBase:
    departments = _my_departments(request.user)
    policies = (
        Policy.objects.filter(
            Q(department__in=departments)
            | Q(versions__legality_department__in=departments)
            | Q(versions__finance_department__in=departments)
        )
        .distinct()
        .select_related("department", "published_version")
        .order_by("code")
    )
    pending = PolicyVersion.objects.filter(
        Q(status=VersionStatus.LEGALITY_REVIEW, legality_department__in=departments)
        | Q(status=VersionStatus.FINANCE_REVIEW, finance_department__in=departments)
    ).select_related("policy")
    return _render(
        request, "workbench/policies/list.html", {"policies": policies, "pending": pending}
    )


def _yuan(fen: int | None) -> str:
    return runs.yuan(fen)


@require_GET
@staff_only
def policy_detail(request: HttpRequest, code: str) -> HttpResponseBase:
    try:
        policy = _visible(request.user, code)
    except NotFound as exc:
        return _not_found(request, exc.message)
    versions = list(
        policy.versions.select_related("legality_department", "finance_department").order_by(
            "-number"
        )
    )
    number = request.GET.get("version")
    chosen = next(
        (v for v in versions if str(v.number) == number), versions[0] if versions else None
    )
    simulation = None
    charts: dict[str, Any] = {}
    if chosen is not None and request.GET.get("simulate"):
        try:
            simulation = simulate_version(request.user, chosen)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            charts = {
                "division": [
                    [d["name"], round(d["total_fen"] / 100, 2), d["count"]]
                    for d in simulation.by_division
                ],
                "industry": [
                    [d["name"], round(d["total_fen"] / 100, 2), d["count"]]
                    for d in simulation.by_industry
                ],
                "labels": {"amount": _("金额（元）"), "count": _("对象数")},
            }
    reviews = {
        v.pk: {
            "legality": access.can_review(request.user, v, ReviewStep.LEGALITY)
            and v.status == VersionStatus.LEGALITY_REVIEW,
            "finance": access.can_review(request.user, v, ReviewStep.FINANCE)
            and v.status == VersionStatus.FINANCE_REVIEW,
        }
        for v in versions
    }
    policy_runs = list(Run.objects.filter(policy=policy).select_related("version")[:20])
    return _render(
        request,
        "workbench/policies/detail.html",
        {
            "policy": policy,
            "versions": [
                {
                    "version": v,
                    "budget": _yuan(v.budget_fen),
                    "can": reviews[v.pk],
                    "items": list(v.items.all()),
                }
                for v in versions
            ],
            "chosen": chosen,
            "simulation": simulation,
            "sim_total": _yuan(simulation.total_fen) if simulation else "",
            "sim_budget": _yuan(simulation.budget_fen) if simulation else "",
            "sim_items": [
                {"item": i, "total": _yuan(i.total_fen)}
                for i in (simulation.items if simulation else [])
            ],
            "sim_diff_total": _yuan(simulation.diff.get("total_change_fen"))
            if simulation and simulation.diff
            else "",
            "charts": charts,
            "runs": [{"run": r, "total": _yuan(r.eligible_fen)} for r in policy_runs],
            "can_author": access.can_author(request.user, policy),
            "can_approve": access.can_approve_run(request.user, policy),
            "today": timezone.localdate().isoformat(),
        },
    )


def _back(code: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("workbench:policy", args=[code]))


@require_POST
@staff_only
def policy_action(request: HttpRequest, code: str, action: str) -> HttpResponseBase:
    try:
        policy = _visible(request.user, code)
    except NotFound as exc:
        return _not_found(request, exc.message)
    data = request.POST
    try:
        if action == "submit":
            services.check_submit(request.user, code, int(data.get("version", "0")))
            messages.success(request, _("已提交合法性审查。"))
        elif action == "review":
            services.check_review(
                request.user,
                code,
                int(data.get("version", "0")),
                step=data.get("step", ""),
                approved=data.get("decision") == "approve",
                comment=data.get("comment", ""),
            )
            messages.success(request, _("审核意见已记录。"))
        elif action == "start_run":
            payment_date = (
                dt.date.fromisoformat(data["payment_date"]) if data.get("payment_date") else None
            )
            run = runs.check_start_run(
                request.user, code, period=data.get("period") or None, payment_date=payment_date
            )
            messages.success(
                request,
                _("已生成兑现批次：符合条件 %(n)s 个，数据不足 %(u)s 个。")
                % {"n": run.eligible_count, "u": run.unknown_count},
            )
        elif action == "approve_run":
            report = runs.check_approve_run(request.user, int(data.get("run", "0")))
            messages.success(
                request,
                _("批次已审批：直接拨付 %(i)s 笔，待确认 %(o)s 笔，超出预算 %(b)s 笔。")
                % {"i": report.instructed, "o": report.offered, "b": report.over_budget},
            )
        elif action == "cancel_run":
            runs.check_cancel_run(request.user, int(data.get("run", "0")))
            messages.success(request, _("批次已取消。"))
        else:
            return _not_found(request, _("没有这个操作"))
    except (DomainError, ValueError) as exc:
        message = exc.message if isinstance(exc, DomainError) else str(exc)
        details = "；".join(f"{e.path}：{e.message}" for e in getattr(exc, "errors", []))
        messages.error(request, f"{message}{'：' + details if details else ''}")
    return _back(policy.code)
