"""The patrol app's outbox survives an expired session (real headless Chromium at phone size).

An officer starts a visit; the session ends on the server (its rows are deleted, as when it expires or
an administrator ends it); the officer walks on, ends the visit and sends the form. The API answers 401,
so every record stays in IndexedDB and the app asks the officer to sign in again. After signing in, the
outbox is sent and the server holds exactly one visit, with every ping and the form.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.patrol_steps import (
    SHOTS,
    drained,
    open_phone,
    phone_login,
    step,
    target,
    three_taps_and_start,
)
from tests.web.test_patrol_routes import walk_route

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OUTBOX_COUNT = """() => new Promise((resolve, reject) => {
  const req = indexedDB.open("rasure-patrol");
  req.onsuccess = () => {
    const r = req.result.transaction("outbox").objectStore("outbox").count();
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  };
  req.onerror = () => reject(req.error);
})"""


def test_outbox_survives_an_expired_session(
    phone: Any, live_server: Any, patrol_world: dict[str, Any]
) -> None:
    from django.contrib.sessions.models import Session

    from rasure_web.patrols.models import Ping, Visit

    officer = patrol_world["officer"]
    hs, route = target(officer, lambda h: walk_route(h.easting, h.northing, dwell_s=120))
    page = phone
    context = open_phone(page, live_server, route[0])
    phone_login(page, live_server.url, "officer", "rasure-demo-officer")
    three_taps_and_start(page, context, live_server.url, hs, route, shot="")
    page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=1))
    expire_at = 4
    for k in range(1, expire_at):
        step(page, context, route[k], k + 1)
    assert Visit.objects.count() == 1 and Ping.objects.count() == expire_at

    # The session ends on the server (through the session engine: sessions are cached as well as stored).
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in Session.objects.values_list("session_key", flat=True):
        store(session_key=key).delete()
    for k in range(expire_at, len(route)):
        step(page, context, route[k], k + 1, online=False)
    page.get_by_role("button", name="End visit").click()
    page.get_by_role("spinbutton", name="People spoken to").fill("3")
    page.get_by_role("button", name="Send", exact=True).click()
    page.locator("#result").wait_for()
    page.wait_for_function(
        "() => document.querySelector('#sync-text').textContent.startsWith('Sign in again')"
    )
    # The outbox holds the pings made after the session ended and the end of the visit with its form.
    held = len(route) - expire_at + 1
    page.wait_for_function(f"() => document.querySelector('#sync').dataset.waiting === '{held}'")
    assert page.evaluate(OUTBOX_COUNT) == held
    banner = page.locator("#banner")
    assert banner.is_visible() and "You have been signed out" in banner.inner_text()
    assert f"{held} record(s) are kept on this phone" in banner.inner_text()
    assert "waiting to send" in page.locator("#result").inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "patrol-8-signed-out.png"))
    # Nothing after the session ended reached the server; the visit is still open there.
    assert Ping.objects.count() == expire_at and Visit.objects.get().status != "ended"
    # A "Send now" while signed out still keeps everything.
    page.get_by_role("button", name="Send now").click()
    page.wait_for_function(
        "() => document.querySelector('#sync-text').textContent.startsWith('Sign in again')"
    )
    assert page.evaluate(OUTBOX_COUNT) == held

    # Sign in again from the banner: the app opens and sends the outbox.
    banner.get_by_role("link", name="Sign in again").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill("officer")
    page.get_by_label("Password").fill("rasure-demo-officer")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/patrol/"))
    drained(page)
    page.wait_for_function("() => document.querySelector('#sync-text').textContent.includes('All sent')")
    assert page.evaluate(OUTBOX_COUNT) == 0
    assert Visit.objects.count() == 1
    visit = Visit.objects.get()
    assert visit.status == "ended" and visit.spoken_to == 3
    assert Ping.objects.count() == len(route) == visit.n_pings
