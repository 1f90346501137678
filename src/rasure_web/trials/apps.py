from django.apps import AppConfig


class TrialsConfig(AppConfig):
    name = "rasure_web.trials"
    label = "trials"
    verbose_name = "Randomised trials"
