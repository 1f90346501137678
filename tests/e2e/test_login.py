"""Sign in through a real browser; each role lands where it should."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import login, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_analyst_signs_in_and_sees_overview(page: Any, live_server: Any) -> None:
    make_user("analyst")
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "login.png"))
    login(page, live_server.url, "analyst")
    page.get_by_role("heading", name="Serious violence overview").wait_for()
    page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)


def test_wrong_password_is_refused(page: Any, live_server: Any) -> None:
    make_user("analyst")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("Your username and password did not match")
