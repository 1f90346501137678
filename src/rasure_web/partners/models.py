"""Data-sharing agreements: what a partner organisation may see, for what purpose, until when (D8).

Nothing in the partner portal is visible to an organisation without a *live* agreement: started,
not expired, not revoked, on the day of the request in the force's time zone (read through
:mod:`rasure_web.clock` on every request, so an expiry or a revocation takes effect on the next click).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from rasure_web.accounts.tenancy import tenant_field


class DataClass(models.TextChoices):
    """The kinds of figures an agreement can share. Every one is an aggregate: no person, no crime
    reference, small numbers suppressed."""

    CRIME_COUNTS = "crime_counts", "Serious violence: counts and harm by area and month, trends"
    HOT_SPOTS = "hot_spots", "Hot-spot areas on a map"
    HOT_TIMES = "hot_times", "Hot times (day of week and time of day)"
    PATROLS = "patrols", "Patrol activity in hot spots (visits and minutes, no officers)"


class DataSharingAgreement(models.Model):
    """One signed agreement between one force (``tenant``) and one partner organisation: it shares
    that force's figures, for areas of that force only."""

    reference = models.CharField(
        max_length=32,
        unique=True,
        validators=[
            RegexValidator(r"^[A-Z0-9][A-Z0-9_/-]{1,31}$", "uppercase letters, digits, '-', '/' or '_'")
        ],
        help_text="The agreement's reference, e.g. DSA-2026-014",
    )
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="sharing_agreements"
    )
    tenant = tenant_field(help_text="the force whose data the agreement shares (rasure_web.accounts.tenancy)")
    purpose = models.TextField(help_text="Why the data are shared, in the agreement's words")
    areas = models.ManyToManyField(
        "crimes.Area",
        related_name="+",
        help_text="The local policing areas (or neighbourhoods) the agreement covers",
    )
    data_classes = models.JSONField(default=list, help_text="Which kinds of figures are shared")
    starts_on = models.DateField()
    expires_on = models.DateField(help_text="The last day the agreement is in force")
    signed_off_by = models.CharField(
        max_length=200,
        help_text="Name and post of who signed it off for the force, e.g. the data protection officer",
    )
    signed_off_on = models.DateField()
    revoked_at = models.DateTimeField(null=True, blank=True, help_text="Set to end the agreement early")
    small_number_threshold = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Counts below this are shown as 'fewer than N'. Blank: the installation's setting "
        "(RASURE_PARTNER_SMALL_NUMBER_THRESHOLD, default 5). It can raise the setting, never lower it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "data_sharing_agreement"
        ordering = ["organisation__code", "-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_on__gte=models.F("starts_on")), name="dsa_expires_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.organisation.code} {self.starts_on} to {self.expires_on}"

    def clean_areas(self, areas: Any) -> None:
        """Refuse areas of another force (the admin's form calls this; so does the demo)."""
        foreign = [a for a in areas if a.tenant_id != self.tenant_id]
        if foreign:
            names = ", ".join(f"{a.name} ({a.code})" for a in foreign[:10])
            raise ValidationError(
                {
                    "areas": f"{names}: not areas of this agreement's force. An agreement shares one "
                    "force's data: choose that force's areas, or make a second agreement for the other."
                }
            )

    def is_live(self, on: dt.date) -> bool:
        return self.revoked_at is None and self.starts_on <= on <= self.expires_on

    def shares(self, data_class: str) -> bool:
        return data_class in (self.data_classes or [])


class PartnerUpload(models.Model):
    """One file of partner data loaded whole (a rejected file stores nothing but the access-log entry).

    It belongs to the force of the agreement it was sent under (``tenant``); its records are that
    force's partner records, seen by that force's analysts only."""

    class Kind(models.TextChoices):
        ED_ASSAULTS = "ed_assaults", "Emergency-department assaults (Cardiff Model)"

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="uploads"
    )
    tenant = tenant_field(
        help_text="the force of the agreement it was sent under (rasure_web.accounts.tenancy)"
    )
    agreement = models.ForeignKey(
        DataSharingAgreement,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="uploads",
        help_text="the data-sharing agreement it was sent under",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ED_ASSAULTS)
    filename = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)
    username = models.CharField(max_length=150)
    uploaded_at = models.DateTimeField()
    rows = models.PositiveIntegerField(default=0)
    located = models.PositiveIntegerField(default=0, help_text="rows placed in a neighbourhood")

    class Meta:
        db_table = "partner_upload"
        ordering = ["-uploaded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "organisation", "kind", "sha256"], name="partner_upload_once_per_force"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation.code} {self.filename} ({self.rows} rows)"


class PartnerRecord(models.Model):
    """One anonymised assault seen by a partner (no identity: the file has none). Its force is its
    upload's (``upload__tenant``)."""

    upload = models.ForeignKey(PartnerUpload, on_delete=models.CASCADE, related_name="records")
    occurred_on = models.DateField(db_index=True)
    occurred_time = models.TimeField(null=True, blank=True)
    location_text = models.CharField(max_length=300, blank=True)
    easting = models.FloatField(null=True)
    northing = models.FloatField(null=True)
    lon = models.FloatField(null=True)
    lat = models.FloatField(null=True)
    lsoa_code = models.CharField(max_length=16, blank=True, db_index=True)
    located_by = models.CharField(max_length=16, blank=True, help_text="coordinates, place name, or blank")
    weapon = models.CharField(max_length=16)
    assault = models.CharField(max_length=16)

    class Meta:
        db_table = "partner_record"
