from django.urls import path

from rasure_web.trials import views

app_name = "trials"
urlpatterns = [
    path("", views.trial_list, name="list"),
    path("<int:trial_id>/", views.trial_detail, name="detail"),
    path("<int:trial_id>/commitment.json", views.trial_commitment, name="commitment"),
    path("<int:trial_id>/results/", views.trial_results, name="results"),
]
