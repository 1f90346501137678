"""Invented patrol visits for the demonstration's past SYNTHETIC trial (``rasure demo``), so its
evaluation has a dose. Demo-only: nothing here is an officer's record."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import numpy as np
from django.contrib.auth import get_user_model

from rasure_web.patrols.models import Visit

__all__ = ["SYNTHETIC_VISIT_NOTE", "synthetic_visits_store"]


#: Synthetic visits' note: they are invented, never an officer's record.
SYNTHETIC_VISIT_NOTE = "SYNTHETIC demonstration visit (invented by `rasure demo`, no officer made it)"


def synthetic_visits_store(
    *,
    trial_id: int,
    seed: int = 20261201,
    compliance: float = 0.85,
    contamination: float = 0.05,
) -> int:
    """Invent patrol visits for a past SYNTHETIC trial so its evaluation has a dose: on a treated place-day
    one or two visits (with probability ``compliance``), on a control place-day one now and then
    (``contamination``), each by a synthetic officer of the force, at the hot spot's hours (day hot spots
    08:00–18:00, night 19:00–03:00), with a credited dose drawn from a log-normal around 12 minutes
    (1–45 min). Marked with :data:`SYNTHETIC_VISIT_NOTE`; refused for a trial that is not synthetic.
    Returns how many visits were stored (none when the trial already has visits)."""
    from zoneinfo import ZoneInfo

    from rasure.trial import TREATMENT, TrialDesign
    from rasure_web.trials.models import ScheduleEntry, Trial, TrialHotSpot

    trial = Trial.objects.get(pk=trial_id)
    if not trial.synthetic:
        raise ValueError(
            f"trial {trial_id} is not synthetic: invented visits are for demonstration trials only."
        )
    if Visit.objects.filter(trial_id=trial_id).exists():
        return 0
    design = TrialDesign.from_json_dict(trial.design)
    officers = list(
        get_user_model()
        .objects.filter(profile__force_id=trial.tenant_id, username__startswith="pc")
        .exclude(profile__collar_number="")
        .order_by("username")
    )
    if not officers:
        return 0
    period = dict(TrialHotSpot.objects.filter(trial=trial).values_list("hotspot_id", "hotspot__period"))
    rng = np.random.default_rng(seed)
    zone = ZoneInfo(design.timezone)
    rows = []
    entries = (
        ScheduleEntry.objects.filter(trial=trial)
        .order_by("trial_day", "hotspot_id")
        .values_list("trial_day", "hotspot_id", "arm")
    )
    for day, hotspot_id, arm in entries:
        p = compliance if arm == TREATMENT else contamination
        if rng.random() >= p:
            continue
        n = 1 if arm != TREATMENT else int(rng.choice([1, 2], p=[0.6, 0.4]))
        night = period.get(hotspot_id) == "night"
        for _ in range(n):
            hour = rng.uniform(19, 27) if night else rng.uniform(8, 18)
            start = datetime.combine(day, datetime.min.time(), zone) + timedelta(hours=float(hour))
            dose = float(np.clip(rng.lognormal(np.log(12.0), 0.55), 1.0, 45.0))
            entry = start + timedelta(minutes=float(rng.uniform(0.5, 3)))
            exit_ = entry + timedelta(minutes=dose)
            end = exit_ + timedelta(minutes=float(rng.uniform(0.5, 3)))
            rows.append(
                Visit(
                    visit_id=uuid.UUID(bytes=rng.bytes(16), version=4),
                    start_client_id=uuid.UUID(bytes=rng.bytes(16), version=4),
                    end_client_id=uuid.UUID(bytes=rng.bytes(16), version=4),
                    officer=officers[int(rng.integers(len(officers)))],
                    hotspot_id=hotspot_id,
                    trial_day=day,
                    trial_id=trial.pk,
                    arm=arm,
                    slot=arm == TREATMENT,
                    target_minutes=design.target_dose.total_seconds() / 60,
                    status=Visit.Status.ENDED,
                    started_at=start,
                    start_received_at=start,
                    ended_at=end,
                    end_received_at=end,
                    note=SYNTHETIC_VISIT_NOTE,
                    dose_minutes=round(dose, 2),
                    entry_at=entry,
                    exit_at=exit_,
                    mode=Visit.Mode.FOOT,
                    n_segments=1,
                    dose_computed_at=end,
                )
            )
    Visit.objects.bulk_create(rows, batch_size=2000)
    return len(rows)
