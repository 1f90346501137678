"""/api/docs renders in a real browser with every request off this server blocked (no CDN)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_offline(page: Any, live_server: Any) -> None:
    local = urlsplit(live_server.url).netloc
    blocked: list[str] = []
    errors: list[str] = []

    def only_this_server(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).netloc == local:
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", only_this_server)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/api/docs")
    ops = page.locator(".opblock")
    ops.first.wait_for(state="visible", timeout=20_000)
    assert ops.count() >= 5  # the patrol API's operations
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("Rasure API")
    page.locator(".opblock-summary").first.click()  # an operation opens (the UI is live, not just drawn)
    page.locator(".opblock-body").first.wait_for(state="visible")
    assert blocked == [], f"the page tried to reach other hosts: {blocked}"
    assert errors == []
