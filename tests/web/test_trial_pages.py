"""Trial pages (analysts and supervisors only) and the admin (read-only once committed, refusals logged)."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from rasure.trial import Commitment, verify
from rasure_web.accounts.models import AccessLog
from rasure_web.trials import lifecycle
from rasure_web.trials.models import ScheduleEntry, Trial

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]  # now pinned: tests/conftest.py
SEED = "c3" * 32
PASSWORD = "a-long-test-password"


@pytest.fixture
def trial() -> Trial:
    from tests.city import store_city_with_hotspots

    store_city_with_hotspots()
    today = timezone.now().astimezone(ZoneInfo("Europe/London")) - dt.timedelta(hours=6)
    start = today.date()
    t = lifecycle.trial_create(name="PAGE-TRIAL", start=start, end=start + dt.timedelta(days=9))
    lifecycle.trial_commit(trial_id=t.pk, user=None, seed=SEED)
    t.refresh_from_db()
    return t


def _client(role: str, *, staff: bool = False) -> Client:
    u = User.objects.create_user(username=f"p-{role}", password=PASSWORD, is_staff=staff, is_superuser=staff)
    u.groups.add(Group.objects.get_or_create(name=role)[0])
    c = Client()
    assert c.post("/accounts/login/", {"username": u.username, "password": PASSWORD}).status_code == 302
    return c


def test_pages_for_analysts_and_supervisors_only(trial: Trial) -> None:
    for role in ("analyst", "supervisor"):
        c = _client(role)
        listing = c.get("/trials/")
        assert listing.status_code == 200 and b"PAGE-TRIAL" in listing.content
        page = c.get(f"/trials/{trial.pk}/")
        html = page.content.decode()
        assert page.status_code == 200
        assert trial.commitment_sha256 in html and "Today's allocation" in html
        assert "To detect IRR 0.8 at 0.80 power" in html and "cannot reach 80% power" in html
        # counts per stratum only: no hot-spot code appears next to an arm
        for code in trial.hotspots.values_list("hotspot_code", flat=True):
            assert f">{code}<" not in html
        assert SEED not in html
        results = c.get(f"/trials/{trial.pk}/results/")
        assert results.status_code == 200 and "No results yet" in results.content.decode()
    for role in ("officer", "partner"):
        c = _client(role)
        assert c.get("/trials/").status_code == 403
        assert c.get(f"/trials/{trial.pk}/").status_code == 403
        assert c.get(f"/trials/{trial.pk}/commitment.json").status_code == 403
        assert c.get(f"/trials/{trial.pk}/results/").status_code == 403
    assert Client().get("/trials/").status_code == 302


def test_commitment_document_verifies_with_the_seed(trial: Trial) -> None:
    c = _client("analyst")
    doc = c.get(f"/trials/{trial.pk}/commitment.json")
    assert doc.status_code == 200 and "seed" not in json.loads(doc.content)["manifest"]
    commitment = Commitment.from_json(doc.content)
    schedule = lifecycle.trial_schedule_frame(trial=trial)
    assert verify(commitment, SEED, schedule).ok


def test_admin_is_read_only_for_committed_trials_and_logs_refusals(trial: Trial) -> None:
    c = _client("admin", staff=True)
    before = AccessLog.objects.filter(action="refused").count()
    view = c.get(f"/admin/trials/trial/{trial.pk}/change/")
    assert view.status_code == 200 and b'name="name"' not in view.content  # no editable field
    changed = c.post(f"/admin/trials/trial/{trial.pk}/change/", {"name": "renamed"})
    assert changed.status_code == 403
    assert c.post(f"/admin/trials/trial/{trial.pk}/delete/", {"post": "yes"}).status_code == 403
    entry = ScheduleEntry.objects.filter(trial=trial).first()
    assert entry is not None
    assert c.get(f"/admin/trials/scheduleentry/{entry.pk}/change/").status_code == 200
    assert c.post(f"/admin/trials/scheduleentry/{entry.pk}/change/", {"arm": "control"}).status_code == 403
    assert c.post(f"/admin/trials/scheduleentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    refused = AccessLog.objects.filter(action="refused", username="p-admin")
    assert AccessLog.objects.filter(action="refused").count() == before + 4 == refused.count()
    assert all(e.path.startswith("/admin/trials/") for e in refused)
    trial.refresh_from_db()
    assert trial.name == "PAGE-TRIAL" and lifecycle.trial_verify(trial_id=trial.pk, seed=SEED).ok
    # a draft can still be renamed and deleted
    start = trial.design["end"]
    draft = lifecycle.trial_create(
        name="DRAFT", start=dt.date.fromisoformat(start) + dt.timedelta(days=30), end=dt.date(2099, 1, 1)
    )
    assert c.post(f"/admin/trials/trial/{draft.pk}/change/", {"name": "DRAFT2"}).status_code == 302
    draft.refresh_from_db()
    assert draft.name == "DRAFT2"
    assert c.post(f"/admin/trials/trial/{draft.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Trial.objects.filter(pk=draft.pk).exists()
