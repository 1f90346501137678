from django.urls import path

from rasure_web.partners import views

app_name = "partners"
urlpatterns = [
    path("", views.portal, name="portal"),
    path("map.json", views.map_data, name="map-data"),
    path("upload/", views.upload, name="upload"),
    path("data/", views.partner_data, name="data"),
    path("data/points.json", views.partner_points, name="data-points"),
    path("data/rebuild/", views.rebuild_hotspots, name="rebuild"),
    path("data/rebuild/status.json", views.rebuild_status, name="rebuild-status"),
]
