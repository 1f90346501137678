"""Synthetic programme records for the demo force: operations, courses, attendances, the delivery model.

Everything here is invented and marked ``synthetic``. Idempotent: nothing is added when the demo force
already has synthetic operations.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.contrib.auth import get_user_model

from rasure_web.accounts.models import Force
from rasure_web.accounts.services import DEMO_FORCE
from rasure_web.analysis.models import AnalysisRun
from rasure_web.crimes.models import Area
from rasure_web.programme.models import Course, ModelStep, Operation, StepStatus, TrainingRecord

# The steps of a hot-spot policing delivery model, as a starting point a force edits in Administration.
DEFAULT_STEPS = (
    ("Identify hot spots", "Crime analysis names the places with the most serious violence and harm."),
    ("Understand each place", "A briefing says why the place is hot and who the local contact is."),
    ("Task patrols", "Hot spots are allocated to teams; caps stop any place being over-policed."),
    ("Deliver the dose", "Short visits of about 15 minutes, recorded by the patrol app."),
    ("Solve problems", "Partners and officers act on the causes (lighting, licensing, design)."),
    ("Monitor delivery", "Supervisors check patrols against plan every week."),
    ("Evaluate and review", "The trial's evaluation and a review of the hot-spot list."),
)


def programme_demo_store(*, today: date, seed: int = 7) -> str:
    force = Force.objects.filter(code=DEMO_FORCE).first()
    if force is None:
        return "no demo force: programme examples skipped"
    if Operation.objects.filter(force=force, synthetic=True).exists():
        return "programme examples already present"
    rng = random.Random(seed)
    run = AnalysisRun.objects.filter(is_current=True).first()
    top = list(run.hotspots.order_by("rank")[:6]) if run else []
    lpas = list(Area.objects.filter(kind=Area.Kind.LPA).order_by("code").values_list("code", flat=True))
    ops = [
        ("Operation Lantern (synthetic)", 18_000, "Night-time economy violence around the late bars."),
        ("Operation Bridge (synthetic)", 9_500, "Knife crime near the transport hub after school hours."),
        (
            "Operation Harbour (synthetic)",
            0,
            "Problem-solving with the council at a park: unfunded, partner-led.",
        ),
    ]
    for i, (name, budget, aim) in enumerate(ops):
        op = Operation.objects.create(
            force=force,
            name=name,
            lpa_code=lpas[i % len(lpas)] if lpas else "",
            start=today - timedelta(days=120 - 30 * i),
            end=None if i == 0 else today - timedelta(days=20 * i),
            budget_gbp=budget,
            aim=aim,
            analysis_run=run,
            activities="High-visibility foot patrols in the hot spots\nLicensing visits with the council",
            results="Patrol dose delivered on most treated days\nTwo premises reviews requested",
            synthetic=True,
        )
        op.hotspots.set(top[2 * i : 2 * i + 2])
    hsp = Course.objects.create(
        force=force,
        name="Hot-spot policing (synthetic)",
        kind=Course.Kind.HOT_SPOT_POLICING,
        refresher_months=12,
    )
    app = Course.objects.create(force=force, name="The patrol app (synthetic)", kind=Course.Kind.APP)
    lic = Course.objects.create(
        force=force,
        name="Licensed premises: violence and vulnerability (synthetic)",
        kind=Course.Kind.LICENSED_PREMISES,
    )
    officers = list(
        get_user_model().objects.filter(profile__force=force, groups__name="officer").order_by("username")
    )
    records = []
    for u in officers:
        if rng.random() < 0.75:
            when = today - timedelta(days=rng.randint(20, 500))
            records.append(TrainingRecord(course=hsp, user=u, attended_on=when, synthetic=True))
            if rng.random() < 0.6:
                records.append(TrainingRecord(course=app, user=u, attended_on=when, synthetic=True))
    for n in range(12):
        records.append(
            TrainingRecord(
                course=lic,
                attendee_name=f"Door supervisor {n + 1} (synthetic)",
                attendee_organisation="Synthetic Security Ltd",
                attended_on=today - timedelta(days=rng.randint(10, 200)),
                synthetic=True,
            )
        )
    TrainingRecord.objects.bulk_create(records)
    steps = [
        ModelStep.objects.create(force=force, number=i + 1, name=name, description=text)
        for i, (name, text) in enumerate(DEFAULT_STEPS)
    ]
    statuses = []
    for code in lpas:
        reached = rng.randint(3, 7)
        for s in steps:
            status = (
                StepStatus.Status.IN_PLACE
                if s.number <= reached
                else StepStatus.Status.IN_PROGRESS
                if s.number == reached + 1
                else StepStatus.Status.NOT_STARTED
            )
            statuses.append(
                StepStatus(
                    step=s, lpa_code=code, status=status, as_of=today - timedelta(days=rng.randint(1, 60))
                )
            )
    StepStatus.objects.bulk_create(statuses)
    return f"{len(ops)} operations, {len(records)} training records, {len(steps)} model steps (synthetic)"
