"""The access log: who viewed or exported personal data, and when (DPA 2018 s.62).

Append-only. The model refuses updates and deletes, and a database trigger (see the
migration) refuses them too, so not even a raw SQL session through the app's
connection can rewrite history. Each entry is also a link of a hash chain
(:mod:`rasure_web.accounts.chain`), so what a trigger cannot stop (the database owner, a dropped
trigger, an emptied table) is detected by ``rasure audit verify``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from rasure.errors import RasureError
from rasure_web import clock


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete an access-log entry."""


class AccessLog(models.Model):
    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        EXPORT = "export", "Exported"
        SEARCH = "search", "Searched"
        REFUSED = "refused", "Refused"
        IMPORT = "import", "Imported"
        SIGN_IN = "sign_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        SIGN_OUT = "sign_out", "Signed out"
        AUDIT = "audit", "Audited"
        DELETE = "delete", "Deleted (retention)"
        GRANT = "grant", "Granted access"
        ERASE = "erase", "Erased (a person's entry, on a decision)"
        QUEUE = "queue", "Queued a job (e.g. a hot-spot rebuild)"

    at = models.DateTimeField(default=clock.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    username = models.CharField(max_length=150)  # kept even if the account is renamed
    action = models.CharField(max_length=16, choices=Action.choices)
    resource = models.CharField(max_length=100)  # e.g. "person", "crime_record", "hotspot_crimes"
    object_ref = models.CharField(max_length=200, blank=True)
    detail = models.TextField(blank=True)
    path = models.CharField(max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # The hash chain (rasure_web.accounts.chain): written once by chain.append, never changed.
    seq = models.BigIntegerField(null=True, unique=True, editable=False)
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    row_hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        db_table = "access_log"
        ordering = ["-at"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("The access log is append-only: entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("The access log is append-only: entries cannot be deleted.")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.resource} {self.object_ref}"


# --- who uses it: forces, organisations, teams, officers' profiles ------------------------------------

FORCE_CODE_RE = r"^[A-Z][A-Z0-9]{1,15}$"
TEAM_CODE_RE = r"^[A-Z0-9][A-Z0-9_-]{0,31}$"


class Force(models.Model):
    """A police force using this installation (the unit every record will later be scoped by)."""

    code = models.CharField(
        max_length=16,
        unique=True,
        validators=[RegexValidator(FORCE_CODE_RE, "a short uppercase code such as TVP (letters and digits)")],
        help_text="Short uppercase code, e.g. TVP",
    )
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="Europe/London")
    crs = models.CharField(
        max_length=32,
        default="EPSG:27700",
        validators=[RegexValidator(r"^EPSG:\d{4,6}$", "an EPSG code such as EPSG:27700")],
        help_text="Projected coordinate reference system in metres that the force's coordinates are "
        "stored in, e.g. EPSG:27700 (British National Grid); it cannot change once the force holds records",
    )
    synthetic = models.BooleanField(default=False)

    class Meta:
        db_table = "force"
        ordering = ["code"]

    def _crs_refusal(self) -> str | None:
        from rasure_web.accounts.tenancy import crs_change_refusal

        if self.pk is None:
            return None
        stored = Force.objects.filter(pk=self.pk).first()
        return crs_change_refusal(stored, self.crs) if stored is not None else None

    def clean(self) -> None:
        super().clean()
        why = self._crs_refusal()
        if why:
            raise ValidationError({"crs": why})

    def save(self, *args: Any, **kwargs: Any) -> None:
        why = self._crs_refusal()
        if why:
            raise RasureError(why)
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Organisation(models.Model):
    """A force or a partner organisation (council, health, education, charity, VRU ...)."""

    class Kind(models.TextChoices):
        FORCE = "force", "Police force"
        COUNCIL = "council", "Council"
        HEALTH = "health", "Health"
        EDUCATION = "education", "Education"
        CHARITY = "charity", "Charity"
        VRU = "vru", "Violence reduction unit"
        OTHER = "other", "Other"

    code = models.CharField(
        max_length=32,
        unique=True,
        validators=[RegexValidator(TEAM_CODE_RE, "uppercase letters, digits, '-' or '_'")],
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    force = models.ForeignKey(
        Force, null=True, blank=True, on_delete=models.PROTECT, related_name="organisations"
    )

    class Meta:
        db_table = "organisation"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Team(models.Model):
    """A team within a force: neighbourhood, response or a specialist unit."""

    class Kind(models.TextChoices):
        NEIGHBOURHOOD = "neighbourhood", "Neighbourhood"
        RESPONSE = "response", "Response"
        SPECIALIST = "specialist", "Specialist"

    class Unit(models.TextChoices):
        NONE = "", "(none)"
        DOGS = "dogs", "Dogs"
        FIREARMS = "firearms", "Firearms"
        ROADS = "roads", "Roads policing"
        JOINT = "joint", "Joint operations"
        OTHER = "other", "Other specialist unit"

    force = models.ForeignKey(Force, on_delete=models.PROTECT, related_name="teams")
    code = models.CharField(
        max_length=32, validators=[RegexValidator(TEAM_CODE_RE, "uppercase letters, digits, '-' or '_'")]
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    specialist_unit = models.CharField(max_length=16, choices=Unit.choices, blank=True, default="")
    lpa_code = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="Code of the local policing area (Area of kind 'lpa')",
    )

    class Meta:
        db_table = "team"
        ordering = ["force__code", "code"]
        constraints = [models.UniqueConstraint(fields=["force", "code"], name="team_force_code_unique")]

    def __str__(self) -> str:
        return f"{self.force.code}/{self.code} {self.name}"


class Profile(models.Model):
    """Who a user is at work: their force, organisation, team and collar number."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    force = models.ForeignKey(Force, null=True, blank=True, on_delete=models.PROTECT, related_name="profiles")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="profiles"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="profiles")
    collar_number = models.CharField(max_length=16, blank=True, default="")
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "profile"
        constraints = [
            models.UniqueConstraint(
                fields=["force", "collar_number"],
                condition=~models.Q(collar_number=""),
                name="profile_collar_unique_in_force",
            )
        ]

    def __str__(self) -> str:
        collar = f" {self.collar_number}" if self.collar_number else ""
        return f"{self.user}{collar}"


class SsoIdentity(models.Model):
    """Which account a person at an identity provider signs in to: matched on (issuer, subject), never on
    the username, so single sign-on cannot take over a local account that happens to share a name."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity"
    )
    issuer = models.CharField(max_length=300)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=clock.now)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "sso_identity"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_issuer_subject")
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


class ForceGrant(models.Model):
    """An explicit grant letting a user see another force's data (a regional or national role, such as
    a researcher or a VRU analyst across forces). Never a default: created by
    ``rasure users grant`` with a reason, logged, revocable and optionally time-limited."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="force_grants")
    force = models.ForeignKey(Force, on_delete=models.PROTECT, related_name="grants")
    reason = models.TextField()
    granted_by = models.CharField(max_length=150)
    granted_at = models.DateTimeField(default=clock.now)
    until = models.DateField(
        null=True, blank=True, help_text="last day the grant holds (blank: until revoked)"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "force_grant"
        ordering = ["-granted_at"]

    def __str__(self) -> str:
        return f"{self.user} → {self.force.code}"
