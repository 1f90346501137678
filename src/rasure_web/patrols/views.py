"""The patrol PWA: the app shell, its service worker (served from /patrol/ so its scope covers the app)
and its web manifest. Everything else the app needs comes from the JSON API (rasure_web.patrols.api)."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie

from rasure_web.accounts.roles import OFFICER, has_role
from rasure_web.patrols.selectors import PING_INTERVAL_S

STATIC_DIR = Path(__file__).resolve().parent / "static" / "patrol"
#: The files the service worker keeps for offline use (paths under the static URL).
SHELL_FILES = (
    "patrol/app.css",
    "patrol/app.js",
    "patrol/api.js",
    "patrol/geo.js",
    "patrol/outbox.js",
    "patrol/views.js",
    "patrol/icons/icon.svg",
    "patrol/icons/icon-192.png",
    "patrol/icons/icon-512.png",
)


@lru_cache(maxsize=1)
def shell_version() -> str:
    """A hash of the app's files: a new version makes the service worker refresh its cache."""
    h = hashlib.sha256()
    for name in SHELL_FILES:
        h.update(name.encode())
        h.update((STATIC_DIR.parent / name).read_bytes())
    h.update((Path(__file__).resolve().parent / "templates" / "patrols" / "app.html").read_bytes())
    return h.hexdigest()[:12]


def _simulation_allowed() -> bool:
    # Browser tests speed up the ping interval and supply simulated fix times (docs/patrol-app.md);
    # never in production.
    return bool(getattr(settings, "RASURE_PATROL_SIMULATION", False)) and not settings.PRODUCTION


@never_cache
@ensure_csrf_cookie
@login_required
def app_shell(request: HttpRequest) -> HttpResponse:
    if not has_role(request.user, OFFICER):
        return render(request, "patrols/not_officer.html", status=403)
    return render(
        request,
        "patrols/app.html",
        {
            "version": shell_version(),
            "ping_interval_s": PING_INTERVAL_S,
            "simulation": _simulation_allowed(),
        },
    )


def _shell_urls() -> list[str]:
    # Both the (possibly hashed) static URL and the plain one: app.js imports its modules by relative
    # path, which the manifest storage does not rewrite.
    urls = ["/patrol/", "/patrol/manifest.webmanifest"]
    for name in SHELL_FILES:
        for url in (static(name), settings.STATIC_URL + name):
            if url not in urls:
                urls.append(url)
    return urls


@never_cache
def service_worker(request: HttpRequest) -> HttpResponse:
    body = render(
        request,
        "patrols/sw.js",
        {
            "version": shell_version(),
            "shell_files": json.dumps(_shell_urls()),
        },
        content_type="text/javascript; charset=utf-8",
    )
    body["Service-Worker-Allowed"] = "/patrol/"
    return body


def manifest(request: HttpRequest) -> HttpResponse:
    data = {
        "name": "Rasure patrol",
        "short_name": "Patrol",
        "description": "Today's hot spots, briefings and timed visits",
        "start_url": "/patrol/",
        "scope": "/patrol/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#0b3d91",
        "theme_color": "#0b3d91",
        "icons": [
            {"src": static("patrol/icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("patrol/icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("patrol/icons/icon.svg"),
                "sizes": "any",
                "type": "image/svg+xml",
                "purpose": "any",
            },
        ],
    }
    return HttpResponse(json.dumps(data, indent=1), content_type="application/manifest+json")
