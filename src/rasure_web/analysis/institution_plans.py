"""An institution's own prevention plan (D5): its figures, the places it dominates, and a plan analysts edit.

Street patrol cannot deter violence inside a prison, a hospital or a custody suite, so such places are
held apart from the patrol list (:mod:`rasure.institutions`); they need a plan of their own, owned with
the institution. This module is the one place for that page's reads and writes.

**Figures** (:func:`institution_figures`), over the current hot-spot run's window (``window_start`` to
``window_end``, the force's local dates; with no run, the 365 days up to the latest record), the
window of the same length just before it (the trend) and the same days a year earlier
(:attr:`Window.year_earlier`, so a season is compared with the same season; for a window of a whole
year the two are the same days):

- crimes **at or near** the institution: records whose location lies within its snap radius of its point
  (distance ≤ ``radius_m``) or inside or on its footprint polygon, the test of
  :func:`rasure.institutions.tag_records` with this institution alone (so a crime at an A&E inside a
  hospital site counts for both pages, unlike the screening, which gives it to the smallest footprint);
- of those, serious violence, and harm as the sum of the records' crime-harm days;
- by category (the record's category, "Not given" when empty): crimes, serious violence, harm;
- **places it dominates**: places of the current run held apart because this institution holds most
  of their harm (``held_out`` rows naming it), each with the analyst's review decision; and decisions
  taken on places within one cell of the institution. A place is named as its records spell it
  (:func:`rasure_web.analysis.selectors.name_places`).

**Plans** (:func:`plan_save`): owner, actions (one per line), review date and status, matched to the
institution by name and type. Every save writes a new :class:`InstitutionPlanVersion`; a save made from
an older version of the page than the one stored is refused, so two analysts cannot overwrite each other
unseen.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
import shapely
from dateutil.relativedelta import relativedelta
from django import forms
from django.db import transaction

from rasure.institutions import make_register, tag_records
from rasure_web import clock
from rasure_web.analysis.models import (
    AnalysisRun,
    Institution,
    InstitutionPlan,
    InstitutionPlanVersion,
    PlaceDecision,
)
from rasure_web.analysis.selectors import held_apart, name_places
from rasure_web.crimes.models import CrimeRecord
from rasure_web.crimes.selectors import local_naive

#: Days in the figures' window when there is no hot-spot run to take it from.
DEFAULT_WINDOW_DAYS = 365


@dataclass(frozen=True)
class Window:
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> Window:
        """The window of the same length just before this one."""
        end = self.start - dt.timedelta(days=1)
        return Window(end - dt.timedelta(days=self.days - 1), end)

    @property
    def year_earlier(self) -> Window:
        """The same days a year earlier (29 February becomes 28 February)."""
        return Window(self.start - relativedelta(years=1), self.end - relativedelta(years=1))


def figures_window(*, tenant: int | None) -> Window | None:
    """The force's current run's window, else the 365 days up to its latest record; None without either."""
    run = AnalysisRun.objects.filter(is_current=True, tenant_id=tenant).first()
    if run is not None:
        return Window(run.window_start, run.window_end)
    latest = (
        CrimeRecord.objects.filter(occurred_from__isnull=False, tenant_id=tenant)
        .order_by("-occurred_from")
        .first()
    )
    if latest is None or latest.occurred_from is None:
        return None
    end = local_naive(pd.Series([latest.occurred_from])).iloc[0].date()
    return Window(end - dt.timedelta(days=DEFAULT_WINDOW_DAYS - 1), end)


def _geometry(inst: Institution) -> Any:
    return shapely.from_geojson(inst.geometry_geojson) if inst.geometry_geojson else None


def _records_at(inst: Institution, window: Window) -> pd.DataFrame:
    """Records at or near ``inst`` in ``window``, the window before it or the same days a year earlier,
    with a flag for each (``current``, ``previous``, ``year_earlier``; the last two may both hold)."""
    geom = _geometry(inst)
    if geom is not None:
        x0, y0, x1, y1 = geom.bounds
    else:
        r = inst.radius_m
        x0, y0, x1, y1 = inst.easting - r, inst.northing - r, inst.easting + r, inst.northing + r
    cols = ["category", "occurred_from", "easting", "northing", "serious_violence", "harm_days"]
    rows = CrimeRecord.objects.filter(
        tenant_id=inst.tenant_id,
        easting__gte=x0,
        easting__lte=x1,
        northing__gte=y0,
        northing__lte=y1,
        occurred_from__isnull=False,
    ).values_list(*cols)
    frame = pd.DataFrame(list(rows), columns=cols)
    if frame.empty:
        flag = pd.Series(dtype=bool)
        return frame.assign(current=flag, previous=flag, year_earlier=flag)
    register = make_register(
        pd.DataFrame(
            [
                {"name": inst.name, "type": inst.type, "geometry": geom}
                if geom is not None
                else {
                    "name": inst.name,
                    "type": inst.type,
                    "easting": inst.easting,
                    "northing": inst.northing,
                    "radius_m": inst.radius_m,
                }
            ]
        ),
        source=f"institution {inst.name!r}",
    )
    at = tag_records(register, frame["easting"].to_numpy(float), frame["northing"].to_numpy(float)) == 0
    frame = frame[at].copy()
    day = local_naive(frame["occurred_from"]).dt.date
    for flag, w in (
        ("current", window),
        ("previous", window.previous),
        ("year_earlier", window.year_earlier),
    ):
        frame[flag] = (day >= w.start) & (day <= w.end)
    frame = frame[frame["current"] | frame["previous"] | frame["year_earlier"]].copy()
    frame["category"] = frame["category"].fillna("").replace("", "Not given")
    frame["harm_days"] = pd.to_numeric(frame["harm_days"], errors="coerce").fillna(0.0)
    frame["serious_violence"] = frame["serious_violence"].astype(bool)
    return frame


def institution_figures(inst: Institution, *, window: Window | None = None) -> dict[str, Any]:
    """The figures of the institution page (see the module docstring)."""
    window = window or figures_window(tenant=inst.tenant_id)
    out: dict[str, Any] = {"window": window, "crimes": 0, "serious_violence": 0, "harm": 0.0}
    out.update(previous_crimes=0, previous_harm=0.0, by_category=[], places=_places(inst), decisions=[])
    out.update(
        year_earlier=None, year_earlier_crimes=0, year_earlier_serious_violence=0, year_earlier_harm=0.0
    )
    out["decisions"] = _decisions_near(inst)
    name_places(tenant=inst.tenant_id, places=out["places"], decisions=out["decisions"])
    if window is None:
        return out
    frame = _records_at(inst, window)
    now, before, year = frame[frame["current"]], frame[frame["previous"]], frame[frame["year_earlier"]]
    out.update(
        crimes=len(now),
        serious_violence=int(now["serious_violence"].sum()),
        harm=float(now["harm_days"].sum()),
        previous_crimes=len(before),
        previous_harm=float(before["harm_days"].sum()),
        year_earlier=window.year_earlier,
        year_earlier_is_previous=window.year_earlier == window.previous,
        year_earlier_crimes=len(year),
        year_earlier_serious_violence=int(year["serious_violence"].sum()),
        year_earlier_harm=float(year["harm_days"].sum()),
    )
    if not now.empty:
        grouped = now.groupby("category").agg(
            crimes=("category", "size"),
            serious_violence=("serious_violence", "sum"),
            harm=("harm_days", "sum"),
        )
        out["by_category"] = [
            {
                "category": str(c),
                "crimes": int(r.crimes),
                "serious_violence": int(r.serious_violence),
                "harm": float(r.harm),
            }
            for c, r in grouped.sort_values(["crimes", "harm"], ascending=False).iterrows()
        ]
    return out


def _places(inst: Institution) -> list[dict[str, Any]]:
    """Places of the current run held apart because this institution dominates them, with the decision."""
    run = AnalysisRun.objects.filter(is_current=True, tenant_id=inst.tenant_id).first()
    if run is None:
        return []
    return [
        place
        for place, row in zip(held_apart(tenant=inst.tenant_id), run.held_out, strict=True)
        if str(row.get("institution") or "") == inst.name
    ]


def _decisions_near(inst: Institution) -> list[PlaceDecision]:
    run = AnalysisRun.objects.filter(is_current=True, tenant_id=inst.tenant_id).first()
    cell = float((run.params if run is not None else {}).get("cell_size_m", 150.0))
    near = PlaceDecision.objects.filter(
        tenant_id=inst.tenant_id,
        easting__gte=inst.easting - cell,
        easting__lte=inst.easting + cell,
        northing__gte=inst.northing - cell,
        northing__lte=inst.northing + cell,
    ).order_by("location")
    return [d for d in near if math.hypot(d.easting - inst.easting, d.northing - inst.northing) <= cell]


def name_note(inst: Institution) -> str:
    """What the page adds after an institution's name in brackets: its kind and "synthetic", each
    only when the name does not already say it (``(synthetic hospital)`` is not followed by
    ``(hospital)``)."""
    name = inst.name.casefold()
    kind = kind_label(inst.type)
    notes = [kind] if kind.casefold() not in name else []
    if inst.synthetic and "synthetic" not in name:
        notes.append("synthetic")
    return ", ".join(notes)


def kind_label(kind: str) -> str:
    """An institution type in plain words: ``custody_suite`` → "custody suite", ``a_and_e`` → "A&E"."""
    return "A&E" if kind == "a_and_e" else kind.replace("_", " ")


def plan_of(inst: Institution) -> InstitutionPlan | None:
    return InstitutionPlan.objects.filter(force_id=inst.tenant_id, name=inst.name, type=inst.type).first()


def institution_list(*, tenant: int | None) -> list[dict[str, Any]]:
    """Every institution of the force's register with its crimes in the window, places held apart and
    plan status."""
    window = figures_window(tenant=tenant)
    plans = {(p.name, p.type): p for p in InstitutionPlan.objects.filter(force_id=tenant)}
    run = AnalysisRun.objects.filter(is_current=True, tenant_id=tenant).first()
    held: dict[str, int] = {}
    for row in run.held_out if run is not None else []:
        name = str(row.get("institution") or "")
        if name:
            held[name] = held.get(name, 0) + 1
    out = []
    for inst in Institution.objects.filter(tenant_id=tenant).order_by("type", "name"):
        crimes = int(_records_at(inst, window)["current"].sum()) if window is not None else 0
        out.append(
            {
                "inst": inst,
                "crimes": crimes,
                "held": held.get(inst.name, 0),
                "plan": plans.get((inst.name, inst.type)),
            }
        )
    return out


# ------------------------------------------------------------------------------------------- the plan


class PlanForm(forms.Form):
    owner = forms.CharField(
        max_length=200,
        label="Owner",
        help_text="The person or role responsible, for example the hospital's security lead.",
        error_messages={"required": "Give the plan an owner: a person or a role."},
    )
    actions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        label="Actions",
        help_text="What is being done, one action per line.",
        error_messages={"required": "Write at least one action, one per line."},
    )
    review_date = forms.DateField(
        label="Review date",
        help_text="When the plan is next looked at (day/month/year or year-month-day).",
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Give a review date.", "invalid": "Write the date as 31/01/2027."},
    )
    status = forms.ChoiceField(choices=InstitutionPlan.Status.choices, label="Status")
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_actions(self) -> str:
        lines = [line.strip() for line in self.cleaned_data["actions"].splitlines() if line.strip()]
        if not lines:
            raise forms.ValidationError("Write at least one action, one per line.")
        return "\n".join(lines)

    def clean_review_date(self) -> dt.date:
        day: dt.date = self.cleaned_data["review_date"]
        if day < self.today:
            raise forms.ValidationError(
                f"The review date is in the past; choose {self.today:%d/%m/%Y} or later."
            )
        return day


class StalePlanError(Exception):
    """The plan changed since the page was opened."""


def plan_save(
    *,
    inst: Institution,
    owner: str,
    actions: str,
    review_date: dt.date,
    status: str,
    username: str,
    seen_version: int | None,
) -> InstitutionPlan:
    """Create or update ``inst``'s plan and write its history row; refuses a save from a stale page.

    ``seen_version``: the plan's version when the page was opened (0 or None for a new plan)."""
    now = clock.now()
    with transaction.atomic():
        plan = (
            InstitutionPlan.objects.select_for_update()
            .filter(force_id=inst.tenant_id, name=inst.name, type=inst.type)
            .first()
        )
        if plan is None:
            if seen_version:
                raise StalePlanError("the plan was deleted since the page was opened")
            plan = InstitutionPlan(force_id=inst.tenant_id, name=inst.name, type=inst.type, version=1)
        else:
            if (seen_version or 0) != plan.version:
                raise StalePlanError(
                    f"{plan.updated_by or 'someone'} saved version {plan.version} since you opened the page"
                )
            plan.version += 1
        plan.owner, plan.actions, plan.review_date, plan.status = owner, actions, review_date, status
        plan.updated_by, plan.updated_at = username, now
        plan.save()
        InstitutionPlanVersion.objects.create(
            plan=plan,
            version=plan.version,
            owner=owner,
            actions=actions,
            review_date=review_date,
            status=status,
            edited_by=username,
            edited_at=now,
        )
    return plan
