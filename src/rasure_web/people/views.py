"""Hot-people pages (D3, D4): the list per area and the person page. Thin: check, ask why, log, render.

Every page that names a person first asks the reason (one tap) and writes one access-log entry with it
(DPA 2018 s.62) before anything is shown. Without a reason nothing personal is shown.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from rasure import people as core
from rasure_web import clock
from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.tenancy import acting_force_id
from rasure_web.crimes.models import Person
from rasure_web.dashboard.selectors import area_choices
from rasure_web.people import selectors as sel
from rasure_web.people import services
from rasure_web.people.models import PersonReview

KINDS = [(k.value, core.LIST_TITLES[k]) for k in core.ListKind]


def _reason(request: HttpRequest) -> str:
    code = (request.POST.get("reason") or request.GET.get("reason") or "")[:32]
    return code if code in sel.REASONS else ""


def _ask_reason(request: HttpRequest, what: str) -> HttpResponse:
    query = {k: v for k, v in request.GET.items() if k != "reason"}
    return render(
        request,
        "people/reason.html",
        {"what": what, "reasons": sel.REASONS.items(), "query": query.items()},
    )


def _detail(reason: str, shown: list[str]) -> str:
    text = f"reason={reason} ({sel.REASONS[reason]})"
    return f"{text}; shown: {', '.join(shown)}" if shown else text


@login_required
def people_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    sel.require_aggregates(user)
    area = request.GET.get("area", "")[:64]
    kind = request.GET.get("list", core.ListKind.HARM.value)
    if kind not in core.ListKind.__members__.values():
        kind = core.ListKind.HARM.value
    today = clock.local_today()
    base = {"areas": area_choices(user=user), "area": area, "kinds": KINDS, "kind": kind, "as_of": today}
    base |= {"inputs": core.SCORE_INPUTS, "not_inputs": core.NOT_INPUTS, "rules": sel.rules()}
    if not sel.has_intelligence(user):
        counts = sel.list_counts(user=user, as_of=today, area_code=area)
        rows = [(title, counts[k]) for k, title in KINDS]
        return render(request, "people/aggregates.html", base | {"counts": rows})
    reason = _reason(request)
    if not reason:
        return _ask_reason(request, "the list of people")
    search = request.GET.get("q", "")[:64].strip()
    overdue = request.GET.get("overdue") == "1"
    result = sel.people_list(
        user=user, kind=kind, as_of=today, area_code=area, search=search, overdue=overdue
    )
    access_log_record(
        user=user,
        action="search" if search else "view",
        resource="people_list",
        object_ref=f"{kind}{' overdue' if overdue else ''} {area}".strip(),
        detail=_detail(reason, [r.entry.person_id for r in result.rows]),
        request=request,
    )
    return render(
        request,
        "people/list.html",
        base | {"result": result, "reason": reason, "reason_text": sel.REASONS[reason], "q": search},
    )


@login_required
def person_page(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    sel.require_people(user)
    # a person known only to another force's records does not exist here
    mine = Person.objects.filter(crimes__record__tenant_id=acting_force_id(user)).distinct()
    person = get_object_or_404(mine, pk=pk)
    reason = _reason(request)
    if not reason:
        return _ask_reason(request, "this person's page")
    today = clock.local_today()
    view = sel.person_detail(user=user, pk=person.pk, as_of=today)
    access_log_record(
        user=user,
        action="view",
        resource="person",
        object_ref=person.person_id,
        detail=_detail(reason, [person.person_id]),
        request=request,
    )
    ctx: dict[str, Any] = {
        "v": view,
        "reason": reason,
        "reason_text": sel.REASONS[reason],
        "today": today,
        "decisions": PersonReview.Decision.choices,
        "inputs": core.SCORE_INPUTS,
        "not_inputs": core.NOT_INPUTS,
        "rules": sel.rules(),
        "saved": request.GET.get("saved", ""),
        "error": request.GET.get("error", "")[:200],
    }
    return render(request, "people/person.html", ctx)


def _back(pk: int, reason: str, **extra: str) -> HttpResponse:
    return redirect(f"/dashboard/people/{pk}/?{urlencode({'reason': reason or 'review', **extra})}")


@login_required
def person_review(request: HttpRequest, pk: int) -> HttpResponse:
    sel.require_people(request.user)
    pk = get_object_or_404(Person, pk=pk).pk
    if request.method != "POST":
        return _back(pk, _reason(request))
    try:
        services.review_record(
            user=request.user,
            person_pk=pk,
            decision=request.POST.get("decision", ""),
            note=request.POST.get("note", ""),
        )
    except ValueError as exc:
        return _back(pk, _reason(request), error=f"Review not saved: {exc}.")
    return _back(pk, _reason(request), saved="review")


@login_required
def person_plan(request: HttpRequest, pk: int) -> HttpResponse:
    sel.require_people(request.user)
    pk = get_object_or_404(Person, pk=pk).pk
    if request.method != "POST":
        return _back(pk, _reason(request))
    owner = request.POST.get("owner", "").strip()
    actions = request.POST.get("actions", "").strip()
    try:
        review_date = date.fromisoformat(request.POST.get("review_date", ""))
    except ValueError:
        return _back(
            pk, _reason(request), error="Plan not saved: the review date must be a date (YYYY-MM-DD)."
        )
    if not owner or not actions:
        return _back(pk, _reason(request), error="Plan not saved: it needs an owner and at least one action.")
    services.plan_save(
        user=request.user,
        person_pk=pk,
        owner=owner,
        partner_agencies=request.POST.get("partner_agencies", ""),
        actions=actions,
        review_date=review_date,
    )
    return _back(pk, _reason(request), saved="plan")


@login_required
def access_page(request: HttpRequest) -> HttpResponse:
    """Who viewed whom, when and why: for the data protection officer (administrators)."""
    person_id = request.GET.get("person", "")[:64].strip()
    rows = sel.access_history(user=request.user, person_id=person_id)
    access_log_record(
        user=request.user,
        action="view",
        resource="people_access_log",
        object_ref=person_id,
        detail="data protection review of who viewed whom",
        request=request,
    )
    return render(request, "people/access.html", {"rows": rows, "person": person_id})
