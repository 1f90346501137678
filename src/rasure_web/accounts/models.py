"""The access log: who viewed or exported personal data, and when (DPA 2018 s.62).

Append-only. The model refuses updates and deletes, and a database trigger (see the
migration) refuses them too, so not even a raw SQL session through the app's
connection can rewrite history.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

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

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    username = models.CharField(max_length=150)  # kept even if the account is renamed
    action = models.CharField(max_length=16, choices=Action.choices)
    resource = models.CharField(max_length=100)  # e.g. "person", "crime_record", "hotspot_crimes"
    object_ref = models.CharField(max_length=200, blank=True)
    detail = models.TextField(blank=True)
    path = models.CharField(max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

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
