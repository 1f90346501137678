from django.urls import path

from rasure_web.patrols import views

app_name = "patrols"
urlpatterns = [
    path("", views.app_shell, name="app"),
    path("sw.js", views.service_worker, name="sw"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
]
