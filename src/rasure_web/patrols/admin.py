"""Admin: briefings are edited here until the dashboard has its own page; patrol records are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from rasure_web.accounts.personal_data import LogsPersonalDataAdmin
from rasure_web.patrols.models import AvlsImport, AvlsPresence, HotSpotBriefing, Ping, Visit


@admin.register(HotSpotBriefing)
class HotSpotBriefingAdmin(LogsPersonalDataAdmin, admin.ModelAdmin):
    list_display = ("hotspot", "contact_name", "updated_by", "updated_at")
    search_fields = ("hotspot__code", "hotspot__name", "contact_name")
    readonly_fields = ("updated_by", "updated_at")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Visit)
class VisitAdmin(LogsPersonalDataAdmin, ReadOnly):
    list_display = ("visit_id", "officer", "hotspot", "trial_day", "slot", "status", "dose_minutes", "mode")
    list_filter = ("trial_day", "status", "mode", "slot")


@admin.register(Ping)
class PingAdmin(LogsPersonalDataAdmin, ReadOnly):
    list_display = ("client_id", "officer", "visit_id", "fix_time", "received_at")


@admin.register(AvlsImport)
class AvlsImportAdmin(ReadOnly):
    list_display = ("path", "rows_read", "officers", "visits", "imported_at")


@admin.register(AvlsPresence)
class AvlsPresenceAdmin(LogsPersonalDataAdmin, ReadOnly):
    list_display = ("officer", "hotspot", "trial_day", "start", "minutes", "mode")
