from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from rasure_web.accounts.sso import SsoCallback, SsoStart
from rasure_web.accounts.views import SignInView, force_switch, home
from rasure_web.api import api

urlpatterns = [
    path("", home, name="home"),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/oidc/start/", SsoStart.as_view(), name="oidc_authentication_init"),
    path("accounts/oidc/callback/", SsoCallback.as_view(), name="oidc_authentication_callback"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/force/", force_switch, name="force-switch"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("trials/", include("rasure_web.trials.urls")),
    path("patrol/", include("rasure_web.patrols.urls")),
    path("dashboard/people/", include("rasure_web.people.urls")),
    path("dashboard/imports/", include("rasure_web.jobs.urls")),
    path("dashboard/", include("rasure_web.dashboard.urls")),
    path("programme/", include("rasure_web.programme.urls")),
    path("partners/", include("rasure_web.partners.urls")),
]

# A refusal page a person can read (JSON under /api/); see rasure_web.accounts.views.permission_denied.
handler403 = "rasure_web.accounts.views.permission_denied"
