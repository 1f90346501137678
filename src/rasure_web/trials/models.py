"""A randomised trial in the database: the frozen set, the design, the commitment and the schedule (issue 4).

The pure logic (schedule, commitment, verification, power) is in :mod:`rasure.trial`; these models
store its inputs and outputs. Once a trial is committed nothing that the commitment covers can change:

- the services refuse and log the attempt (:mod:`rasure_web.trials.lifecycle`);
- the admin is read-only for committed trials and logs refused attempts;
- database triggers (migration ``0002_tamper_triggers``) refuse UPDATE and DELETE of the schedule and
  the frozen set of a committed trial, new rows for it, and any change to a committed trial's design,
  commitment or frozen fields, whatever path the SQL comes from.

The secret seed is **not stored** while the trial runs: the analyst receives it once, at commit, and
keeps it offline. It is stored in ``revealed_seed`` only when it is revealed at the end
(``rasure trial complete``), and only after it has been checked against the commitment.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from rasure.errors import RasureError
from rasure_web.accounts.tenancy import tenant_field


class TrialCommittedError(RasureError):
    """A change to a committed trial (its design, frozen set or schedule) was refused."""


class Trial(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft (can still change)"
        COMMITTED = "committed", "Committed (schedule fixed)"
        COMPLETED = "completed", "Completed (seed revealed)"

    class Strata(models.TextChoices):
        LPA = "lpa", "Local policing area"
        LPA_PERIOD = "lpa-period", "Local policing area × day/night list"
        NONE = "none", "No strata (one group)"

    name = models.CharField(max_length=200, help_text="also the trial label in the commitment")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    design = models.JSONField(help_text="TrialDesign.to_json_dict(): kind, dates, share, patrol rules ...")
    strata_rule = models.CharField(max_length=16, choices=Strata.choices, default=Strata.LPA)
    analysis_run = models.ForeignKey(
        "analysis.AnalysisRun", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    synthetic = models.BooleanField(default=False, help_text="a demonstration trial on invented data")
    tenant = tenant_field()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True, help_text="username (or cli:<login>)")
    # Filled in one transaction by trial_commit; frozen from then on (triggers).
    commitment_sha256 = models.CharField(max_length=64, blank=True)
    manifest_json = models.TextField(blank=True, help_text="the public manifest, canonical JSON")
    schedule_sha256 = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the canonical schedule CSV (internal, not published)"
    )
    code_revision = models.CharField(max_length=80, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    committed_by = models.CharField(max_length=150, blank=True)
    # Filled once when the seed is revealed and checked (rasure trial complete).
    revealed_seed = models.CharField(max_length=128, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "trial"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Trial {self.pk}: {self.name} ({self.status})"

    @property
    def is_frozen(self) -> bool:
        return self.status != self.Status.DRAFT


class TrialHotSpot(models.Model):
    """One hot spot of a trial's frozen set, with a copy of its geofence text as frozen."""

    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="hotspots")
    hotspot = models.ForeignKey("analysis.HotSpot", on_delete=models.PROTECT, related_name="+")
    hotspot_code = models.CharField(max_length=16, help_text="the hotspot_id in the commitment")
    stratum = models.CharField(max_length=100)
    pair_or_block = models.CharField(max_length=100, null=True, blank=True)
    geofence_text = models.TextField(
        help_text="the geofence exactly as stored when frozen (GeoJSON, metres of the force's CRS)"
    )
    geofence_sha256 = models.CharField(max_length=64)

    class Meta:
        db_table = "trial_hotspot"
        ordering = ["trial", "hotspot_code"]
        constraints = [
            models.UniqueConstraint(fields=["trial", "hotspot"], name="trial_hotspot_unique"),
            models.UniqueConstraint(fields=["trial", "hotspot_code"], name="trial_hotspot_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.hotspot_code} ({self.stratum})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if Trial.objects.filter(pk=self.trial_id).exclude(status=Trial.Status.DRAFT).exists():
            raise TrialCommittedError(
                f"trial {self.trial_id} is committed: its frozen set cannot change. Create a new trial."
            )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if Trial.objects.filter(pk=self.trial_id).exclude(status=Trial.Status.DRAFT).exists():
            raise TrialCommittedError(f"trial {self.trial_id} is committed: its frozen set cannot change.")
        return super().delete(*args, **kwargs)


class ScheduleEntry(models.Model):
    """The arm of one hot spot (and shift, when the trial is stratified by shift) on one trial day."""

    class Arm(models.TextChoices):
        TREATMENT = "treatment", "Treatment (patrol)"
        CONTROL = "control", "Control (no extra patrol)"

    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="schedule")
    trial_day = models.DateField()
    hotspot = models.ForeignKey("analysis.HotSpot", on_delete=models.PROTECT, related_name="+")
    shift = models.CharField(max_length=32, blank=True, default="")
    arm = models.CharField(max_length=16, choices=Arm.choices)

    class Meta:
        db_table = "trial_schedule_entry"
        ordering = ["trial", "trial_day", "hotspot", "shift"]
        constraints = [
            models.UniqueConstraint(
                fields=["trial", "trial_day", "hotspot", "shift"], name="trial_schedule_unit_day_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(arm__in=["treatment", "control"]), name="trial_schedule_arm_valid"
            ),
        ]
        indexes = [models.Index(fields=["trial_day", "arm"], name="trial_schedule_day_arm")]

    def __str__(self) -> str:
        return f"{self.trial_day} {self.hotspot_id} {self.shift} {self.arm}".replace("  ", " ")

    def save(self, *args: Any, **kwargs: Any) -> None:
        raise TrialCommittedError(
            "schedule entries are written only by trial_commit, all at once, and never changed."
        )

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TrialCommittedError("schedule entries of a committed trial cannot be deleted.")


class TrialEvaluation(models.Model):
    """One run of ``rasure trial evaluate`` on a committed trial (issue 12): its results.json and plots,
    kept so the trial results page shows the latest without re-running a model fit on each request."""

    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="evaluations")
    evaluated_at = models.DateTimeField(help_text="when the evaluation ran (the app's clock)")
    evaluated_by = models.CharField(max_length=150, blank=True, help_text="username (or cli:<login>)")
    results = models.JSONField(help_text="results.json as written (outcomes, plan, CONSORT, costs, ...)")
    plots = models.JSONField(default=list, help_text="[[caption, SVG text], ...] as in report.html")
    panel_rows = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "trial_evaluation"
        ordering = ["trial", "-evaluated_at", "-pk"]

    def __str__(self) -> str:
        return f"evaluation of trial {self.trial_id} at {self.evaluated_at:%Y-%m-%d %H:%M}"
