"""Trials in the database: create, commit, balance, determinism, verify, tamper protection, masking.

Runs on SQLite and, with DATABASE_URL set, on PostgreSQL (the triggers differ per vendor).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from rasure.hotspots.analysis import HotspotParams
from rasure.trial import commit, make_schedule, plan_from_manifest, schedule_to_csv
from rasure_web.accounts.models import AccessLog
from rasure_web.analysis.models import HotSpot
from rasure_web.trials import lifecycle
from rasure_web.trials.models import ScheduleEntry, Trial, TrialCommittedError, TrialHotSpot
from rasure_web.trials.selectors import hotspot_arms_for, patrol_rules_for, treated_hotspots_for
from tests.city import only_force_id

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]  # now pinned: tests/conftest.py

LONDON = ZoneInfo("Europe/London")
SEED = "5e" * 32


@pytest.fixture
def city() -> None:
    from tests.city import store_city_with_hotspots

    store_city_with_hotspots()


def _user(role: str) -> User:
    u = User.objects.create_user(username=f"t-{role}", password="a-long-test-password")
    u.groups.add(Group.objects.get_or_create(name=role)[0])
    return u


def _tomorrow() -> dt.date:
    now = timezone.now().astimezone(LONDON)
    return now.date() + dt.timedelta(days=1)


def _committed(days: int = 14, seed: str = SEED, **kw: object) -> Trial:
    start = kw.pop("start", _tomorrow())
    assert isinstance(start, dt.date)
    trial = lifecycle.trial_create(name="T1", start=start, end=start + dt.timedelta(days=days - 1), **kw)  # type: ignore[arg-type]
    lifecycle.trial_commit(trial_id=trial.pk, user=_user("analyst"), seed=seed)
    trial.refresh_from_db()
    return trial


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def test_create_commit_schedule_balanced_per_stratum_per_day(city: None) -> None:
    trial = _committed(days=14, cap_per_day=3, cap_per_week=10, target_dose=dt.timedelta(minutes=20))
    assert trial.status == Trial.Status.COMMITTED and len(trial.commitment_sha256) == 64
    members = list(TrialHotSpot.objects.filter(trial=trial))
    assert {m.hotspot.lpa_code for m in members} == {m.stratum for m in members}
    assert all(
        len(m.geofence_sha256) == 64 and m.geofence_text == m.hotspot.geofence_geojson for m in members
    )
    n = len(members)
    assert ScheduleEntry.objects.filter(trial=trial).count() == n * 14
    size = Counter(m.stratum for m in members)
    stratum_of = {m.hotspot_id: m.stratum for m in members}
    treated: Counter[tuple[dt.date, str]] = Counter()
    for e in ScheduleEntry.objects.filter(trial=trial, arm="treatment"):
        treated[(e.trial_day, stratum_of[e.hotspot_id])] += 1
    days = set(ScheduleEntry.objects.filter(trial=trial).values_list("trial_day", flat=True))
    assert len(days) == 14
    for day in days:
        for stratum, size_n in size.items():
            got = treated[(day, stratum)]
            assert got in {size_n // 2, (size_n + 1) // 2}, (day, stratum, got, size_n)
            if size_n % 2 == 0:
                assert got == size_n // 2
    # rasure-schedule-v2: the force-wide number treated each day is level (floor or ceil of half)
    for day in days:
        total = sum(treated[(day, stratum)] for stratum in size)
        assert total in {n // 2, (n + 1) // 2}
    manifest = lifecycle.trial_commitment(trial=trial).public_manifest
    assert manifest["schedule_algorithm"] == "rasure-schedule-v2"
    # the secret seed is stored nowhere
    row = Trial.objects.filter(pk=trial.pk).values().get()
    assert SEED not in " ".join(str(v) for v in row.values())


def test_schedule_is_deterministic_and_matches_the_core(city: None) -> None:
    trial = _committed(days=10)
    design = lifecycle.trial_design(trial=trial)
    frozen = lifecycle.trial_frozen_hotspots(trial=trial)
    stored = schedule_to_csv(lifecycle.trial_schedule_frame(trial=trial))
    assert stored == schedule_to_csv(make_schedule(frozen, design, seed=SEED))
    assert stored == schedule_to_csv(make_schedule(frozen, design, seed=SEED))  # same inputs, same schedule
    assert stored != schedule_to_csv(make_schedule(frozen, design, seed="a1" * 32))
    manifest = lifecycle.trial_commitment(trial=trial).public_manifest
    again = commit(
        frozen,
        design,
        seed=SEED,
        nonce=manifest["nonce"],
        trial_label=manifest["trial_label"],
        code_revision=manifest["code_revision"],
        analysis_plan=plan_from_manifest(manifest),
    )
    assert again.digest_hex == trial.commitment_sha256
    other = commit(frozen, design, seed="a1" * 32, nonce=manifest["nonce"], trial_label="T1")
    assert other.digest_hex != trial.commitment_sha256
    assert "seed" not in manifest and SEED not in trial.manifest_json


def test_verify_passes_on_stored_schedule_and_fails_on_tampered_csv(city: None) -> None:
    trial = _committed(days=7)
    ok = lifecycle.trial_verify(trial_id=trial.pk, seed=SEED)
    assert ok.ok, ok.report()
    csv = schedule_to_csv(lifecycle.trial_schedule_frame(trial=trial))
    assert lifecycle.trial_verify(trial_id=trial.pk, seed=SEED, schedule_csv=csv).ok
    lines = csv.decode().splitlines(keepends=True)
    flip = {"treatment": "control", "control": "treatment"}
    parts = lines[4].rstrip("\n").split(",")
    parts[-1] = flip[parts[-1]]
    lines[4] = ",".join(parts) + "\n"
    bad = lifecycle.trial_verify(trial_id=trial.pk, seed=SEED, schedule_csv="".join(lines).encode())
    assert not bad.ok and bad.result.commitment_ok and not bad.result.schedule_ok
    assert "line 5" in bad.report() and parts[1] in bad.report()
    wrong = lifecycle.trial_verify(trial_id=trial.pk, seed="a1" * 32)
    assert not wrong.ok and not wrong.result.commitment_ok


def test_changes_after_commit_refused_by_services_and_logged(city: None) -> None:
    trial = _committed(days=5)
    analyst = User.objects.get(username="t-analyst")
    before = AccessLog.objects.filter(action="refused").count()
    with pytest.raises(TrialCommittedError):
        lifecycle.trial_update(trial_id=trial.pk, user=analyst, treated_share=0.25)
    with pytest.raises(TrialCommittedError):
        lifecycle.trial_delete(trial_id=trial.pk, user=analyst)
    with pytest.raises(TrialCommittedError):
        lifecycle.trial_schedule_change(
            trial_id=trial.pk, user=analyst, trial_day=_tomorrow(), hotspot_code="D01", arm="treatment"
        )
    with pytest.raises(TrialCommittedError):
        lifecycle.trial_commit(trial_id=trial.pk, user=analyst, seed="a1" * 32)
    logged = AccessLog.objects.filter(action="refused", resource="trial", object_ref=str(trial.pk))
    assert AccessLog.objects.filter(action="refused").count() == before + 4 == logged.count()
    assert all(e.username == "t-analyst" for e in logged)
    # model-level guards
    entry = ScheduleEntry.objects.filter(trial=trial).first()
    assert entry is not None
    entry.arm = "treatment" if entry.arm == "control" else "control"
    with pytest.raises(TrialCommittedError):
        entry.save()
    member = TrialHotSpot.objects.filter(trial=trial).first()
    assert member is not None
    member.stratum = "elsewhere"
    with pytest.raises(TrialCommittedError):
        member.save()
    with pytest.raises(TrialCommittedError):
        member.delete()
    assert lifecycle.trial_verify(trial_id=trial.pk, seed=SEED).ok


def _refused(sql: str, params: list[object] | None = None) -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, params or [])


def test_database_triggers_refuse_any_change_to_a_committed_trial(city: None) -> None:
    trial = _committed(days=5)
    pk = trial.pk
    entry = ScheduleEntry.objects.filter(trial=trial).first()
    assert entry is not None
    _refused("UPDATE trial_schedule_entry SET arm = 'treatment' WHERE trial_id = %s", [pk])
    _refused("DELETE FROM trial_schedule_entry WHERE id = %s", [entry.pk])
    _refused(
        "INSERT INTO trial_schedule_entry (trial_id, trial_day, hotspot_id, shift, arm) VALUES (%s, %s, %s, '', 'control')",
        [pk, dt.date(2099, 1, 1), entry.hotspot_id],
    )
    _refused("UPDATE trial_hotspot SET stratum = 'x' WHERE trial_id = %s", [pk])
    _refused("DELETE FROM trial_hotspot WHERE trial_id = %s", [pk])
    _refused("UPDATE trial SET commitment_sha256 = %s WHERE id = %s", ["0" * 64, pk])
    _refused("UPDATE trial SET status = 'draft' WHERE id = %s", [pk])
    _refused("DELETE FROM trial WHERE id = %s", [pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        ScheduleEntry.objects.filter(trial=trial).update(arm="control")
    with pytest.raises(DatabaseError), transaction.atomic():
        Trial.objects.filter(pk=pk).update(design={**trial.design, "treated_share": "1/4"})
    with pytest.raises(DatabaseError), transaction.atomic():
        Trial.objects.filter(pk=pk).update(name="renamed")
    with pytest.raises(DatabaseError), transaction.atomic():
        Trial.objects.filter(pk=pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        ScheduleEntry.objects.bulk_create(
            [
                ScheduleEntry(
                    trial_id=pk, trial_day=dt.date(2099, 1, 1), hotspot_id=entry.hotspot_id, arm="control"
                )
            ]
        )
    # everything is still as committed
    assert lifecycle.trial_verify(trial_id=pk, seed=SEED).ok
    # a draft is free to change and to go
    start = _tomorrow() + dt.timedelta(days=400)
    draft = lifecycle.trial_create(name="D", start=start, end=start + dt.timedelta(days=3))
    Trial.objects.filter(pk=draft.pk).update(name="D2")
    TrialHotSpot.objects.filter(trial=draft).update(stratum="all")
    lifecycle.trial_delete(trial_id=draft.pk, user=None)
    assert not Trial.objects.filter(pk=draft.pk).exists()


def test_control_hotspots_never_reach_officers(city: None) -> None:
    officer = _user("officer")
    # no trial yet: every current hot spot, default rules
    noon = _at(_tomorrow(), 12)
    assert hotspot_arms_for(when=noon, force_id=only_force_id()) is None
    assert (
        len(treated_hotspots_for(user=officer, when=noon))
        == HotSpot.objects.filter(run__is_current=True).count()
    )
    rules = patrol_rules_for(when=_at(_tomorrow(), 5, 59), force_id=only_force_id())
    assert (rules.cap_per_day, rules.cap_per_week, rules.target_dose, rules.trial_id) == (
        2,
        None,
        dt.timedelta(minutes=15),
        None,
    )
    assert rules.trial_day == _tomorrow() - dt.timedelta(days=1)

    trial = _committed(days=6, cap_per_day=3, cap_per_week=10, target_dose=dt.timedelta(minutes=20))
    start = _tomorrow()
    for i in range(6):
        day = start + dt.timedelta(days=i)
        schedule = dict(
            ScheduleEntry.objects.filter(trial=trial, trial_day=day).values_list("hotspot_id", "arm")
        )
        for when in (_at(day, 6), _at(day, 13), _at(day + dt.timedelta(days=1), 5, 59)):
            arms = hotspot_arms_for(when=when, force_id=only_force_id())
            assert arms == schedule
            shown = {h.pk for h in treated_hotspots_for(user=officer, when=when)}
            assert shown == {pk for pk, arm in schedule.items() if arm == "treatment"}
            assert not shown & {pk for pk, arm in schedule.items() if arm == "control"}
        rules = patrol_rules_for(when=_at(day, 6), force_id=only_force_id())
        assert (
            rules.cap_per_day,
            rules.cap_per_week,
            rules.target_dose,
            rules.trial_day,
            rules.trial_id,
        ) == (
            3,
            10,
            dt.timedelta(minutes=20),
            day,
            trial.pk,
        )
    # 05:59 on the first day belongs to the day before the trial; the day after the end is outside
    assert hotspot_arms_for(when=_at(start, 5, 59), force_id=only_force_id()) is None
    assert hotspot_arms_for(when=_at(start + dt.timedelta(days=6), 6), force_id=only_force_id()) is None
    # UTC input is converted to the trial's time zone
    assert hotspot_arms_for(when=_at(start, 6).astimezone(dt.UTC), force_id=only_force_id()) is not None
    # a new analysis run does not bring the control places back through new hot-spot rows
    from rasure_web.analysis.services import hotspots_build

    hotspots_build(params=HotspotParams(top=6, gi_permutations=0))
    shown = {h.pk for h in treated_hotspots_for(user=officer, when=_at(start, 12))}
    assert shown <= set(TrialHotSpot.objects.filter(trial=trial).values_list("hotspot_id", flat=True))
    with pytest.raises(PermissionDenied):
        treated_hotspots_for(user=_user("partner"), when=_at(start, 12))


def test_shift_stratified_trial_gives_the_arm_of_the_current_shift(city: None) -> None:
    trial = _committed(days=3, strata_by_shift=True)
    day = _tomorrow()
    members = {m.hotspot_id: m.stratum for m in TrialHotSpot.objects.filter(trial=trial)}
    size = Counter(members.values())
    for shift, hour in (("day", 10), ("night", 20), ("night", 3)):
        when = _at(day + dt.timedelta(days=1), hour) if hour < 6 else _at(day, hour)
        expected = dict(
            ScheduleEntry.objects.filter(trial=trial, trial_day=day, shift=shift).values_list(
                "hotspot_id", "arm"
            )
        )
        assert hotspot_arms_for(when=when, force_id=only_force_id()) == expected
        treated = Counter(members[pk] for pk, arm in expected.items() if arm == "treatment")
        for stratum, n in size.items():
            assert treated[stratum] in {n // 2, (n + 1) // 2}


def test_commit_refuses_past_start_and_overlap_and_completes_with_the_seed(city: None) -> None:
    past = _tomorrow() - dt.timedelta(days=5)
    draft = lifecycle.trial_create(name="late", start=past, end=past + dt.timedelta(days=9))
    with pytest.raises(lifecycle.TrialDesignError, match="before today"):
        lifecycle.trial_commit(trial_id=draft.pk, user=None)
    trial = _committed(days=5)
    with pytest.raises(lifecycle.TrialOverlapError):
        lifecycle.trial_commit(trial_id=draft.pk, user=None, allow_past_start=True)
    with pytest.raises(lifecycle.TrialError, match="runs until"):
        lifecycle.trial_complete(trial_id=trial.pk, seed=SEED, user=None)
    with pytest.raises(lifecycle.TrialError, match="does not verify"):
        lifecycle.trial_complete(trial_id=trial.pk, seed="a1" * 32, user=None, early=True)
    lifecycle.trial_complete(trial_id=trial.pk, seed=SEED, user=None, early=True)
    trial.refresh_from_db()
    assert trial.status == Trial.Status.COMPLETED and trial.revealed_seed == SEED
    with pytest.raises(DatabaseError), transaction.atomic():
        Trial.objects.filter(pk=trial.pk).update(revealed_seed="a1" * 32)
    with pytest.raises(DatabaseError), transaction.atomic():
        Trial.objects.filter(pk=trial.pk).update(status="committed")


def test_blocked_design_pairs_within_strata(city: None) -> None:
    trial = _committed(days=4, kind="blocked", strata="none")
    blocks = Counter(TrialHotSpot.objects.filter(trial=trial).values_list("pair_or_block", flat=True))
    assert all(n in (2, 3) for n in blocks.values())
    block_of = dict(TrialHotSpot.objects.filter(trial=trial).values_list("hotspot_id", "pair_or_block"))
    treated = Counter(
        (e.trial_day, block_of[e.hotspot_id])
        for e in ScheduleEntry.objects.filter(trial=trial, arm="treatment")
    )
    for (_, block), n in treated.items():
        assert n in {blocks[block] // 2, (blocks[block] + 1) // 2}
