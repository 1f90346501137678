from django.apps import AppConfig


class ProgrammeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "rasure_web.programme"
    verbose_name = "Programme (operations, training, seven-step model)"
