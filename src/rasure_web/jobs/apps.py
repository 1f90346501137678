from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "rasure_web.jobs"
    label = "jobs"
    verbose_name = "Scheduled jobs"
