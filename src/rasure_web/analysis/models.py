"""Stored analysis runs and their hot spots, institutions held apart (D5).

A run records its parameters, seed, package version and input hash, so a map or a trial
allocation built from it can be reproduced exactly.
"""

from __future__ import annotations

from django.db import models

from rasure.hotspots.wording import officer_facts
from rasure_web.accounts.tenancy import tenant_field


class Institution(models.Model):
    """A building that generates many crimes (prison, hospital, custody suite, A&E ...)."""

    name = models.CharField(max_length=200)
    type = models.CharField(max_length=32)
    easting = models.FloatField()
    northing = models.FloatField()
    radius_m = models.FloatField(default=25.0)
    geometry_geojson = models.TextField(
        blank=True, help_text="optional footprint polygon, metres of the force's CRS"
    )
    synthetic = models.BooleanField(default=False)
    tenant = tenant_field()

    class Meta:
        db_table = "institution"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name", "type"], name="institution_force_name_type_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"


class AnalysisRun(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    username = models.CharField(max_length=150, blank=True)
    params = models.JSONField()
    seed = models.BigIntegerField()
    version = models.CharField(max_length=64)
    input_sha256 = models.CharField(max_length=64)
    records_in_window = models.IntegerField()
    window_start = models.DateField()
    window_end = models.DateField()
    notes = models.JSONField(default=list)
    labels = models.JSONField(default=dict)  # serious-violence basis, harm table
    summary = models.JSONField(default=dict)  # concentration, stability
    held_out = models.JSONField(default=list)  # institutional places with their figures
    is_current = models.BooleanField(default=True)
    tenant = tenant_field()

    class Meta:
        db_table = "analysis_run"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Hot-spot run {self.pk} ({self.created_at:%Y-%m-%d %H:%M})"


class HotSpot(models.Model):
    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="hotspots")
    code = models.CharField(max_length=16)  # e.g. N01 (night, rank 1)
    period = models.CharField(max_length=8)  # day | night | all
    rank = models.IntegerField()
    name = models.CharField(max_length=200, blank=True)
    count = models.FloatField()
    harm = models.FloatField()
    prev_count = models.FloatField(default=0)
    prev_harm = models.FloatField(default=0)
    gi_z = models.FloatField(null=True)
    gi_q = models.FloatField(null=True)
    persistence = models.CharField(max_length=32)
    institution_share = models.FloatField(default=0)
    patrol_areas = models.IntegerField(default=1)
    easting = models.FloatField()
    northing = models.FloatField()
    lon = models.FloatField()
    lat = models.FloatField()
    geofence_geojson = models.TextField(help_text="polygon in metres of the force's CRS")
    geofence_lonlat_geojson = models.TextField(help_text="polygon in WGS84 lon/lat, for maps and phones")
    facts = models.JSONField(default=list)
    officer_facts = models.JSONField(
        default=list, blank=True, help_text="why it is hot in plain words for officers (docs/style-guide.md)"
    )
    main_offences = models.JSONField(default=list)
    lpa_code = models.CharField(max_length=64, blank=True)
    neighbourhood_code = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "hotspot"
        ordering = ["run", "period", "rank"]
        constraints = [models.UniqueConstraint(fields=["run", "code"], name="hotspot_run_code_unique")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip()

    @property
    def period_title(self) -> str:
        """What kind of hot spot, in words: "Daytime hot spot", "Night-time hot spot", or for a run over
        the whole day (police.uk data, month-only times) "Hot spot (day and night)"."""
        return {"day": "Daytime hot spot", "night": "Night-time hot spot"}.get(
            self.period, "Hot spot (day and night)"
        )

    @property
    def plain_facts(self) -> list[str]:
        """Why it is hot in plain words (officer_facts); for a run stored before those were kept, the same
        words from the stored figures, without the hot times (not kept with such a run)."""
        if self.officer_facts:
            return list(self.officer_facts)
        params = self.run.params or {}
        return officer_facts(
            {
                "period": self.period,
                "rank": self.rank,
                "count": self.count,
                "prev_count": self.prev_count,
                "persistence": self.persistence,
                "patrol_areas": self.patrol_areas,
                "main_offences": self.main_offences or [],
            },
            peak=None,
            times_known=False,
            window_months=int(params.get("window_months", 12)),
            endurance_windows=int(params.get("endurance_windows", 3)),
            cell_size_m=float(params.get("cell_size_m", 150.0)),
            shape=str(params.get("shape", "square")),
        )


class PlaceDecision(models.Model):
    """An analyst's decision on a place held apart as a recording address or institution (D5).

    ``keep_out``: it stays off the patrol list. ``hot_spot``: it is a real public-space hot spot and
    later builds rank it like any other place. Matched by the dominant location's text and a place
    within one cell of (easting, northing)."""

    class Decision(models.TextChoices):
        KEEP_OUT = "keep_out", "Keep out of the patrol list"
        HOT_SPOT = "hot_spot", "This is a real public-space hot spot"

    location = models.CharField(max_length=300)
    easting = models.FloatField()
    northing = models.FloatField()
    decision = models.CharField(max_length=16, choices=Decision.choices)
    note = models.TextField(blank=True)
    username = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(auto_now=True)
    tenant = tenant_field()

    class Meta:
        db_table = "place_decision"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "location", "easting", "northing"], name="place_decision_force_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.location} ({self.get_decision_display()})"


class InstitutionPlan(models.Model):
    """An institution's own prevention plan (D5): who owns it, what is being done, when it is reviewed.

    Keyed by the institution's name and type (as :class:`PlaceDecision` is keyed by location), not by a
    foreign key, so reloading the register (``rasure institutions load --replace`` deletes and re-creates
    rows) keeps the plan. Every save writes an :class:`InstitutionPlanVersion`; ``version`` counts them."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "In progress"
        REVIEW = "review", "Due for review"
        CLOSED = "closed", "Closed"

    name = models.CharField(max_length=200)
    type = models.CharField(max_length=32)
    force = models.ForeignKey(
        "accounts.Force", null=True, blank=True, on_delete=models.PROTECT, related_name="institution_plans"
    )
    owner = models.CharField(
        max_length=200, help_text="the person or role responsible, e.g. hospital security lead"
    )
    actions = models.TextField(help_text="what is being done, one action per line")
    review_date = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "institution_plan"
        constraints = [
            models.UniqueConstraint(
                fields=["force", "name", "type"], name="institution_plan_force_name_type_unique"
            )
        ]

    def __str__(self) -> str:
        return f"Plan for {self.name} ({self.type})"

    @property
    def action_lines(self) -> list[str]:
        return [line.strip() for line in self.actions.splitlines() if line.strip()]


class InstitutionPlanVersion(models.Model):
    """One saved state of an :class:`InstitutionPlan`: the plan's history, never edited."""

    plan = models.ForeignKey(InstitutionPlan, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    owner = models.CharField(max_length=200)
    actions = models.TextField()
    review_date = models.DateField()
    status = models.CharField(max_length=8, choices=InstitutionPlan.Status.choices)
    edited_by = models.CharField(max_length=150, blank=True)
    edited_at = models.DateTimeField()

    class Meta:
        db_table = "institution_plan_version"
        ordering = ["plan", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "version"], name="institution_plan_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.plan} v{self.version}"
