from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "rasure_web.analysis"
    label = "analysis"
    verbose_name = "Hot-spot analysis"
