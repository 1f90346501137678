from typing import Any

from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog
from axes.models import AccessLog as AxesAccessLog
from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth.models import User
from django.http import HttpRequest

from rasure_web.accounts.models import AccessLog, Force, ForceGrant, Organisation, Profile, Team
from rasure_web.accounts.personal_data import LogsPersonalDataAdmin


def _logged(model: Any, base: type[admin.ModelAdmin]) -> None:
    """Django's and django-axes' own admin pages of people and sign-ins, logged (DPA 2018 s.62)."""
    if admin.site.is_registered(model):
        admin.site.unregister(model)
        admin.site.register(model, type(f"Logged{base.__name__}", (LogsPersonalDataAdmin, base), {}))


_logged(User, auth_admin.UserAdmin)
_logged(AccessAttempt, axes_admin.AccessAttemptAdmin)
_logged(AxesAccessLog, axes_admin.AccessLogAdmin)
_logged(AccessFailureLog, axes_admin.AccessFailureLogAdmin)


@admin.register(AccessLog)
class AccessLogAdmin(LogsPersonalDataAdmin, admin.ModelAdmin):
    """Read-only: the log is append-only (DPA 2018 s.62)."""

    list_display = ("seq", "at", "username", "action", "resource", "object_ref", "ip_address")
    list_filter = ("action", "resource")
    search_fields = ("username", "object_ref")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Force)
class ForceAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "time_zone", "crs", "synthetic")
    search_fields = ("code", "name")


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "force")
    list_filter = ("kind", "force")
    search_fields = ("code", "name")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("force", "code", "name", "kind", "specialist_unit", "lpa_code")
    list_filter = ("force", "kind", "specialist_unit")
    search_fields = ("code", "name", "lpa_code")


@admin.register(Profile)
class ProfileAdmin(LogsPersonalDataAdmin, admin.ModelAdmin):
    list_display = ("user", "collar_number", "force", "organisation", "team", "updated_at")
    list_filter = ("force", "organisation", "team")
    search_fields = ("user__username", "user__first_name", "user__last_name", "collar_number")
    list_select_related = ("user", "force", "organisation", "team")
    raw_id_fields = ("user",)


@admin.register(ForceGrant)
class ForceGrantAdmin(LogsPersonalDataAdmin, admin.ModelAdmin):
    """Cross-force grants, to read and audit. They are made and revoked with ``rasure users grant`` and
    ``rasure users revoke``, which log them; here they cannot be added or changed."""

    list_display = ("user", "force", "granted_by", "granted_at", "until", "revoked_at")
    list_filter = ("force",)
    search_fields = ("user__username", "reason", "granted_by")
    list_select_related = ("user", "force")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
