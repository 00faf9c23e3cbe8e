"""修改情形: answer a draft's 情形 questions anew from its form page, without starting over.

The questions are shown with the draft's answers; changing one re-asks the guide (htmx, or a
plain post without script) so follow-up questions appear and those that no longer apply go. On
saving, ``tongban.cases.applications.check_change_answers`` decides what applies: form values of
fields that no longer apply are dropped, files stay on the draft, and shared data is asked again
for what now applies. Every question the new answers lead to must be answered (422, nothing
changed). Anonymous → login, staff → 403, another applicant's draft → 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tongban.cases import applications
from tongban.cases.models import Case
from tongban.catalog.guide import evaluate, spec_for
from tongban.core.errors import DomainError, ValidationFailed
from tongban.portal import forms
from tongban.portal.applicant_views import applicant_only, open_draft
from tongban.sharing.services import check_fill_draft


def _context(case: Case, raw: dict[str, Any], errors: dict[str, str], error: str = "") -> dict:
    spec = spec_for(case.item_version)
    answers, parse_errors = forms.parse_with_errors(spec, raw)
    result = evaluate(spec, answers)
    questions = forms.question_fields(spec, result, raw, {**parse_errors, **errors})
    return {
        "case": case,
        "questions": questions,
        "errors": [q for q in questions if q.error],
        "pending": any(q.state == "pending" for q in result.questions),
        "complete": result.complete and not parse_errors,
        "error": error,
    }


def _unanswered(context: dict[str, Any]) -> dict[str, str]:
    return {q.key: _("请回答这个问题") for q in context["questions"] if not q.answer_display}


@require_http_methods(["GET", "POST"])
@applicant_only
def draft_answers(request: HttpRequest, draft_id: int) -> HttpResponseBase:
    case = open_draft(request, draft_id)
    if not isinstance(case, Case):
        return case
    if request.method == "GET":
        context = _context(case, dict(case.answers or {}), {})
        return render(request, "portal/draft_answers.html", context)

    raw = forms.raw_answers(spec_for(case.item_version), request.POST)
    context = _context(case, raw, {})
    if request.headers.get("HX-Request") and request.POST.get("intent") != "save":
        return render(request, "portal/_draft_answers_form.html", context)
    if not context["complete"] or context["errors"]:
        context = _context(case, raw, _unanswered(context), _("请回答全部情形问题，再保存。"))
        return render(request, "portal/draft_answers.html", context, status=422)
    try:
        applications.check_change_answers(request.user, case.pk, raw)
    except ValidationFailed as exc:
        found = {e.path.removeprefix("answers."): e.message for e in exc.errors}
        context = _context(case, raw, found, exc.message)
        return render(request, "portal/draft_answers.html", context, status=422)
    except DomainError as exc:
        context = _context(case, raw, {}, exc.message)
        return render(request, "portal/draft_answers.html", context, status=409)
    check_fill_draft(request.user, case.pk)  # what now applies may come from shared data
    messages.success(request, _("情形已修改，申请表和材料清单已按新的回答调整。"))
    return HttpResponseRedirect(reverse("portal:draft", args=[case.pk]))
