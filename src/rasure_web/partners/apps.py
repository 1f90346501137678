from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "rasure_web.partners"
    label = "partners"
    verbose_name = "Partner organisations: data-sharing agreements and the partner portal"
