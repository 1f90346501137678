from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from rasure_web.accounts.models import AccessLog


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only (DPA 2018 s.62)."""

    list_display = ("at", "username", "action", "resource", "object_ref", "ip_address")
    list_filter = ("action", "resource")
    search_fields = ("username", "object_ref")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
