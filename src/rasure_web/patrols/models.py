"""The patrol app's records: briefings, visits, GPS pings, cap counters, sync receipts, AVLS presence.

Every record a phone sends carries a client-generated UUID (``client_id``) and is stored idempotently
(docs/reliability.md §2.2): the UUID is UNIQUE in the database and the record, its effects and its receipt are
written in one transaction, so a retry never duplicates and a changed payload under the same id is refused.
Caps (requirement P7) are counter rows incremented by a conditional UPDATE inside the visit-start transaction,
so two officers cannot both take the last slot, whichever app server they reach.

The trial's place-day panel reads :class:`Visit` through ``apps.get_model("patrols", "Visit")`` and relies
on the field names ``hotspot``, ``trial_day`` and ``dose_minutes``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from rasure_web.accounts.tenancy import tenant_field


class HotSpotBriefing(models.Model):
    """What an analyst tells officers about a hot spot, beyond the engine's "why it is hot" facts (P2)."""

    hotspot = models.OneToOneField("analysis.HotSpot", on_delete=models.CASCADE, related_name="briefing")
    background = models.TextField(blank=True, help_text="the local picture, in plain words")
    tasks = models.TextField(blank=True, help_text="problem-solving tasks for officers, one per line")
    contact_name = models.CharField(max_length=200, blank=True, help_text="designated point of contact")
    contact_details = models.CharField(max_length=300, blank=True, help_text="how to reach them")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "patrol_briefing"

    def __str__(self) -> str:
        return f"Briefing for {self.hotspot}"


class CapCounter(models.Model):
    """Visits started at one hot spot in one trial day (``kind="day"``) or week (``kind="week"``).

    Incremented only by ``UPDATE … SET visits = visits + 1 WHERE visits < cap`` in the visit-start
    transaction: the database, not Python, decides who gets the last slot.
    """

    class Kind(models.TextChoices):
        DAY = "day", "Trial day"
        WEEK = "week", "Week (Monday to Sunday of trial days)"

    hotspot = models.ForeignKey("analysis.HotSpot", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    period_start = models.DateField()
    visits = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "patrol_cap_counter"
        constraints = [
            models.UniqueConstraint(
                fields=["hotspot", "kind", "period_start"], name="patrol_cap_counter_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.hotspot_id} {self.kind} {self.period_start}: {self.visits}"


class Visit(models.Model):
    """One visit of one officer to one hot spot, from the start record to the end record and form."""

    class Status(models.TextChoices):
        OPEN = "open", "Started"
        ENDED = "ended", "Ended"

    class Mode(models.TextChoices):
        FOOT = "foot", "On foot"
        STOPPED = "stopped", "Stopped (vehicle stationary)"
        DRIVE_THROUGH = "drive_through", "Drive-through"
        UNKNOWN = "unknown", "Unknown (too few fixes)"
        NONE = "none", "Never inside the hot spot"
        PENDING = "", "Not computed yet"

    visit_id = models.UUIDField(unique=True, help_text="client-generated id of the visit")
    start_client_id = models.UUIDField(unique=True, help_text="client id of the start record")
    end_client_id = models.UUIDField(
        unique=True, null=True, blank=True, help_text="client id of the end record"
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patrol_visits"
    )
    hotspot = models.ForeignKey("analysis.HotSpot", on_delete=models.PROTECT, related_name="patrol_visits")
    device_id = models.UUIDField(null=True, blank=True)
    trial_day = models.DateField(db_index=True)
    trial_id = models.IntegerField(null=True, blank=True)
    arm = models.CharField(max_length=16, blank=True, help_text="treatment, control, or blank when no trial")
    slot = models.BooleanField(default=True, help_text="took a cap slot (a tasked visit within the cap)")
    offline_start = models.BooleanField(default=False, help_text="started while the phone was offline")
    target_minutes = models.FloatField(default=15.0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    # Times: the phone's clock (device) and the server's (received).
    started_at = models.DateTimeField(help_text="device clock when the officer pressed Start")
    start_received_at = models.DateTimeField()
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text="device clock when the officer pressed End"
    )
    end_received_at = models.DateTimeField(null=True, blank=True)
    # The form (P6). No personal data of members of the public: counts only.
    spoken_to = models.PositiveIntegerField(null=True, blank=True)
    searched = models.PositiveIntegerField(null=True, blank=True)
    arrested = models.PositiveIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)
    crewed_with = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    # Dose, computed on the server from the pings (the on-screen timer is only a display).
    dose_minutes = models.FloatField(default=0.0, help_text="minutes credited inside the geofence")
    entry_at = models.DateTimeField(null=True, blank=True)
    exit_at = models.DateTimeField(null=True, blank=True)
    mode = models.CharField(max_length=16, choices=Mode.choices, blank=True, default="")
    n_pings = models.PositiveIntegerField(default=0)
    n_segments = models.PositiveIntegerField(default=0, help_text="separate stretches inside the geofence")
    n_flagged_pings = models.PositiveIntegerField(default=0, help_text="clock or speed flags, for review")
    clock_offset_s = models.FloatField(default=0.0, help_text="server minus device clock (median over pings)")
    dose_computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "patrol_visit"
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["hotspot", "trial_day"], name="patrol_visit_hotspot_day")]

    def __str__(self) -> str:
        return f"Visit {self.visit_id} to {self.hotspot_id} by {self.officer_id}"


class Ping(models.Model):
    """One GPS fix sent by the phone during a visit: fix time, device send time and server receive time."""

    client_id = models.UUIDField(unique=True)
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Not a foreign key: a ping may arrive before its visit's start record (reordered delivery); it is
    # matched to the visit by this id when the dose is computed.
    visit_id = models.UUIDField(db_index=True)
    device_id = models.UUIDField(null=True, blank=True)
    seq = models.BigIntegerField(help_text="per-device sequence number")
    fix_time = models.DateTimeField(help_text="the position's own timestamp, device clock")
    device_sent_at = models.DateTimeField(help_text="device clock when the batch was sent")
    received_at = models.DateTimeField(help_text="server clock when the batch arrived")
    lon = models.FloatField()
    lat = models.FloatField()
    x = models.FloatField(help_text="easting, metres of the force's CRS")
    y = models.FloatField(help_text="northing, metres of the force's CRS")
    accuracy_m = models.FloatField(null=True, blank=True)
    speed_mps = models.FloatField(null=True, blank=True)
    payload_sha256 = models.CharField(max_length=64)

    class Meta:
        db_table = "patrol_ping"
        ordering = ["visit_id", "fix_time"]

    def __str__(self) -> str:
        return f"Ping {self.client_id} ({self.fix_time:%H:%M:%S})"


class SyncRecord(models.Model):
    """The receipt of one start or end record: who sent it, a hash of its payload and the answer given.

    Written in the same transaction as the record's effects. A retry with the same payload gets the stored
    answer again; a different payload under the same client id is refused (409).
    """

    class Kind(models.TextChoices):
        VISIT_START = "visit_start", "Visit start"
        VISIT_END = "visit_end", "Visit end and form"

    client_id = models.UUIDField(unique=True)
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    payload_sha256 = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    received_at = models.DateTimeField()
    replays = models.PositiveIntegerField(default=0, help_text="retries answered from this receipt")

    class Meta:
        db_table = "patrol_sync_record"

    def __str__(self) -> str:
        return f"{self.kind} {self.client_id} → {self.status_code}"


class AvlsImport(models.Model):
    """One AVLS / radio location file imported for untasked presence (P8)."""

    path = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64, unique=True)
    rows_read = models.IntegerField()
    officers = models.IntegerField()
    visits = models.IntegerField()
    imported_at = models.DateTimeField(auto_now_add=True)
    tenant = tenant_field()

    class Meta:
        db_table = "patrol_avls_import"

    def __str__(self) -> str:
        return f"AVLS {self.path} ({self.rows_read} rows)"


class AvlsPresence(models.Model):
    """A stretch of radio / vehicle presence in a hot spot, treated or control, by the same dose code."""

    source = models.ForeignKey(AvlsImport, on_delete=models.CASCADE, related_name="presence")
    hotspot = models.ForeignKey("analysis.HotSpot", on_delete=models.CASCADE, related_name="+")
    officer = models.CharField(max_length=100, help_text="officer or call sign as in the file")
    trial_day = models.DateField(db_index=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    minutes = models.FloatField()
    n_fixes = models.IntegerField()
    mode = models.CharField(max_length=16)

    class Meta:
        db_table = "patrol_avls_presence"
        ordering = ["hotspot", "start"]

    def __str__(self) -> str:
        return f"{self.officer} in {self.hotspot_id} {self.start:%Y-%m-%d %H:%M} ({self.minutes:.1f} min)"
