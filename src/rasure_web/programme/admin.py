from django.contrib import admin

from rasure_web.accounts.personal_data import LogsPersonalDataAdmin
from rasure_web.programme.models import (
    Course,
    ForceProgrammeSetting,
    ModelStep,
    Operation,
    StepStatus,
    TrainingRecord,
)


@admin.register(Operation)
class OperationAdmin(admin.ModelAdmin):
    list_display = ("name", "force", "lpa_code", "start", "end", "budget_gbp", "synthetic")
    list_filter = ("force", "lpa_code")
    filter_horizontal = ("hotspots",)
    raw_id_fields = ("analysis_run",)


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("name", "force", "kind", "refresher_months")


@admin.register(TrainingRecord)
class TrainingRecordAdmin(LogsPersonalDataAdmin, admin.ModelAdmin):
    list_display = ("course", "user", "attendee_name", "attendee_organisation", "attended_on", "synthetic")
    list_filter = ("course",)
    raw_id_fields = ("user",)


class StepStatusInline(admin.TabularInline):
    model = StepStatus
    extra = 0


@admin.register(ModelStep)
class ModelStepAdmin(admin.ModelAdmin):
    list_display = ("number", "name", "force")
    inlines = [StepStatusInline]


@admin.register(ForceProgrammeSetting)
class ForceProgrammeSettingAdmin(admin.ModelAdmin):
    list_display = ("force", "peer_recognition")
