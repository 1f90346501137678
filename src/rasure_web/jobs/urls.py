from django.urls import path

from rasure_web.jobs import views

app_name = "jobs"
urlpatterns = [
    path("", views.imports_page, name="imports"),
]
