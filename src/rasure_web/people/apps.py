from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "rasure_web.people"
    label = "people"
    verbose_name = "Hot people (restricted)"
