"""The refusal (403) page and the lockout page in real headless Chromium, phone and desktop sizes;
screenshots go to var/screenshots/ (refused-403-*.png, locked-out-*.png; the ones in docs/screenshots/ come from scripts/screenshots.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import login, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SIZES = {"phone": (390, 844), "desktop": (1440, 900)}


@pytest.mark.parametrize("size", SIZES)
def test_officer_refused_the_dashboard_reads_why_and_can_sign_out(
    browser: Any, live_server: Any, size: str
) -> None:
    officer = make_user("officer", username="pc-morgan")
    officer.first_name, officer.last_name = "Alex", "Morgan"
    officer.save()
    w, h = SIZES[size]
    ctx = browser.new_context(viewport={"width": w, "height": h}, locale="en-GB")
    page = ctx.new_page()
    login(page, live_server.url, "officer", username="pc-morgan")
    page.wait_for_url(f"{live_server.url}/patrol/")
    r = page.goto(f"{live_server.url}/dashboard/")
    assert r is not None and r.status == 403
    main = page.get_by_role("main")
    assert main.get_by_role("heading", level=1).inner_text() == "You cannot see this page"
    text = main.inner_text()
    assert "The dashboard is for analysts and supervisors. You are signed in as a patrol officer." in text
    assert "Alex Morgan (pc-morgan)" in text
    assert main.get_by_role("link", name="Open the patrol app").get_attribute("href") == "/patrol/"
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_SHOTS / f"refused-403-{size}.png"), full_page=True)
    main.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    page.goto(f"{live_server.url}/dashboard/")
    assert "/accounts/login/" in page.url
    ctx.close()


@pytest.mark.parametrize("size", SIZES)
def test_lockout_page_after_five_wrong_passwords(browser: Any, live_server: Any, size: str) -> None:
    make_user("analyst", username="a-jones")
    w, h = SIZES[size]
    ctx = browser.new_context(viewport={"width": w, "height": h}, locale="en-GB")
    page = ctx.new_page()
    for i in range(5):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill("a-jones")
        page.get_by_label("Password").fill(f"not-the-password-{i}")
        with page.expect_response(
            lambda r: r.url.endswith("/accounts/login/") and r.request.method == "POST"
        ) as resp:
            page.get_by_role("button", name="Sign in").click()
        assert resp.value.status == (429 if i == 4 else 200)
    main = page.get_by_role("main")
    assert main.get_by_role("heading", level=1).inner_text() == "Sign-in locked for now"
    assert "paused for 30 minutes" in main.inner_text()
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_SHOTS / f"locked-out-{size}.png"), full_page=True)
    # The right password is refused too while the lock lasts.
    login(page, live_server.url, "analyst", username="a-jones")
    page.get_by_role("heading", name="Sign-in locked for now").wait_for()
    ctx.close()
