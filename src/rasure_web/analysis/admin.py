from django.contrib import admin

from rasure_web.analysis.models import AnalysisRun, HotSpot, Institution, PlaceDecision


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ("name", "type", "easting", "northing", "radius_m", "synthetic")


@admin.register(AnalysisRun)
class AnalysisRunAdmin(admin.ModelAdmin):
    list_display = ("created_at", "username", "records_in_window", "window_start", "window_end", "is_current")
    readonly_fields = [f.name for f in AnalysisRun._meta.fields]


@admin.register(HotSpot)
class HotSpotAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "period", "rank", "count", "harm", "persistence", "run")
    list_filter = ("period", "persistence")


@admin.register(PlaceDecision)
class PlaceDecisionAdmin(admin.ModelAdmin):
    """Analysts' decisions on places held apart (recording addresses, institutions); builds reuse them."""

    list_display = ("location", "decision", "easting", "northing", "username", "decided_at")
    list_filter = ("decision",)
    search_fields = ("location", "note")
