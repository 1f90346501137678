"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright for Python.

Skipped when Chromium is absent, unless RASURE_REQUIRE_BROWSER=1 (CI), where its absence fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test thread; the Django test database is
# still used synchronously from that thread only.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("RASURE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        if os.environ.get("RASURE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip("Chromium not installed: browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
    p = ctx.new_page()
    yield p
    ctx.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
    )
    p = ctx.new_page()
    yield p
    ctx.close()


def make_user(role: str, *, username: str | None = None) -> Any:
    """A user in the role's group whose password is the demo one (``rasure-demo-<role>``)."""
    from django.contrib.auth.models import Group, User

    u = User.objects.create_user(username=username or role, password=f"rasure-demo-{role}")
    u.groups.add(Group.objects.get_or_create(name=role)[0])
    return u


def login(page: Any, base: str, role: str, *, username: str | None = None) -> None:
    """Sign in through the real login form."""
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username or role)
    page.get_by_label("Password").fill(f"rasure-demo-{role}")
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def patrol_world(settings: Any) -> dict[str, Any]:
    """The synthetic city with hot spots, patrol simulation on, and an officer (Alex Morgan)."""
    from tests.city import store_city_with_hotspots
    from tests.web.test_patrol_routes import make_user as make_patrol_user

    settings.RASURE_PATROL_SIMULATION = True
    run = store_city_with_hotspots()
    officer = make_patrol_user("officer", password="rasure-demo-officer")
    officer.first_name, officer.last_name = "Alex", "Morgan"
    officer.save()
    return {"run": run, "officer": officer}
