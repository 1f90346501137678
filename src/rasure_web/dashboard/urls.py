from django.urls import path

from rasure_web.dashboard import institution_views, views

app_name = "dashboard"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("map/", views.map_page, name="map"),
    path("map/<str:layer>.json", views.map_data, name="map-data"),
    path("hotspots/<int:pk>/", views.hotspot_page, name="hotspot"),
    path("hotspots/<int:pk>/sheet/", views.briefing_sheet, name="briefing-sheet"),
    path("hotspots/<int:pk>/briefing/", views.briefing_edit, name="briefing-edit"),
    path("patrols/", views.patrols_page, name="patrols"),
    path("review/", views.review_page, name="review"),
    path("institutions/", institution_views.institutions_page, name="institutions"),
    path("institutions/<int:pk>/", institution_views.institution_page, name="institution"),
    path("export/hotspots.<str:fmt>", views.export_hotspots, name="export-hotspots"),
]
