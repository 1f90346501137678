"""What the hot-spot page and patrol monitoring take from the trials and patrols apps (issue: dashboard).

Role rules (one place): analysts, supervisors and admins edit briefings and see patrol history; only
analysts and admins see a hot spot's trial arms (supervisors task officers, so they see that a hot spot
is in the trial and its cap status, not its allocation: a supervisor who knows tomorrow's control
places could send officers there and weaken the trial).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from django import forms
from django.db.models import Count, Q, Sum
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from rasure.trial import TrialDesign
from rasure_web import clock
from rasure_web.accounts.roles import ADMIN, ANALYST, has_role


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

    rules = patrol_rules_for(when=clock.now())
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


def patrol_monitoring(*, weeks: int = 8, lpa: str = "") -> dict[str, Any]:
    """Visits and dose per hot spot and week against plan, on treated and control days, and per-team and
    per-officer summaries framed as recognition (top contributors), not surveillance."""
    from rasure_web.patrols.models import Visit
    from rasure_web.trials.models import ScheduleEntry, Trial
    from rasure_web.trials.selectors import patrol_rules_for

    rules = patrol_rules_for(when=clock.now())
    since = rules.trial_day - dt.timedelta(days=7 * weeks)
    qs = Visit.objects.filter(trial_day__gte=since)
    if lpa:
        qs = qs.filter(hotspot__lpa_code=lpa)
    rows = list(
        qs.values(
            "hotspot_id",
            "hotspot__code",
            "hotspot__name",
            "trial_day",
            "arm",
            "dose_minutes",
            "officer__username",
            "officer__first_name",
            "mode",
            "status",
            "spoken_to",
        )
    )
    df = pd.DataFrame(
        rows,
        columns=[
            "hotspot_id",
            "hotspot__code",
            "hotspot__name",
            "trial_day",
            "arm",
            "dose_minutes",
            "officer__username",
            "officer__first_name",
            "mode",
            "status",
            "spoken_to",
        ],
    )
    target = rules.target_dose.total_seconds() / 60
    treated = pd.DataFrame(
        list(
            ScheduleEntry.objects.filter(
                trial__status=Trial.Status.COMMITTED,
                arm="treatment",
                trial_day__gte=since,
                trial_day__lte=rules.trial_day,
            ).values("hotspot_id", "trial_day")
        ),
        columns=["hotspot_id", "trial_day"],
    )
    if not treated.empty:
        treated["week"] = pd.to_datetime(treated["trial_day"]).dt.to_period("W-SUN").dt.start_time.dt.date
        plan = treated.groupby(["hotspot_id", "week"]).size().rename("treated_days")
    else:
        plan = pd.Series(dtype=int, name="treated_days")
    by_spot: list[dict[str, Any]] = []
    officers: list[dict[str, Any]] = []
    if not df.empty:
        df["week"] = pd.to_datetime(df["trial_day"]).dt.to_period("W-SUN").dt.start_time.dt.date
        df["arm"] = df["arm"].replace("", "no trial")
        df["met"] = df["dose_minutes"] >= target
        df["is_control"] = df["arm"] == "control"
        df["is_form"] = df["status"] != "open"
        g = df.groupby(["hotspot_id", "hotspot__code", "hotspot__name", "week"])
        tab = g.agg(
            visits=("dose_minutes", "size"),
            dose=("dose_minutes", "sum"),
            met=("met", "sum"),
            control_visits=("is_control", "sum"),
        ).reset_index()
        tab = (
            tab.merge(plan.reset_index(), on=["hotspot_id", "week"], how="left")
            if len(plan)
            else tab.assign(treated_days=0)
        )
        tab["treated_days"] = tab["treated_days"].fillna(0).astype(int)
        tab["planned_minutes"] = tab["treated_days"] * target
        tab["share_of_plan"] = tab["dose"] / tab["planned_minutes"].where(tab["planned_minutes"] > 0)
        by_spot = tab.sort_values(["week", "hotspot__code"], ascending=[False, True]).to_dict("records")
        o = (
            df.groupby(["officer__username", "officer__first_name"])
            .agg(
                visits=("dose_minutes", "size"),
                minutes=("dose_minutes", "sum"),
                met=("met", "sum"),
                forms=("is_form", "sum"),
                people=("spoken_to", "sum"),
            )
            .reset_index()
            .sort_values("minutes", ascending=False)
        )
        officers = o.head(10).to_dict("records")
    return {
        "by_spot": by_spot,
        "officers": officers,
        "target": target,
        "weeks": weeks,
        "since": since,
        "total_visits": len(df),
        "total_minutes": float(df["dose_minutes"].sum()) if len(df) else 0.0,
    }
