from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "rasure_web.dashboard"
    label = "dashboard"
    verbose_name = "Serious-violence dashboard"
