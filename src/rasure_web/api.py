"""The JSON API (django-ninja): typed schemas, OpenAPI document at /api/openapi.json."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from rasure_web.patrols.api import router as patrol_router

api = NinjaAPI(title="Rasure API", version="1", urls_namespace="api", docs_url="/docs")


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(
        request, {"detail": str(exc) or "You may not do this.", "code": "forbidden"}, status=403
    )


api.add_router("/patrol/", patrol_router)
