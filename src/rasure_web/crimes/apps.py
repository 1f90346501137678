from django.apps import AppConfig


class CrimesConfig(AppConfig):
    name = "rasure_web.crimes"
    label = "crimes"
    verbose_name = "Crime records"
