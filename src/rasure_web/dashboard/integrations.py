"""What the hot-spot page and patrol monitoring take from the trials and patrols apps (issue: dashboard).

Role rules (one place): analysts, supervisors and admins edit briefings and see patrol history; only
analysts and admins see a hot spot's trial arms (supervisors task officers, so they see that a hot spot
is in the trial and its cap status, not its allocation: a supervisor who knows tomorrow's control
places could send officers there and weaken the trial).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import mark_safe

from rasure.trial import TrialDesign
from rasure_web import clock
from rasure_web.accounts.roles import ADMIN, ANALYST, has_role
from rasure_web.sqlkeys import WeekStart


class BriefingForm(forms.Form):
    background = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="The local picture, in plain words.",
    )
    tasks = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        label="Problem-solving tasks",
        help_text="One per line.",
    )
    contact_name = forms.CharField(max_length=200, required=False, label="Point of contact")
    contact_details = forms.CharField(max_length=300, required=False, label="Contact details")


def briefing_of(hs: Any) -> Any:
    from rasure_web.patrols.models import HotSpotBriefing

    return HotSpotBriefing.objects.filter(hotspot=hs).first()


def hotspot_integrations(*, user: Any, hs: Any, request: HttpRequest) -> dict[str, Any]:
    from django.conf import settings

    out: dict[str, Any] = {
        "tiles": settings.RASURE_MAP_TILES,
        "tiles_attribution": settings.RASURE_MAP_ATTRIBUTION,
    }
    b = briefing_of(hs)
    out["briefing"] = b
    initial = {f: getattr(b, f) for f in BriefingForm.base_fields} if b else {}
    out["briefing_form"] = BriefingForm(initial=initial)
    out["briefing_action"] = f"/dashboard/hotspots/{hs.pk}/briefing/"
    out["briefing_saved"] = request.GET.get("saved") == "1"
    out["trial"] = mark_safe(_trial_html(user=user, hs=hs))
    out["patrols"] = mark_safe(_patrols_html(hs=hs))
    return out


def _trial_html(*, user: Any, hs: Any) -> str:
    from rasure_web.trials.models import ScheduleEntry, Trial

    entries = ScheduleEntry.objects.filter(
        hotspot=hs, trial__status__in=[Trial.Status.COMMITTED, Trial.Status.COMPLETED]
    )
    if not entries.exists():
        return ""
    trial = entries.first().trial  # type: ignore[union-attr]
    today = TrialDesign.from_json_dict(trial.design).trial_day_of(clock.now())
    counts = entries.aggregate(
        treated=Count("id", filter=Q(arm="treatment")), days=Count("trial_day", distinct=True)
    )
    ctx: dict[str, Any] = {"trial": trial, "counts": counts, "show_arms": has_role(user, ANALYST, ADMIN)}
    if ctx["show_arms"]:
        ctx["upcoming"] = list(entries.filter(trial_day__gte=today).order_by("trial_day", "shift")[:14])
    ctx["cap"] = _cap_status(hs=hs)
    return render_to_string("dashboard/_trial.html", ctx)


def _cap_status(*, hs: Any) -> dict[str, Any]:
    from rasure_web.patrols.models import CapCounter
    from rasure_web.trials.selectors import patrol_rules_for

    rules = patrol_rules_for(when=clock.now(), force_id=hs.run.tenant_id)
    day = CapCounter.objects.filter(hotspot=hs, kind="day", period_start=rules.trial_day).first()
    return {"cap": rules.cap_per_day, "used": day.visits if day else 0, "day": rules.trial_day}


def _patrols_html(*, hs: Any) -> str:
    from rasure_web.patrols.models import Visit

    visits = list(Visit.objects.filter(hotspot=hs).select_related("officer").order_by("-started_at")[:30])
    total = Visit.objects.filter(hotspot=hs).aggregate(n=Count("id"), dose=Sum("dose_minutes"))
    return render_to_string(
        "dashboard/_patrols.html", {"visits": visits, "total": total, "cap": _cap_status(hs=hs)}
    )


# ------------------------------------------------------------------------------- patrol monitoring (S2)


def patrol_monitoring(*, weeks: int = 8, lpa: str = "", force_id: int | None) -> dict[str, Any]:
    """A force's visits and dose per hot spot and week against plan, on treated and control days, and
    per-team and per-officer summaries framed as recognition (top contributors), not surveillance."""
    from rasure_web.patrols.models import Visit
    from rasure_web.trials.models import ScheduleEntry, Trial
    from rasure_web.trials.selectors import patrol_rules_for

    rules = patrol_rules_for(when=clock.now(), force_id=force_id)
    since = rules.trial_day - dt.timedelta(days=7 * weeks)
    # The force's hot spots first (a few hundred rows), then their visits by (hot spot, day) index: no
    # join per visit to the hot spot and its run; names are read once per hot spot and officer below.
    from rasure_web.analysis.models import HotSpot

    own = HotSpot.objects.filter(run__tenant_id=force_id)
    if lpa:
        own = own.filter(lpa_code=lpa)
    qs = Visit.objects.filter(hotspot_id__in=own.values("pk"), trial_day__gte=since)
    target = rules.target_dose.total_seconds() / 60
    met = Q(dose_minutes__gte=target)
    # Aggregated in the database, weeks included (WeekStart is plain SQL on both databases): the rows
    # that reach Python are one per hot spot and week, not one per visit.
    spots = list(
        qs.annotate(week=WeekStart("trial_day"))
        .values("hotspot_id", "week")
        .annotate(
            visits=Count("id"),
            dose=Sum("dose_minutes"),
            met=Count("id", filter=met),
            control_visits=Count("id", filter=Q(arm="control")),
        )
        .order_by()
    )
    names = {
        pk: (code, name)
        for pk, code, name in HotSpot.objects.filter(pk__in={r["hotspot_id"] for r in spots}).values_list(
            "pk", "code", "name"
        )
    }
    for r in spots:
        r["hotspot__code"], r["hotspot__name"] = names[r["hotspot_id"]]
    plan = {
        (r["hotspot_id"], r["week"]): r["n"]
        for r in ScheduleEntry.objects.filter(
            trial__status=Trial.Status.COMMITTED,
            trial__tenant_id=force_id,
            arm="treatment",
            trial_day__gte=since,
            trial_day__lte=rules.trial_day,
        )
        .annotate(week=WeekStart("trial_day"))
        .values("hotspot_id", "week")
        .annotate(n=Count("id"))
        .order_by()
    }
    presence = _add_presence(spots, since=since, until=rules.trial_day, lpa=lpa, force_id=force_id)
    for r in spots:
        r["treated_days"] = plan.get((r["hotspot_id"], r["week"]), 0)
        r["planned_minutes"] = r["treated_days"] * target
        r["share_of_plan"] = r["dose"] / r["planned_minutes"] if r["planned_minutes"] > 0 else None
    spots.sort(key=lambda r: r["hotspot__code"])
    spots.sort(key=lambda r: r["week"], reverse=True)
    by_officer = list(
        qs.values("officer_id")
        .annotate(
            visits=Count("id"),
            minutes=Sum("dose_minutes"),
            met=Count("id", filter=met),
            forms=Count("id", filter=~Q(status="open")),
            people=Coalesce(Sum("spoken_to"), 0),
        )
        .order_by()
    )
    who = {
        pk: (username, first)
        for pk, username, first in get_user_model()
        .objects.filter(pk__in={o["officer_id"] for o in by_officer})
        .values_list("pk", "username", "first_name")
    }
    for o in by_officer:
        o["officer__username"], o["officer__first_name"] = who[o.pop("officer_id")]
    # most minutes first (an officer with none last), ties by username
    by_officer.sort(key=lambda o: (o["minutes"] is None, -(o["minutes"] or 0.0), o["officer__username"]))
    officers = by_officer[:10]
    # every visit in qs is in exactly one hot-spot-week row (AVLS-only rows add none): the totals from them
    totals = {
        "n": sum(r["visits"] for r in spots),
        "minutes": sum(r["dose"] or 0.0 for r in spots),
    }
    return {
        "by_spot": spots,
        "by_spot_rows": _by_spot_rows(spots),
        "officers": officers,
        "target": target,
        "weeks": weeks,
        "since": since,
        "total_visits": totals["n"],
        "total_minutes": float(totals["minutes"] or 0.0),
        "avls_loaded": bool(presence),
        "total_avls_tasked": sum(p.tasked_minutes for p in presence),
        "total_avls_untasked": sum(p.untasked_minutes for p in presence),
    }


def _add_presence(
    spots: list[dict[str, Any]], *, since: dt.date, until: dt.date, lpa: str, force_id: int | None
) -> list[Any]:
    """Add radio / vehicle (AVLS) presence to the hot-spot-week rows, tasked and untasked
    (rule: :mod:`rasure_web.patrols.presence`); a hot spot seen only on AVLS that week gets a row of its own.
    Returns the presence rows used."""
    from rasure_web.analysis.models import HotSpot
    from rasure_web.patrols.presence import presence_split
    from rasure_web.programme.services import week_of

    presence = presence_split(first=since, last=until, force_id=force_id)
    if lpa and presence:
        in_area = set(
            HotSpot.objects.filter(pk__in={p.hotspot_id for p in presence}, lpa_code=lpa).values_list(
                "pk", flat=True
            )
        )
        presence = [p for p in presence if p.hotspot_id in in_area]
    index = {(r["hotspot_id"], r["week"]): r for r in spots}
    for r in spots:
        r["avls_tasked"] = 0.0
        r["avls_untasked"] = 0.0
    missing = {p.hotspot_id for p in presence} - {r["hotspot_id"] for r in spots}
    names = {h["pk"]: h for h in HotSpot.objects.filter(pk__in=missing).values("pk", "code", "name")}
    for p in presence:
        key = (p.hotspot_id, week_of(p.trial_day))
        if key not in index:
            known = next((r for r in spots if r["hotspot_id"] == p.hotspot_id), None)
            code = known["hotspot__code"] if known else names[p.hotspot_id]["code"]
            name = known["hotspot__name"] if known else names[p.hotspot_id]["name"]
            index[key] = {
                "hotspot_id": p.hotspot_id,
                "hotspot__code": code,
                "hotspot__name": name,
                "week": key[1],
                "visits": 0,
                "dose": 0.0,
                "met": 0,
                "control_visits": 0,
                "avls_tasked": 0.0,
                "avls_untasked": 0.0,
            }
            spots.append(index[key])
        index[key]["avls_tasked"] += p.tasked_minutes
        index[key]["avls_untasked"] += p.untasked_minutes
    return presence


def _by_spot_rows(spots: list[dict[str, Any]]) -> str:
    """The table rows of :func:`patrol_monitoring`. 52 weeks × every hot spot is thousands of rows: the
    template engine took about 0.5 ms a row, ``format_html_join`` (every value through
    ``conditional_escape``) a fifth of that; here only the hot spot's code and name (text someone typed)
    are escaped, and the numbers and dates, which this function formats itself, are written as they are."""
    out = []
    for r in spots:
        share = "—" if r["share_of_plan"] is None else f"{r['share_of_plan'] * 100:.0f}%"
        out.append(
            f"<tr><td>{r['week'].day} {r['week']:%b}</td>"
            f"<td>{escape(r['hotspot__code'])} {escape(r['hotspot__name'])}</td>"
            f'<td class="num">{int(r["visits"])}</td><td class="num">{r["dose"] or 0:.0f}</td>'
            f'<td class="num">{int(r["met"])}</td><td class="num">{int(r["treated_days"])}</td>'
            f'<td class="num">{r["planned_minutes"]:.0f}</td><td class="num">{share}</td>'
            f'<td class="num">{int(r["control_visits"])}</td>'
            f'<td class="num">{r.get("avls_tasked", 0.0):.0f}</td>'
            f'<td class="num">{r.get("avls_untasked", 0.0):.0f}</td></tr>'
        )
    return mark_safe("".join(out))  # the only text from outside is escaped above
