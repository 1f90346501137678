from django.contrib import admin

from rasure_web.accounts.personal_data import LogsPersonalDataAdmin
from rasure_web.crimes.models import Area, CrimeRecord, HarmTableInfo, HarmWeight, ImportRun


@admin.register(CrimeRecord)
class CrimeRecordAdmin(LogsPersonalDataAdmin, admin.ModelAdmin):
    list_display = (
        "reference",
        "source",
        "category",
        "offence_code",
        "occurred_from",
        "serious_violence",
        "harm_days",
    )
    list_filter = ("serious_violence", "sv_basis", "category", "time_precision", "weapon")
    search_fields = ("reference", "location_text", "lsoa_code")
    readonly_fields = ("import_run", "updated_at")


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = (
        "started_at",
        "trigger",
        "tenant",
        "kind",
        "path",
        "status",
        "rows_read",
        "inserted",
        "updated",
        "unchanged",
    )
    list_filter = ("status", "trigger", "tenant", "kind")
    search_fields = ("path", "error")


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "code", "parent", "synthetic")
    list_filter = ("kind",)


# People are not in the admin: its pages cannot ask why someone is looked at or log the look.
# They are seen only on the logged people pages (/dashboard/people/, docs/hot-people.md).


@admin.register(HarmWeight)
class HarmWeightAdmin(admin.ModelAdmin):
    list_display = ("tenant", "key_type", "key", "description", "cchi_days", "source")
    list_filter = ("tenant", "key_type")


admin.site.register(HarmTableInfo)
admin.site.site_header = "Rasure administration"
