"""Commitment and verification, including the independent stdlib-only check from the docs."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from datetime import date, time, timedelta
from pathlib import Path

import pandas as pd
import pytest

import rasure.trial.commitment as commitment_module
from rasure.trial import (
    SCHEDULE_ALGORITHM_V1,
    Commitment,
    CommitmentError,
    FrozenHotSpot,
    TrialDesign,
    commit,
    commitment_digest,
    make_schedule,
    read_schedule_csv,
    schedule_sha256,
    schedule_to_csv,
    verify,
)

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "trial-verification.md"
SEED = "c0ffee" * 10 + "beef"
NONCE = "9f2c" * 10  # public salt, 160 bits


def spots(*, blocks: bool = False) -> list[FrozenHotSpot]:
    """14 hot spots in 4 strata; with ``blocks``, pairs within each stratum, an odd one out joining
    the last pair as a block of three."""
    layout = {"Oxford": 5, "Reading": 4, "Milton Keynes": 3, "Aylesbury Vale": 2}
    out = []
    for stratum, n in layout.items():
        for i in range(n):
            block = f"{stratum[:3]}-{min(i // 2, n // 2 - 1)}" if blocks else None
            wkt = f"POLYGON (({i} 0, {i + 1} 0, {i + 1} 1, {i} 0))"
            out.append(FrozenHotSpot(f"{stratum[:3].upper()}{i:03d}", stratum, wkt, block))
    return out


def design(**kw: object) -> TrialDesign:
    base: dict[str, object] = {
        "kind": "daily",
        "start": date(2025, 3, 31),
        "end": date(2025, 4, 27),
        "cap_per_day": 2,
    }
    base.update(kw)
    return TrialDesign(**base)  # type: ignore[arg-type]


# --- what changes the commitment -----------------------------------------------------------------


def test_commitment_hides_the_seed_and_round_trips_through_json() -> None:
    c = commit(spots(), design(), seed=SEED, nonce=NONCE, trial_label="TVP-SV-2025")
    assert SEED not in c.to_json()
    assert "seed" not in c.public_manifest
    again = Commitment.from_json(c.to_json())
    assert again == c
    assert commit(spots(), design(), seed=SEED, nonce=NONCE, trial_label="TVP-SV-2025") == c


def test_changing_the_seed_or_nonce_changes_the_commitment() -> None:
    base = commit(spots(), design(), seed=SEED, nonce=NONCE).digest_hex
    assert commit(spots(), design(), seed="1" + SEED[1:], nonce=NONCE).digest_hex != base
    assert commit(spots(), design(), seed=SEED, nonce="1" + NONCE[1:]).digest_hex != base


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda s: s[:-1], id="hot spot removed"),
        pytest.param(lambda s: [*s, FrozenHotSpot("NEW001", "Oxford", "POINT (9 9)")], id="hot spot added"),
        pytest.param(lambda s: [dataclasses.replace(s[0], stratum="Reading"), *s[1:]], id="stratum"),
        pytest.param(
            lambda s: [dataclasses.replace(s[0], geofence_wkt="POINT (0 0)"), *s[1:]], id="geofence"
        ),
        pytest.param(lambda s: [dataclasses.replace(s[0], pair_or_block="x"), *s[1:]], id="block"),
        pytest.param(lambda s: [dataclasses.replace(s[0], hotspot_id="OXF999"), *s[1:]], id="id"),
    ],
)
def test_changing_the_frozen_set_changes_the_commitment(edit: object) -> None:
    base = commit(spots(), design(), seed=SEED, nonce=NONCE).digest_hex
    changed = edit(spots())  # type: ignore[operator]
    assert commit(changed, design(), seed=SEED, nonce=NONCE).digest_hex != base


DESIGN_CHANGES: dict[str, object] = {
    "kind": "fixed",
    "start": date(2025, 3, 30),
    "end": date(2025, 4, 28),
    "cap_per_day": 3,
    "treated_share": 0.4,
    "day_start": time(7, 0),
    "timezone": "Europe/Dublin",
    "strata_by_shift": True,
    "shifts": ("early", "late"),
    "cap_per_week": 9,
    "target_dose": timedelta(minutes=16),
}


def test_every_design_field_is_covered_by_the_change_list() -> None:
    fields = {f.name for f in dataclasses.fields(TrialDesign)}
    assert fields - set(DESIGN_CHANGES) == {"block_allocation"}  # tested with a blocked design below


@pytest.mark.parametrize(("field", "value"), list(DESIGN_CHANGES.items()))
def test_changing_any_design_parameter_changes_the_commitment(field: str, value: object) -> None:
    base = commit(spots(), design(), seed=SEED, nonce=NONCE).digest_hex
    assert commit(spots(), design(**{field: value}), seed=SEED, nonce=NONCE).digest_hex != base


def test_block_allocation_and_labels_and_code_version_change_the_commitment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = spots(blocks=True)
    per_day = commit(s, design(kind="blocked"), seed=SEED, nonce=NONCE).digest_hex
    assert (
        commit(s, design(kind="blocked", block_allocation="fixed"), seed=SEED, nonce=NONCE).digest_hex
        != per_day
    )
    base = commit(spots(), design(), seed=SEED, nonce=NONCE).digest_hex
    assert commit(spots(), design(), seed=SEED, nonce=NONCE, trial_label="T2").digest_hex != base
    assert commit(spots(), design(), seed=SEED, nonce=NONCE, code_revision="abc123").digest_hex != base
    monkeypatch.setattr(commitment_module, "__version__", "9.9.9")
    assert commit(spots(), design(), seed=SEED, nonce=NONCE).digest_hex != base


# --- verify ----------------------------------------------------------------------------------------


def test_verify_passes_on_the_true_schedule_as_frame_and_as_csv() -> None:
    c = commit(spots(), design(), seed=SEED, nonce=NONCE)
    sched = make_schedule(spots(), design(), seed=SEED)
    for given in (sched, schedule_to_csv(sched), schedule_to_csv(sched).decode()):
        result = verify(c, SEED, given)
        assert result.ok, result.report()
        assert result.expected_schedule_sha256 == result.given_schedule_sha256 == schedule_sha256(sched)


def test_verify_names_the_row_with_one_flipped_arm() -> None:
    c = commit(spots(), design(), seed=SEED, nonce=NONCE)
    lines = schedule_to_csv(make_schedule(spots(), design(), seed=SEED)).decode().splitlines(keepends=True)
    n = 37  # 1-based line number in the file, header = line 1
    flipped = lines[n - 1].replace("control", "treatment") if "control" in lines[n - 1] else None
    flipped = flipped or lines[n - 1].replace("treatment", "control")
    tampered = "".join([*lines[: n - 1], flipped, *lines[n:]]).encode()
    result = verify(c, SEED, tampered)
    assert result.commitment_ok and not result.schedule_ok and not result.ok
    assert len(result.row_differences) == 1
    diff = result.row_differences[0]
    day, hotspot_id = lines[n - 1].split(",")[:2]
    assert (diff.location, diff.trial_day, diff.hotspot_id, diff.field) == (
        f"line {n}",
        day,
        hotspot_id,
        "arm",
    )
    assert f"line {n}: {day} {hotspot_id}: arm" in result.report()
    assert result.given_schedule_sha256 != result.expected_schedule_sha256


def test_verify_reports_missing_extra_repeated_rows_and_a_changed_stratum() -> None:
    c = commit(spots(), design(), seed=SEED, nonce=NONCE)
    sched = make_schedule(spots(), design(), seed=SEED)
    edited = sched.drop(index=[5]).reset_index(drop=True)
    edited.loc[0, "stratum"] = "Elsewhere"
    extra = edited.iloc[[1]].copy()
    extra["trial_day"] = date(2025, 5, 1)
    edited = pd.concat([edited, edited.iloc[[10]], extra], ignore_index=True)
    result = verify(c, SEED, edited)
    assert sorted(d.field for d in result.row_differences) == [
        "missing row",
        "repeated row",
        "stratum",
        "unexpected row",
    ]
    missing = next(d for d in result.row_differences if d.field == "missing row")
    assert (missing.trial_day, missing.hotspot_id) == (
        str(sched.loc[5, "trial_day"]),
        sched.loc[5, "hotspot_id"],
    )


def test_verify_fails_with_the_wrong_seed_or_an_edited_manifest() -> None:
    c = commit(spots(), design(), seed=SEED, nonce=NONCE)
    sched = make_schedule(spots(), design(), seed=SEED)
    wrong = verify(c, "f" * 64, sched)
    assert not wrong.commitment_ok and not wrong.schedule_ok
    manifest = c.public_manifest
    manifest["design"]["treated_share"] = "1/3"
    edited = Commitment(c.digest_hex, json.dumps(manifest))
    result = verify(edited, SEED, sched)
    assert not result.commitment_ok and not result.ok
    malformed = verify(c, "not hex", sched)
    assert not malformed.ok and "hexadecimal" in malformed.report()


def test_verify_notes_a_matching_but_non_canonical_file() -> None:
    c = commit(spots(), design(), seed=SEED, nonce=NONCE)
    crlf = schedule_to_csv(make_schedule(spots(), design(), seed=SEED)).replace(b"\n", b"\r\n")
    result = verify(c, SEED, crlf)
    assert result.ok
    assert any("bytes differ" in n for n in result.notes)


def test_verify_detects_a_geofence_moved_after_commitment() -> None:
    c = commit(spots(), design(), seed=SEED, nonce=NONCE)
    now = spots()
    now[2] = dataclasses.replace(now[2], geofence_wkt="POLYGON ((0 0, 5 0, 5 5, 0 0))")
    result = verify(c, SEED, make_schedule(spots(), design(), seed=SEED), hotspots=now)
    assert not result.ok and result.schedule_ok and result.commitment_ok
    assert result.hotspot_differences == (
        f"{now[2].hotspot_id}: geofence changed since commitment (sha256 {now[2].geofence_sha256()}, "
        f"committed {spots()[2].geofence_sha256()})",
    )


def test_manifest_from_another_algorithm_is_refused_with_a_fix() -> None:
    c = commit(spots(), design(), seed=SEED, nonce=NONCE)
    manifest = c.public_manifest
    manifest["schedule_algorithm"] = "rasure-schedule-v9"
    with pytest.raises(CommitmentError, match="Install rasure=="):
        verify(Commitment(c.digest_hex, json.dumps(manifest)), SEED, b"")


def v1_commitment(**changes: object) -> Commitment:
    """A commitment as Rasure made it before rasure-schedule-v2: the same manifest naming v1."""
    c = commit(spots(), design(**changes), seed=SEED, nonce=NONCE)
    manifest = {**c.public_manifest, "schedule_algorithm": SCHEDULE_ALGORITHM_V1}
    return Commitment(commitment_digest(manifest, seed=SEED), json.dumps(manifest))


def test_a_trial_committed_under_v1_still_verifies_with_its_v1_schedule() -> None:
    c = v1_commitment()
    old = schedule_to_csv(make_schedule(spots(), design(), seed=SEED, algorithm=SCHEDULE_ALGORITHM_V1))
    result = verify(c, SEED, old)
    assert result.ok, result.report()
    new = schedule_to_csv(make_schedule(spots(), design(), seed=SEED))
    assert new != old
    assert not verify(c, SEED, new).schedule_ok  # the v2 schedule is not the one committed under v1


# --- the independent check: the documented stdlib-only script ---------------------------------------


def documented_script() -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- reference-script: verify_trial.py -->\n```python\n(.*?)```", text, re.DOTALL)
    assert match, "docs/trial-verification.md lost its reference script block"
    return match.group(1)


def run_documented_script(tmp_path: Path, c: Commitment, seed: str, schedule: bytes | None = None) -> str:
    script = tmp_path / "verify_trial.py"
    script.write_text(documented_script(), encoding="utf-8")
    doc = tmp_path / "commitment.json"
    doc.write_text(c.to_json(), encoding="utf-8")
    args = [sys.executable, "-I", "-S", str(script), str(doc), seed]  # -S: no site-packages, stdlib only
    if schedule is not None:
        (tmp_path / "schedule.csv").write_bytes(schedule)
        args.append(str(tmp_path / "schedule.csv"))
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("changes", "blocks"),
    [
        pytest.param({}, False, id="daily"),
        pytest.param({"strata_by_shift": True, "treated_share": 1 / 3}, False, id="daily-shifts-third"),
        pytest.param({"kind": "fixed"}, False, id="fixed"),
        pytest.param({"kind": "blocked"}, True, id="blocked-per-day"),
        pytest.param(
            {"kind": "blocked", "block_allocation": "fixed", "strata_by_shift": True},
            True,
            id="blocked-fixed",
        ),
    ],
)
def test_documented_stdlib_script_reproduces_commitment_and_schedule(
    tmp_path: Path, changes: dict[str, object], blocks: bool
) -> None:
    s = spots(blocks=blocks)
    d = design(**changes)
    c = commit(s, d, seed=SEED, nonce=NONCE, trial_label="Thames Valley – SV trial")  # non-ASCII on purpose
    sched = make_schedule(s, d, seed=SEED)
    out = run_documented_script(tmp_path, c, SEED, schedule_to_csv(sched))
    assert f"commitment MATCHES {c.digest_hex}" in out
    assert f"schedule sha256 {schedule_sha256(sched)}" in out
    assert "schedule file MATCHES" in out


@pytest.mark.parametrize("changes", [{}, {"kind": "fixed"}], ids=["daily", "fixed"])
def test_documented_stdlib_script_reproduces_a_v1_trial(tmp_path: Path, changes: dict[str, object]) -> None:
    c = v1_commitment(**changes)
    sched = make_schedule(spots(), design(**changes), seed=SEED, algorithm=SCHEDULE_ALGORITHM_V1)
    out = run_documented_script(tmp_path, c, SEED, schedule_to_csv(sched))
    assert f"commitment MATCHES {c.digest_hex}" in out
    assert "schedule file MATCHES" in out


def test_documented_script_flags_a_tampered_schedule_and_a_wrong_seed(tmp_path: Path) -> None:
    c = commit(spots(), design(), seed=SEED, nonce=NONCE)
    data = schedule_to_csv(make_schedule(spots(), design(), seed=SEED))
    frame = read_schedule_csv(data)
    row = frame.iloc[9]
    frame.loc[9, "arm"] = "control" if row["arm"] == "treatment" else "treatment"
    tampered = schedule_to_csv(frame.drop(columns="line"))
    out = run_documented_script(tmp_path, c, SEED, tampered)
    assert "schedule file DIFFERS on 1 lines" in out
    assert f"line {row['line']}: expected '{row['trial_day']},{row['hotspot_id']}" in out
    out = run_documented_script(tmp_path, c, "ab" * 32)
    assert "commitment DOES NOT MATCH" in out
