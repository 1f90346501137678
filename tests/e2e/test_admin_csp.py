"""The Django admin works under the strict Content-Security-Policy (no inline script or style)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_web_surface import _violations, _watch

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_pages_keep_to_the_csp_and_work(page: Any, live_server: Any, tmp_path: Any) -> None:
    from django.contrib.auth.models import User

    from rasure_web.accounts.access import access_log_record

    User.objects.create_superuser("synthetic-admin", password="rasure-demo-admin-long")
    for i in range(3):
        access_log_record(user=None, username=f"synthetic-{i}", action="view", resource="person")
    base = live_server.url
    errors = _watch(page)
    page.goto(f"{base}/admin/login/")
    page.get_by_label("Username").fill("synthetic-admin")
    page.get_by_label("Password").fill("rasure-demo-admin-long")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Site administration").wait_for()
    seen = {"index": _violations(page)}
    # a changelist with filters and search (admin's JavaScript: filters, actions)
    page.goto(f"{base}/admin/accounts/accesslog/")
    page.get_by_role("heading", name="Select access log to view").wait_for()
    assert page.locator("#result_list tbody tr").count() >= 3
    page.locator("#searchbar").fill("synthetic-1")
    with page.expect_navigation():
        page.locator("#searchbar").press("Enter")
    assert page.locator("#result_list tbody tr").count() >= 1
    seen["access log list"] = _violations(page)
    # a change form with the admin's widgets (the user form: password field, filter_horizontal groups)
    page.goto(f"{base}/admin/auth/user/add/")
    page.get_by_label("Username").fill("synthetic-new")
    page.locator("#id_password1").fill("a-long-test-password-1")
    page.locator("#id_password2").fill("a-long-test-password-1")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    assert User.objects.filter(username="synthetic-new").exists()
    # the groups chooser (SelectFilter2.js) builds its two lists: only possible when its script ran
    page.locator("#id_groups_from").wait_for()  # made by the script; the original select becomes _to
    assert page.locator(".datetimeshortcuts").count() >= 2  # DateTimeShortcuts.js ran too
    seen["user form"] = _violations(page)
    page.screenshot(path=str(tmp_path / "admin-user.png"), full_page=True)
    assert errors == [], errors
    assert all(v == [] for v in seen.values()), seen
