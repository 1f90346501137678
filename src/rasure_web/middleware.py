"""Project middleware."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

#: What authenticated pages and API answers say to caches: keep no copy anywhere (shared computers,
#: proxies, the browser's back-forward and disk caches). The patrol app's service worker keeps its own
#: copies with the Cache API, which does not read Cache-Control (patrols/templates/patrols/sw.js).
NO_STORE = "private, no-store"


class NoStoreMiddleware:
    """``Cache-Control: private, no-store`` on every API answer and every page for a signed-in user.

    Static files are left cacheable: WhiteNoise answers them before this middleware runs (it sits
    below WhiteNoise in MIDDLEWARE), and the static URL is skipped here too for the development
    server. The sign-in page and other anonymous pages keep what their views set."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        path = request.path_info
        if settings.STATIC_URL and path.startswith(settings.STATIC_URL):
            return response
        user = getattr(request, "user", None)
        if path.startswith("/api/") or (user is not None and user.is_authenticated):
            response["Cache-Control"] = NO_STORE
            if "Expires" in response:
                del response["Expires"]
        return response
