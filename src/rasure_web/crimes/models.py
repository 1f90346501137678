"""Crime records, the people linked to them, areas, imports and harm weights.

Field meanings follow the canonical record in :mod:`rasure.records`. A record is
identified by ``(source, reference)``: re-imports update, never duplicate (a database
constraint, not a Python check).
"""

from __future__ import annotations

from django.db import models

from rasure_web.accounts.tenancy import tenant_field


class Area(models.Model):
    """A force, a local policing area (LPA), a neighbourhood or an LSOA. Geometry is GeoJSON in the
    force's projected CRS (metres; British National Grid by default). ``rasure areas load`` fills it
    from a force's boundary file; the synthetic city uses neighbourhoods directly under its LPAs."""

    class Kind(models.TextChoices):
        FORCE = "force", "Force"
        LPA = "lpa", "Local policing area"
        NEIGHBOURHOOD = "neighbourhood", "Neighbourhood"
        LSOA = "lsoa", "LSOA"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    code = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    geometry_geojson = models.TextField(
        blank=True, help_text="GeoJSON geometry in the projected CRS (metres)"
    )
    synthetic = models.BooleanField(default=False)
    source = models.CharField(max_length=300, blank=True, help_text="file the area was loaded from")
    tenant = tenant_field()

    class Meta:
        db_table = "area"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "code"], name="area_force_kind_code_unique")
        ]
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"


class ImportRun(models.Model):
    """One file imported (or rejected): what came in, what changed, who did it."""

    class Status(models.TextChoices):
        OK = "ok", "Imported"
        REJECTED = "rejected", "Rejected (nothing imported)"
        SKIPPED = "skipped", "Skipped (same contents already imported)"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Manual (rasure import)"
        SCHEDULED = "scheduled", "Scheduled (drop folder)"

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True)
    kind = models.CharField(max_length=32)  # street, outcomes, records, synthetic
    path = models.TextField()
    sha256 = models.CharField(max_length=64, blank=True)
    rows_read = models.IntegerField(default=0)
    inserted = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    unchanged = models.IntegerField(default=0)
    without_location = models.IntegerField(default=0)
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OK)
    error = models.TextField(blank=True)
    tenant = tenant_field()
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)

    class Meta:
        db_table = "import_run"
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.path} ({self.status})"


class CrimeRecord(models.Model):
    source = models.CharField(max_length=64)
    reference = models.CharField(max_length=128)
    offence_code = models.CharField(max_length=16, null=True, blank=True)
    offence_description = models.CharField(max_length=300, null=True, blank=True)
    category = models.CharField(max_length=100, null=True, blank=True)
    occurred_from = models.DateTimeField(null=True)
    occurred_to = models.DateTimeField(null=True)
    time_precision = models.CharField(max_length=8)
    reported_date = models.DateTimeField(null=True, blank=True)
    lon = models.FloatField(null=True)
    lat = models.FloatField(null=True)
    easting = models.FloatField(null=True)
    northing = models.FloatField(null=True)
    location_text = models.CharField(max_length=300, null=True, blank=True)
    lsoa_code = models.CharField(max_length=16, null=True, blank=True)
    lsoa_name = models.CharField(max_length=100, null=True, blank=True)
    weapon = models.CharField(max_length=8, default="unknown")
    domestic = models.BooleanField(null=True)
    last_outcome = models.CharField(max_length=200, null=True, blank=True)
    last_outcome_month = models.CharField(max_length=7, null=True, blank=True)
    force = models.CharField(max_length=100, null=True, blank=True)
    as_of = models.CharField(max_length=32, null=True, blank=True)
    row_hash = models.BigIntegerField(null=True, editable=False)  # hash of the source values last written
    # derived at import (rasure.classify, rasure.harm)
    serious_violence = models.BooleanField(default=False)
    sv_group = models.CharField(max_length=64, null=True, blank=True)
    sv_basis = models.CharField(max_length=32, default="none")
    knife_enabled = models.BooleanField(default=False)
    gun_crime = models.BooleanField(default=False)
    harm_days = models.FloatField(null=True)
    harm_basis = models.CharField(max_length=16, default="none")
    # the run that last changed the record. Not indexed: no query looks records up by their run, and
    # an indexed column that every update changes makes each update write every index (no HOT
    # update); deleting a run (the admin only) scans the table once instead (0010).
    import_run = models.ForeignKey(
        ImportRun, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    tenant = tenant_field(db_index=False)  # the (tenant, source, reference) constraint serves it
    updated_at = models.DateTimeField(null=True)

    class Meta:
        # on PostgreSQL pages are filled to 80 % on insert, room for in-place (HOT) updates (0010)
        db_table = "crime_record"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "source", "reference"], name="crime_force_source_reference_unique"
            )
        ]
        indexes = [
            # a force's serious violence by time: the last serious violence (MAX) and hot times read a
            # range of this index (it holds every column hot times uses), not the whole table. The
            # dashboard's overview and monthly series read the stored summary (crime_summary), so the
            # wide covering index they once read (crime_force_summary) and harm_days here are gone:
            # each index is written by every imported row (0009).
            models.Index(
                fields=["tenant", "serious_violence", "occurred_from", "occurred_to", "time_precision"],
                name="crime_force_sv_when",
            ),
            models.Index(fields=["occurred_from"], name="crime_time"),
            models.Index(fields=["lsoa_code"], name="crime_lsoa"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.reference}"


class Person(models.Model):
    """A person linked to crimes. The demo ships only synthetic people, marked ``synthetic``."""

    person_id = models.CharField(max_length=64)
    source = models.CharField(max_length=64)
    display_name = models.CharField(max_length=200, blank=True)
    year_of_birth = models.IntegerField(null=True, blank=True)
    synthetic = models.BooleanField(default=False)
    tenant = tenant_field(
        help_text="the force whose records name this person (a force's person ids are its own)"
    )

    class Meta:
        db_table = "person"
        constraints = [models.UniqueConstraint(fields=["tenant", "person_id"], name="person_force_id_unique")]

    def __str__(self) -> str:
        return self.display_name or self.person_id


class CrimePersonLink(models.Model):
    class Role(models.TextChoices):
        VICTIM = "victim"
        SUSPECT = "suspect"
        OFFENDER = "offender"

    record = models.ForeignKey(CrimeRecord, on_delete=models.CASCADE, related_name="people")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="crimes")
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        db_table = "crime_person_link"
        constraints = [
            models.UniqueConstraint(fields=["record", "person", "role"], name="crime_person_role_unique")
        ]


class HarmWeight(models.Model):
    """A force's harm table (its rows replaced whole by ``rasure harm load --force CODE``); a force with
    none uses the built-in approximation."""

    key_type = models.CharField(max_length=16)  # offence_code | category
    key = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    cchi_days = models.FloatField()
    source = models.CharField(max_length=300)
    tenant = tenant_field()

    class Meta:
        db_table = "harm_weight"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key_type", "key"], name="harm_force_key_unique")
        ]


class HarmTableInfo(models.Model):
    """Which harm table a force has loaded (official or not, from which file); a force with no row
    uses the built-in approximation."""

    official = models.BooleanField(default=False)
    origin = models.TextField()
    loaded_at = models.DateTimeField(auto_now=True)
    username = models.CharField(max_length=150, blank=True)
    tenant = tenant_field()

    class Meta:
        db_table = "harm_table_info"


class ScopeTableInfo(models.Model):
    """A force's own serious-violence scope (``rasure scope load --force CODE``): the force's newest row
    is in force; with none, the built-in table. The file's text is kept whole, so the scope used can be shown and reused."""

    source = models.TextField(help_text="the file it was loaded from")
    version = models.CharField(max_length=100, blank=True)
    sha256 = models.CharField(max_length=64)
    codes_csv = models.TextField(help_text="the scope table as loaded (offence_code, sv_group, counts_as)")
    loaded_at = models.DateTimeField(auto_now_add=True)
    username = models.CharField(max_length=150, blank=True)
    tenant = tenant_field()

    class Meta:
        db_table = "scope_table_info"
        ordering = ["-loaded_at", "-pk"]

    def __str__(self) -> str:
        return f"scope {self.source} {self.version}".strip()


class RecordSummary(models.Model):
    """A force's records counted per area, local month and class (:mod:`rasure_web.crimes.summary`
    writes it; every writer of records refreshes it): the dashboard overview reads these few hundred
    rows, not every record."""

    area_code = models.CharField(max_length=64, blank=True, help_text='an LPA\'s code; "" the whole force')
    month = models.CharField(max_length=7, blank=True, help_text='local month "YYYY-MM"; "" no time')
    category = models.CharField(max_length=100, null=True)
    offence_code = models.CharField(max_length=16, null=True)
    sv_basis = models.CharField(max_length=32)
    serious_violence = models.BooleanField()
    n = models.IntegerField()
    harm = models.FloatField(null=True, help_text="sum of harm_days (null: none weighed)")
    no_location = models.IntegerField()
    knife = models.IntegerField()
    gun = models.IntegerField()
    first_from = models.DateTimeField(null=True)
    last_from = models.DateTimeField(null=True)
    last_to = models.DateTimeField(null=True)
    tenant = tenant_field()

    class Meta:
        db_table = "crime_summary"
        indexes = [
            models.Index(fields=["tenant", "area_code", "serious_violence", "month"], name="summary_read")
        ]
