"""Hot-people pages (D3, D4): the list per area and the person page. Thin: check, ask why, log, render.

Every page that names a person first asks the reason (one tap) and writes one access-log entry with it
(DPA 2018 s.62) before anything is shown. Without a reason nothing personal is shown.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from rasure import people as core
from rasure_web import clock
from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.tenancy import acting_force_id
from rasure_web.crimes.models import Person
from rasure_web.dashboard.selectors import area_choices
from rasure_web.people import erasure, monitoring, services
from rasure_web.people import selectors as sel
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
    page = Paginator(result.rows, _page_size()).get_page(request.GET.get("page"))
    access_log_record(
        user=user,
        action="search" if search else "view",
        resource="people_list",
        object_ref=f"{kind}{' overdue' if overdue else ''} {area}".strip(),
        detail=_detail(reason, [r.entry.person_id for r in page.object_list]),
        request=request,
    )
    keep = urlencode([(k, v) for k, v in request.GET.items() if k != "page"])
    return render(
        request,
        "people/list.html",
        base
        | {
            "result": result,
            "page": page,
            "page_query": keep,
            "reason": reason,
            "reason_text": sel.REASONS[reason],
            "q": search,
        },
    )


def _page_size() -> int:
    return int(getattr(settings, "RASURE_PEOPLE_PAGE_SIZE", 50))


def _people_of_force(user: Any) -> Any:
    """People in the acting force's records: a person known only to another force's does not exist here."""
    return Person.objects.filter(tenant_id=acting_force_id(user))


@login_required
def person_page(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    sel.require_people(user)
    person = get_object_or_404(_people_of_force(user), pk=pk)
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
    pk = get_object_or_404(_people_of_force(request.user), pk=pk).pk
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
    pk = get_object_or_404(_people_of_force(request.user), pk=pk).pk
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


@login_required
def monitor_page(request: HttpRequest) -> HttpResponse:
    """Counts of listed people by rule, area, month, review status and age band: no one named."""
    user = request.user
    sel.require_people(user)
    today = clock.local_today()
    report = monitoring.list_monitor(user=user, as_of=today)
    access_log_record(
        user=user,
        action="view",
        resource="people_monitor",
        detail="list monitoring: counts only, no one named",
        request=request,
    )
    names = monitoring.area_names(acting_force_id(user))
    titles = [(k, t) for k, t in KINDS]
    ctx: dict[str, Any] = {
        "m": report,
        "kinds": titles,
        "series": [(p, [p.by_kind[k] for k, _ in titles]) for p in report.series],
        "area_rows": [
            (names.get(code, code), [row[k] for k, _ in titles]) for code, row in report.area_kind.items()
        ],
        "area_series": _area_series(report, names),
        "status_titles": list(monitoring.pm.STATUS_TITLES.items()),
        "status_rows": [
            (t, [report.status[k][s.value] for s in monitoring.pm.Status], report.share_reviewed[k])
            for k, t in titles
        ],
        "age_bands": monitoring.pm.AGE_BANDS,
        "age_rows": [
            ("Everyone linked to a crime", [report.ages_baseline[b] for b in monitoring.pm.AGE_BANDS])
        ]
        + [("On any list", [report.ages_listed["any"][b] for b in monitoring.pm.AGE_BANDS])]
        + [(t, [report.ages_listed[k][b] for b in monitoring.pm.AGE_BANDS]) for k, t in titles],
        "not_held": monitoring.pm.NOT_HELD,
        "rules": sel.rules(),
        "as_of": today,
    }
    return render(request, "people/monitor.html", ctx)


def _area_series(report: Any, names: dict[str, str]) -> list[tuple[str, list[int]]]:
    codes = sorted({code for p in report.series for code in p.by_area})
    return [(names.get(c, c), [p.by_area.get(c, 0) for p in report.series]) for c in codes]


@login_required
def erase_page(request: HttpRequest) -> HttpResponse:
    """Administrators erase a person's entry on the DPO's decision (one access-log entry, no content)."""
    if not erasure.may_erase(request.user):
        raise PermissionDenied(
            "Erasing a person's entry is for system administrators, on the DPO's decision."
        )
    ctx: dict[str, Any] = {"min_reason": erasure.MIN_REASON, "ref": "", "why": ""}
    if request.method == "POST":
        ctx["ref"] = request.POST.get("person_ref", "")[:64].strip()
        ctx["why"] = request.POST.get("reason", "")[:2000]
        if request.POST.get("confirm") != "yes":
            ctx["error"] = "Tick the box to confirm: erasing cannot be undone."
        else:
            try:
                ctx["done"] = erasure.person_erase(
                    user=request.user,
                    person_ref=ctx["ref"],
                    reason=ctx["why"],
                    request=request,
                    via="web page",
                )
                ctx["ref"] = ctx["why"] = ""
            except erasure.ErasureError as exc:
                ctx["error"] = f"Not erased: {exc}."
    return render(request, "people/erase.html", ctx, status=400 if "error" in ctx else 200)
