from django.urls import path

from rasure_web.programme import views

app_name = "programme"
urlpatterns = [
    path("", views.programme_page, name="programme"),
    path("operations/<int:pk>/", views.operation_page, name="operation"),
]
