"""The programme page (S3–S6): outputs, operations register, training coverage and the delivery model."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from rasure.spreadsheet import neutralise_cell
from rasure_web import clock
from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.models import Profile, Team
from rasure_web.accounts.tenancy import acting_force_id, only_force
from rasure_web.crimes.models import Area
from rasure_web.dashboard.selectors import require_dashboard
from rasure_web.programme import delivery, recognition, services
from rasure_web.programme.models import Operation


@login_required
def programme_page(request: HttpRequest) -> HttpResponse:
    require_dashboard(request.user)
    today = clock.local_today()  # the installation's time zone (TIME_ZONE)
    # the acting force's programme (an account of no force on a several-force installation: a force
    # that does not exist, so nothing)
    force_id = acting_force_id(request.user) or -1
    grid = services.step_grid(force_id)
    ctx = {
        "out": services.programme_outputs(today=today, force_id=force_id),
        "operations": services.operations(force_id),
        "training": services.training_picture(today=today, force_id=force_id),
        "grid": grid,
        "grid_rows": grid.rows(),
        "today": today,
    }
    return render(request, "programme/programme.html", ctx)


@login_required
def operation_page(request: HttpRequest, pk: int) -> HttpResponse:
    require_dashboard(request.user)
    t = acting_force_id(request.user)
    ops = Operation.objects.filter(Q(force_id=t) | Q(force__isnull=True))  # another force's: 404
    op = get_object_or_404(ops.select_related("force", "analysis_run"), pk=pk)
    area = Area.objects.filter(kind=Area.Kind.LPA, code=op.lpa_code, tenant_id=op.force_id or t).first()
    return render(
        request,
        "programme/operation.html",
        {
            "op": op,
            "area_name": area.name if area else op.lpa_code,
            "hotspots": list(op.hotspots.order_by("period", "rank")),
            "activities": [a for a in op.activities.splitlines() if a.strip()],
            "results": [r for r in op.results.splitlines() if r.strip()],
        },
    )


# ----------------------------------------------------------------- delivery, from command to officer (S1, S2)


def _delivery(request: HttpRequest) -> tuple[delivery.Viewer, delivery.Delivery]:
    from rasure_web.trials.selectors import patrol_rules_for

    viewer = delivery.viewer_for(request.user)
    rules = patrol_rules_for(when=clock.now(), force_id=acting_force_id(request.user))
    target = rules.target_dose.total_seconds() / 60
    return viewer, delivery.delivery(
        today=rules.trial_day,
        target_minutes=target,
        weeks=_weeks(request),
        force_id=acting_force_id(request.user) or -1,  # no force: nothing
    )


def _weeks(request: HttpRequest) -> int:
    raw = request.GET.get("weeks", "8")
    if not raw.isdigit() or not 1 <= int(raw) <= 52:
        raise BadRequest("weeks must be a whole number from 1 to 52")
    return int(raw)


def _render(request: HttpRequest, d: delivery.Delivery, node: delivery.Node, **ctx: Any) -> HttpResponse:
    ctx.update(d=d, node=node, week_rows=list(reversed(node.series(d.mondays))))
    return render(request, "programme/delivery.html", ctx)


def _refuse_officer(viewer: delivery.Viewer) -> HttpResponse | None:
    if viewer.officer_id is not None:
        return redirect("programme:officer", pk=viewer.officer_id)
    return None


@login_required
def delivery_force(request: HttpRequest) -> HttpResponse:
    viewer, d = _delivery(request)
    if (r := _refuse_officer(viewer)) is not None:
        return r
    return _render(request, d, d.force, level="force", rows=list(d.lpas.values()), viewer=viewer)


@login_required
def delivery_area(request: HttpRequest) -> HttpResponse:
    viewer, d = _delivery(request)
    if (r := _refuse_officer(viewer)) is not None:
        return r
    code = request.GET.get("lpa", "")[:64]
    node = d.lpas.get(code) or delivery.Node(code, code or "No area")
    return _render(request, d, node, level="area", rows=d.teams_in(code), viewer=viewer)


@login_required
def delivery_team(request: HttpRequest, pk: int) -> HttpResponse:
    viewer, d = _delivery(request)
    if (r := _refuse_officer(viewer)) is not None:
        return r
    team = get_object_or_404(Team, pk=pk, force_id=acting_force_id(request.user))  # another force's: 404
    key = str(team.pk)
    if not viewer.may_see_team(key):
        raise PermissionDenied("Officers' figures are shown to their own team's supervisors and to command.")
    node = d.teams.get(key) or delivery.Node(key, team.name)
    access_log_record(
        user=request.user, action="view", resource="team_delivery", object_ref=team.code, request=request
    )
    support = d.support_list(key) if viewer.may_see_support_list(key) else None
    return _render(
        request,
        d,
        node,
        level="team",
        team=team,
        area_name=d.lpas[team.lpa_code].label if team.lpa_code in d.lpas else team.lpa_code or "No area",
        rows=d.officers_in(key),
        support=support,
        support_weeks=delivery.SUPPORT_WEEKS,
        viewer=viewer,
    )


def _officer_allowed(viewer: delivery.Viewer, d: delivery.Delivery, officer: Any) -> bool:
    if viewer.officer_id is not None:
        return bool(viewer.officer_id == officer.pk)
    team = d.officer_team.get(officer.pk)
    if team is None:
        team_id = Profile.objects.filter(user=officer).values_list("team_id", flat=True).first()
        team = str(team_id) if team_id else ""
    return viewer.may_see_team(team)


def _officer(request: HttpRequest, pk: int) -> tuple[Any, delivery.Delivery, delivery.Node]:
    viewer, d = _delivery(request)
    t = acting_force_id(request.user)
    mine = Q(profile__force_id=t) | (
        Q(profile__force__isnull=True) if only_force() is not None else Q(pk__in=[])
    )
    officer = get_object_or_404(get_user_model().objects.filter(mine), pk=pk)  # another force's: 404
    if not _officer_allowed(viewer, d, officer):
        raise PermissionDenied(
            "An officer's own figures are shown to them, their team's supervisors and command only."
        )
    node = d.officers.get(officer.pk) or delivery.Node(
        str(officer.pk), officer.get_full_name() or officer.username
    )
    return officer, d, node


@login_required
def delivery_officer(request: HttpRequest, pk: int) -> HttpResponse:
    officer, d, node = _officer(request, pk)
    access_log_record(
        user=request.user,
        action="view",
        resource="officer_delivery",
        object_ref=officer.username,
        request=request,
    )
    own = officer.pk == request.user.pk
    shared = own and recognition.peer_recognition_on(recognition.viewer_force(request.user))
    return _render(request, d, node, level="officer", officer=officer, own=own, recognition_on=shared)


@login_required
def delivery_officer_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The officer's weekly summary for a development review (PDR), as CSV."""
    officer, d, node = _officer(request, pk)
    access_log_record(
        user=request.user,
        action="export",
        resource="officer_delivery",
        object_ref=officer.username,
        request=request,
    )
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "officer",
            "week_of",
            "visits",
            "forms_completed",
            "minutes_in_hot_spots",
            "visits_at_target",
            "people_spoken_to",
            "radio_minutes_on_tasked_visits",
            "untasked_radio_minutes",
        ]
    )
    label = neutralise_cell(node.label)
    for monday, t in node.series(d.mondays):
        w.writerow(
            [
                label,
                monday.isoformat(),
                t.visits,
                t.forms,
                round(t.minutes, 1),
                t.at_target,
                t.spoken_to,
                round(t.avls_tasked, 1),
                round(t.avls_untasked, 1),
            ]
        )
    resp = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    name = "".join(ch for ch in officer.username if ch.isalnum() or ch in "-_") or "officer"
    resp["Content-Disposition"] = f'attachment; filename="patrols-{name}.csv"'
    return resp


@login_required
def my_delivery(request: HttpRequest) -> HttpResponse:
    return redirect("programme:officer", pk=request.user.pk)


@login_required
def recognition_page(request: HttpRequest) -> HttpResponse:
    """Colleagues' names in a positively framed table, only when the force has turned it on."""
    _viewer, d = _delivery(request)  # refuses partners and anyone outside the police roles
    force = recognition.viewer_force(request.user)
    rows = None
    if force is not None and recognition.peer_recognition_on(force):
        rows = recognition.recognition_table(force=force, d=d)
        access_log_record(
            user=request.user,
            action="view",
            resource="peer_recognition",
            object_ref=force.code,
            detail=f"{len(rows)} officer(s) named",
            request=request,
        )
    ctx = {"rows": rows, "force": force, "weeks": delivery.SUPPORT_WEEKS, "d": d}
    return render(request, "programme/recognition.html", ctx)
