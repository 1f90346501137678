"""The pre-registered analysis plan: committed in a v2 manifest; v1 manifests still verify."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rasure.trial import (
    COMMITMENT_PROTOCOL,
    COMMITMENT_PROTOCOL_WITH_PLAN,
    DEFAULT_PLAN,
    AnalysisPlan,
    AnalysisPlanError,
    Commitment,
    CommitmentError,
    commit,
    make_schedule,
    plan_from_manifest,
    schedule_sha256,
    schedule_to_csv,
    verify,
)
from tests.core.test_trial_commitment import NONCE, SEED, design, run_documented_script, spots


def test_plan_round_trips_through_json_and_holds_no_floats() -> None:
    plan = AnalysisPlan(alpha="0.1", randomisation_draws=99, carryover_lags=(1, 2), buffers_m=((0, 100),))
    data = plan.to_json_dict()
    text = json.dumps(data)
    assert "0.1" in text and not any(isinstance(v, float) for v in data.values())
    assert AnalysisPlan.from_json_dict(json.loads(text)) == plan
    assert plan.alpha_value == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"primary_outcome": "arrests"}, "primary_outcome"),
        ({"alpha": "five percent"}, "decimal text"),
        ({"alpha": "0.7"}, "between 0 and 0.5"),
        ({"secondary_outcomes": ["mood"]}, "secondary outcomes"),
        ({"buffers_m": [[250, 100]]}, "inner < outer"),
        ({"colour": "red"}, "unknown fields"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_field(changes: dict[str, object], message: str) -> None:
    with pytest.raises(AnalysisPlanError, match=message):
        AnalysisPlan.from_json_dict({**DEFAULT_PLAN.to_json_dict(), **changes}, where="plan.json")


def test_plan_is_committed_and_an_edited_plan_fails_verification() -> None:
    s, d = spots(), design()
    c = commit(s, d, seed=SEED, nonce=NONCE, analysis_plan=DEFAULT_PLAN)
    manifest = c.public_manifest
    assert manifest["protocol"] == COMMITMENT_PROTOCOL_WITH_PLAN
    assert plan_from_manifest(manifest) == DEFAULT_PLAN
    sched = make_schedule(s, d, seed=SEED)
    assert verify(c, SEED, sched).ok
    manifest["analysis_plan"]["alpha"] = "0.1"  # loosened after the fact
    edited = Commitment(c.digest_hex, json.dumps(manifest))
    result = verify(edited, SEED, sched)
    assert not result.commitment_ok and not result.ok


def test_a_plan_changes_the_commitment_and_a_v1_commitment_still_verifies() -> None:
    s, d = spots(), design()
    v1 = commit(s, d, seed=SEED, nonce=NONCE)
    v2 = commit(s, d, seed=SEED, nonce=NONCE, analysis_plan=DEFAULT_PLAN)
    other = commit(s, d, seed=SEED, nonce=NONCE, analysis_plan=AnalysisPlan(randomisation_draws=99))
    assert len({v1.digest_hex, v2.digest_hex, other.digest_hex}) == 3
    assert v1.public_manifest["protocol"] == COMMITMENT_PROTOCOL
    assert plan_from_manifest(v1.public_manifest) is None
    assert verify(v1, SEED, make_schedule(s, d, seed=SEED)).ok


def test_v2_manifest_without_its_plan_is_refused() -> None:
    c = commit(spots(), design(), seed=SEED, nonce=NONCE, analysis_plan=DEFAULT_PLAN)
    manifest = c.public_manifest
    del manifest["analysis_plan"]
    with pytest.raises(CommitmentError, match="differ from"):
        verify(Commitment(c.digest_hex, json.dumps(manifest)), SEED, b"")


def test_documented_stdlib_script_verifies_a_v2_commitment(tmp_path: Path) -> None:
    s, d = spots(), design()
    c = commit(s, d, seed=SEED, nonce=NONCE, analysis_plan=DEFAULT_PLAN)
    sched = make_schedule(s, d, seed=SEED)
    out = run_documented_script(tmp_path, c, SEED, schedule_to_csv(sched))
    assert f"commitment MATCHES {c.digest_hex}" in out
    assert f"schedule sha256 {schedule_sha256(sched)}" in out
