from django.apps import AppConfig


class PatrolsConfig(AppConfig):
    name = "rasure_web.patrols"
    label = "patrols"
    verbose_name = "Patrols and the patrol app"
