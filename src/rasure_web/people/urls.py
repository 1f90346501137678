from django.urls import path

from rasure_web.people import views

app_name = "people"
urlpatterns = [
    path("", views.people_list, name="list"),
    path("access/", views.access_page, name="access"),
    path("monitor/", views.monitor_page, name="monitor"),
    path("erase/", views.erase_page, name="erase"),
    path("<int:pk>/", views.person_page, name="person"),
    path("<int:pk>/review/", views.person_review, name="review"),
    path("<int:pk>/plan/", views.person_plan, name="plan"),
]
