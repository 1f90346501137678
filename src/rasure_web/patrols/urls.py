from django.urls import path

app_name = "patrols"
urlpatterns: list[path] = []  # type: ignore[valid-type]
