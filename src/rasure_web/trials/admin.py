"""Admin for trials: read-only once committed, refused attempts logged.

Trials are created and committed with ``rasure trial create|commit`` (or the services), never here: the
admin shows them, lets a draft be renamed or deleted, and refuses, with an access-log entry, any attempt
to change or delete a committed trial, its frozen set or its schedule.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join

from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.models import AccessLog
from rasure_web.trials.models import ScheduleEntry, Trial, TrialHotSpot


def _log_refused(request: HttpRequest, *, trial_id: Any, what: str) -> None:
    access_log_record(
        user=request.user,
        action=AccessLog.Action.REFUSED,
        resource="trial",
        object_ref=str(trial_id or ""),
        detail=f"refused in the admin: {what} (trial is committed)",
        request=request,
    )


@admin.register(Trial)
class TrialAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "tenant",
        "status",
        "created_at",
        "committed_at",
        "committed_by",
        "synthetic",
    )
    list_filter = ("tenant", "status", "synthetic")
    readonly_fields = (
        "tenant",  # set by `rasure trial create --force`; a committed trial's force never changes
        "frozen_set",
        "status",
        "design",
        "strata_rule",
        "analysis_run",
        "synthetic",
        "created_at",
        "created_by",
        "commitment_sha256",
        "manifest_json",
        "schedule_sha256",
        "code_revision",
        "committed_at",
        "committed_by",
        "completed_at",
    )
    # The revealed seed is shown only once the trial is completed (it is empty before).
    exclude = ("revealed_seed",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(self.readonly_fields)
        if obj is not None and obj.status == Trial.Status.COMPLETED:
            fields.append("revealed_seed_shown")
        return fields

    @admin.display(description="revealed seed")
    def revealed_seed_shown(self, obj: Trial) -> str:
        return obj.revealed_seed if obj.status == Trial.Status.COMPLETED else ""

    @admin.display(description="frozen set (hot spot, stratum, pair or block, geofence SHA-256)")
    def frozen_set(self, obj: Trial) -> str:
        rows = TrialHotSpot.objects.filter(trial=obj).order_by("hotspot_code")
        return format_html(
            "<table>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                ((r.hotspot_code, r.stratum, r.pair_or_block or "", r.geofence_sha256) for r in rows),
            ),
        )

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a bulk delete would reach committed trials
        return actions

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # `rasure trial create` freezes the hot spots and validates the design

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_frozen:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_frozen:
            return False
        return super().has_delete_permission(request, obj)

    def _frozen(self, request: HttpRequest, object_id: str | None) -> Trial | None:
        if not object_id:
            return None
        obj = self.get_object(request, unquote(object_id))
        return obj if obj is not None and obj.is_frozen else None

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Checked and logged before the admin opens its own transaction, so the entry is kept.
        if request.method == "POST" and (trial := self._frozen(request, object_id)) is not None:
            _log_refused(request, trial_id=trial.pk, what="change")
            raise PermissionDenied("This trial is committed: it cannot be changed.")
        return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if (trial := self._frozen(request, object_id)) is not None:
            _log_refused(request, trial_id=trial.pk, what="deletion")
            raise PermissionDenied("This trial is committed: it cannot be deleted.")
        return super().delete_view(request, object_id, extra_context)


@admin.register(ScheduleEntry)
class ScheduleEntryAdmin(admin.ModelAdmin):
    """View only: the schedule is written by ``trial_commit`` and never edited."""

    list_display = ("trial", "trial_day", "hotspot", "shift", "arm")
    list_filter = ("trial", "arm")
    date_hierarchy = "trial_day"

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST":
            entry = self.get_object(request, unquote(object_id)) if object_id else None
            _log_refused(
                request,
                trial_id=entry.trial_id if entry else "",
                what=f"change of schedule entry {object_id}",
            )
            raise PermissionDenied("The schedule cannot be changed.")
        return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        entry = self.get_object(request, unquote(object_id))
        _log_refused(
            request, trial_id=entry.trial_id if entry else "", what=f"deletion of schedule entry {object_id}"
        )
        raise PermissionDenied("The schedule cannot be changed.")
