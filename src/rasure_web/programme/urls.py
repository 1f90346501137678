from django.urls import path

from rasure_web.programme import views

app_name = "programme"
urlpatterns = [
    path("", views.programme_page, name="programme"),
    path("operations/<int:pk>/", views.operation_page, name="operation"),
    path("delivery/", views.delivery_force, name="delivery"),
    path("delivery/area/", views.delivery_area, name="area"),
    path("delivery/team/<int:pk>/", views.delivery_team, name="team"),
    path("delivery/officer/<int:pk>/", views.delivery_officer, name="officer"),
    path("delivery/officer/<int:pk>/pdr.csv", views.delivery_officer_csv, name="officer-csv"),
    path("me/", views.my_delivery, name="me"),
    path("recognition/", views.recognition_page, name="recognition"),
]
