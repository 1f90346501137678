"""The JSON API (django-ninja): typed schemas, OpenAPI document at /api/openapi.json."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(title="Rasure API", version="1", urls_namespace="api", docs_url="/docs")
