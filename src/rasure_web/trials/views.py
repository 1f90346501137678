"""Read-only trial pages for analysts, supervisors and administrators (officers get 403)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from rasure_web.trials import lifecycle, selectors


@login_required
def trial_list(request: HttpRequest) -> HttpResponse:
    return render(request, "trials/trial_list.html", {"trials": selectors.trial_list_for(user=request.user)})


@login_required
def trial_detail(request: HttpRequest, trial_id: int) -> HttpResponse:
    from rasure_web.trials.audit import trial_last_audit

    context = selectors.trial_detail_for(user=request.user, trial_id=trial_id)
    context["last_audit"] = trial_last_audit(trial=context["trial"])
    return render(request, "trials/trial_detail.html", context)


@login_required
def trial_commitment(request: HttpRequest, trial_id: int) -> HttpResponse:
    """The commitment document to publish (no seed, no schedule)."""
    detail = selectors.trial_detail_for(user=request.user, trial_id=trial_id)
    doc = lifecycle.trial_commitment(trial=detail["trial"]).to_json()
    response = HttpResponse(doc + "\n", content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="trial-{trial_id}-commitment.json"'
    return response


@login_required
def trial_results(request: HttpRequest, trial_id: int) -> HttpResponse:
    """The latest stored evaluation of a trial: outcomes, CONSORT flow, displacement, costs, plots."""
    return render(
        request,
        "trials/trial_results.html",
        selectors.trial_results_for(user=request.user, trial_id=trial_id),
    )
