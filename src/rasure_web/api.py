"""The JSON API (django-ninja): typed schemas, OpenAPI document at /api/openapi.json."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI, Swagger

from rasure_web.patrols.api import router as patrol_router

_DOCS_TEMPLATE = "rasure/api_docs.html"


class LocalSwagger(Swagger):
    """The /api/docs page with Swagger UI from our vendored static files, never a CDN (police
    networks often have no internet). ninja renders ``template`` when "ninja" is an installed app
    and the file ``template_cdn`` otherwise; both are our template, which uses ``{% static %}``."""

    template = _DOCS_TEMPLATE
    template_cdn = str(Path(__file__).resolve().parent / "templates" / _DOCS_TEMPLATE)


# validatorUrl None: no badge fetched from validator.swagger.io.
docs = LocalSwagger(settings={"validatorUrl": None})
api = NinjaAPI(title="Rasure API", version="1", urls_namespace="api", docs_url="/docs", docs=docs)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(
        request, {"detail": str(exc) or "You may not do this.", "code": "forbidden"}, status=403
    )


@api.exception_handler(MultiPartParserError)
def _unreadable_form(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    """A form body Django cannot read (multipart without a boundary, a broken part): 415, not 500.

    Django's own handler answers these with 400, but ninja catches every exception raised while it
    authenticates (the session auth's CSRF check reads ``request.POST``, which parses the form) and
    would answer 500. The API takes JSON bodies only, so the media type is what is wrong."""
    return api.create_response(
        request,
        {
            "detail": f"This API takes application/json bodies; the form body could not be read ({exc}).",
            "code": "unsupported_media_type",
        },
        status=415,
    )


api.add_router("/patrol/", patrol_router)
