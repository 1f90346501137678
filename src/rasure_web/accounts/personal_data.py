"""Where Rasure shows personal data, and so must log it (DPA 2018 s.62): the one list.

Every URL pattern and every admin model is classified here, either as showing personal data (with
the ``resource`` its access-log entries carry) or as not, with the reason. ``tests/web/
test_personal_data_coverage.py`` walks every URL pattern and every model registered in the admin:
one that is not classified fails the test, and each personal one is visited and must leave an entry.
So a new page or admin model cannot show personal data unlogged by accident.

Personal data here means data about an identifiable person: officers (accounts, profiles, visits,
GPS pings, vehicle locations, who signed in and from where), people in crime records, a partner's
named contact, and the access log itself (who looked at what).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.models import AccessLog

#: Admin models whose pages (list, search, object, history, delete confirmation) show personal data.
ADMIN_PERSONAL: dict[str, str] = {
    "auth.User": "user_account",
    "accounts.Profile": "profile",
    "accounts.ForceGrant": "force_grant",
    "accounts.AccessLog": "access_log",
    "axes.AccessAttempt": "failed_sign_ins",
    "axes.AccessFailureLog": "failed_sign_ins",
    "axes.AccessLog": "sign_in_history",
    "crimes.CrimeRecord": "crime_record",
    "patrols.Visit": "visit",
    "patrols.Ping": "gps_ping",
    "patrols.AvlsPresence": "avls_presence",
    "patrols.HotSpotBriefing": "briefing_contact",
    "programme.TrainingRecord": "training_record",
}

#: Admin models that hold no personal data, and why.
ADMIN_NOT_PERSONAL: dict[str, str] = {
    "auth.Group": "role names",
    "accounts.Force": "a force's code, name, time zone",
    "accounts.Organisation": "organisations, not people",
    "accounts.Team": "teams, not people",
    "crimes.ImportRun": "file names and row counts",
    "django_q.Schedule": "when each scheduled job runs",
    "django_q.Success": "scheduled jobs' summaries: file names and counts",
    "django_q.Failure": "scheduled jobs' summaries: file names, counts and why a file was rejected",
    "django_q.OrmQ": "jobs waiting to run (which job, when)",
    "crimes.Area": "areas (LSOA, ward, LPA)",
    "crimes.HarmWeight": "the harm index table",
    "crimes.HarmTableInfo": "where the harm table came from",
    "analysis.Institution": "schools, hospitals and other places",
    "analysis.AnalysisRun": "parameters of a hot-spot analysis",
    "analysis.HotSpot": "places and their aggregate counts",
    "trials.Trial": "a trial's design and commitment",
    "trials.ScheduleEntry": "which place is treated on which day",
    "patrols.AvlsImport": "file names and counts",
    "programme.Operation": "an operation's plan",
    "programme.Course": "training courses",
    "programme.ModelStep": "steps of the operating model",
    "programme.ForceProgrammeSetting": "a force's on/off choices for the programme pages",
    "analysis.PlaceDecision": "an analyst's decision on a place held apart",
    "partners.DataSharingAgreement": "an organisation's agreement (purpose, areas, dates; its signatory as a work contact)",
}

#: URL names (``namespace:name``) whose responses show personal data, with their resource. The map's
#: data URL shows personal data only for the ``crimes`` layer (the others are aggregates).
URL_PERSONAL: dict[str, str] = {
    "login": "session",  # every sign-in and failed sign-in (signals, rasure_web.accounts.signin)
    "oidc_authentication_callback": "session",
    "logout": "session",
    "dashboard:map-data": "map_crimes",
    "dashboard:hotspot": "hotspot_crimes",
    "dashboard:briefing-sheet": "briefing_sheet",
    "dashboard:patrols": "patrol_monitoring",
    "dashboard:export-hotspots": "hotspots",
    "api:hotspot_briefing": "briefing_contact",
    "api:colleagues": "colleagues",
    "api:visit_detail": "visit",
    "people:list": "people_list",
    "people:person": "person",
    "people:access": "people_access_log",
    "people:monitor": "people_monitor",  # counts only, no one named (logged all the same)
    "programme:team": "team_delivery",
    "programme:officer": "officer_delivery",
    "programme:officer-csv": "officer_delivery",
    "programme:recognition": "peer_recognition",  # logged when the force has it on (names shown)
    "dashboard:institutions": "institution_plan",  # plan owners are named work contacts
    "dashboard:institution": "institution_plan",  # owner and who edited the plan, in its history
}

#: URL names that show no personal data, and why. Admin model pages are classified by model above.
URL_NOT_PERSONAL: dict[str, str] = {
    "home": "redirects by role",
    "force-switch": "a form post that changes the force the user acts for (logged); a GET redirects home",
    "oidc_authentication_init": "redirects to the identity provider",
    "admin:index": "the list of admin pages",
    "admin:login": "the sign-in form (sign-ins are logged by the signals)",
    "admin:logout": "sign-out (logged by the signals)",
    "admin:password_change": "the signed-in user's own password form",
    "admin:password_change_done": "a confirmation",
    "admin:auth_user_password_change": "a form that sets a password; shows only the username",
    "admin:autocomplete": "no admin uses autocomplete_fields (the coverage test checks)",
    "admin:jsi18n": "translations",
    "admin:view_on_site": "a redirect to the object's page, which is classified itself",
    "admin:app_list": "the list of an app's admin pages",
    "api:openapi-json": "the API's description",
    "api:openapi-view": "the API's documentation page",
    "api:api-root": "the API's index",
    "api:today": "today's hot spots and patrol rules",
    "api:hotspots_nearest": "the nearest hot spots to a point the officer gives",
    "api:visit_start": "the officer's own record, written, not shown to anyone else",
    "api:pings": "the officer's own GPS pings, written, not shown",
    "api:visit_end": "the officer's own record, written",
    "api:records_status": "which of the officer's own record ids arrived",
    "trials:list": "trials",
    "trials:detail": "a trial's design, commitment and audit result",
    "trials:commitment": "the public commitment document",
    "trials:results": "a trial's stored evaluation: aggregate outcomes, costs and charts, no person",
    "patrols:app": "the app's page (data comes from the API)",
    "patrols:sw": "the app's service worker",
    "patrols:manifest": "the app's manifest",
    "dashboard:overview": "aggregate counts",
    "jobs:imports": "import runs: file names, counts and why a file was rejected",
    "dashboard:map": "the map page (data comes from map-data)",
    "people:review": "a form post; a GET goes back to the person page (logged)",
    "people:plan": "a form post; a GET goes back to the person page (logged)",
    "people:erase": "an administrator's form; shows only the reference typed in (the erasure itself is logged)",
    "programme:programme": "operations and courses",
    "programme:operation": "an operation's plan and steps",
    "programme:delivery": "delivery by local policing area, aggregate",
    "programme:area": "delivery by team, aggregate",
    "programme:me": "redirects to the officer's own page (programme:officer, logged)",
    "dashboard:briefing-edit": "a form post that saves a briefing; a GET redirects to the hot-spot page (logged)",
    "dashboard:review": "places held apart (recording addresses, institutions) with their counts, no people",
    "partners:portal": "small numbers suppressed aggregates by area and month, no people (logged all the same)",
    "partners:map-data": "hot-spot outlines and suppressed area counts, no people (logged all the same)",
    "partners:upload": "a partner's upload of anonymised assault data (no person fields are accepted)",
    "partners:data": "anonymised assaults by month and area beside police counts (logged all the same)",
    "partners:data-points": "anonymised assault locations (no person fields are accepted; logged all the same)",
    "partners:rebuild": "queues a rebuild of the force's hot spots (an analyst's choice; logged); shows nothing",
    "partners:rebuild-status": "the status of the force's hot-spot rebuilds (which analyst asked, when done); "
    "no one in the data",
}


class LogsPersonalDataAdmin:
    """ModelAdmin mixin: every list, search, object, history and delete page is logged before it is
    shown, under the resource :data:`ADMIN_PERSONAL` gives the model."""

    model: Any

    def _log(self, request: HttpRequest, *, object_ref: str = "", what: str) -> None:
        query = request.GET.get("q", "")
        access_log_record(
            user=request.user,
            action=AccessLog.Action.SEARCH if query else AccessLog.Action.VIEW,
            resource=ADMIN_PERSONAL[self.model._meta.label],
            object_ref=object_ref,
            detail=f"admin {what}" + (f", search {query!r}" if query else ""),
            request=request,
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        self._log(request, what="list")
        return super().changelist_view(request, extra_context)  # type: ignore[misc]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        self._log(request, object_ref=object_id, what="object")
        return super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        self._log(request, object_ref=object_id, what="history")
        return super().history_view(request, object_id, extra_context)  # type: ignore[misc]

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        self._log(request, object_ref=object_id, what="delete page")
        return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
