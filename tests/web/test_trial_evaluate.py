"""`rasure trial evaluate`: from the database and from a panel file; results.json, report.html."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from rasure.trial import Commitment
from rasure_web.accounts.models import AccessLog
from rasure_web.cli import main
from rasure_web.crimes.models import CrimeRecord
from rasure_web.trials.models import Trial, TrialEvaluation

LONDON = ZoneInfo("Europe/London")
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture
def city() -> None:
    from tests.city import store_city_with_hotspots

    store_city_with_hotspots()


def _client(role: str, *, n: int = 1) -> Client:
    u = User.objects.create_user(username=f"e-{role}-{n}", password="a-long-test-password")
    u.groups.add(Group.objects.get_or_create(name=role)[0])
    c = Client()
    assert (
        c.post("/accounts/login/", {"username": u.username, "password": "a-long-test-password"}).status_code
        == 302
    )
    return c


def _rehearsal(tmp_path: Path) -> Trial:
    """A trial over the last 56 days of the synthetic records (so outcomes are known), with a plan of
    19 randomisation draws committed."""
    last = CrimeRecord.objects.filter(serious_violence=True).order_by("-occurred_from").first()
    assert last is not None
    end = last.occurred_from.astimezone(LONDON).date() - dt.timedelta(days=1)
    start = end - dt.timedelta(days=55)
    assert (
        main(
            [
                "trial",
                "create",
                "--name",
                "EVAL",
                "--start",
                str(start),
                "--end",
                str(end),
                "--strata",
                "none",
            ]
        )
        == 0
    )
    trial = Trial.objects.get()
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"randomisation_draws": 19, "alpha": "0.05"}), encoding="utf-8")
    assert main(["trial", "commit", str(trial.pk), "--allow-past-start", "--plan", str(plan)]) == 0
    trial.refresh_from_db()
    return trial


def test_evaluate_from_the_database_and_from_the_exported_panel(
    city: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial = _rehearsal(tmp_path)
    assert json.loads(trial.manifest_json)["analysis_plan"]["randomisation_draws"] == 19
    capsys.readouterr()
    assert main(["trial", "evaluate", str(trial.pk), "--out", str(tmp_path / "db")]) == 0
    out = capsys.readouterr().out
    assert "pre-registered (committed)" in out and "sv_count" in out
    results = json.loads((tmp_path / "db" / "results.json").read_text(encoding="utf-8"))
    assert results["pre_registered"] is True and results["plan"]["randomisation_draws"] == 19
    primary = results["outcomes"][0]
    assert primary["name"] == "sv_count" and primary["estimand"] == "IRR"
    assert primary["ci_low"] < primary["estimate"] < primary["ci_high"]
    assert primary["p_randomisation"] in {k / 20 for k in range(1, 21)}
    names = {o["name"] for o in results["outcomes"]}
    assert names >= {"sv_count", "sv_any", "harm_days", "carryover_lag1", "positive_outcome_rate"}
    page = (tmp_path / "db" / "report.html").read_text(encoding="utf-8")
    assert "<svg" in page and "pre-registered" in page and "SYNTHETIC" not in page
    assert AccessLog.objects.filter(resource="trial_evaluation", object_ref=str(trial.pk)).exists()
    cb = results["cost_benefit"]  # defaults [U]: 15-min target dose (no visits), £52/h, 2 officers
    assert cb["cost"] == pytest.approx(cb["patrol_hours"] * 2 * 52)
    assert cb["prevented"] == pytest.approx(
        primary["mean_control"] * (1 - primary["estimate"]) * cb["patrol_hours"] * 4
    )  # patrol hours = treated place-days / 4 at 15 minutes each
    assert any(a.startswith("[U] no recorded dose") for a in cb["assumptions"])
    assert "Cost–benefit" in page and "Sensitivity" in page and "CONSORT" in page
    n_rows = primary["n_place_days"]
    flow = results["consort"]
    assert sum(flow["allocated"].values()) == n_rows and flow["treated_full_dose"] == 0  # no visits recorded
    rings = results["displacement"]
    assert [r["ring_m"] for r in rings] == [[0, 250], [250, 500]] and all(r["computed"] for r in rings)
    assert rings[0]["hotspot_crimes"]["treatment"] + rings[0]["hotspot_crimes"]["control"] == pytest.approx(
        primary["mean_treatment"] * rings[0]["place_days"]["treatment"]
        + primary["mean_control"] * rings[0]["place_days"]["control"]
    )
    assert "wdq" in rings[0] and rings[0]["buffer_irr"]["estimand"] == "IRR"
    assert "Displacement and diffusion" in page
    assert results["dose_response"]["observational"] is True
    assert results["dose_response"]["computed"] is False  # no visits recorded in this rehearsal
    assert "Patrol time and crime (observational)" in page
    pdf = (tmp_path / "db" / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF") and len(pdf) > 20_000  # with plots
    assert len(re.findall(rb"/Type /Page[^s]", pdf)) >= 2  # page objects, not the /Pages tree

    # the trial results page shows the stored evaluation, to analysts and supervisors only
    stored = TrialEvaluation.objects.get(trial=trial)
    assert stored.results["outcomes"][0]["estimate"] == pytest.approx(primary["estimate"])
    assert stored.panel_rows == n_rows and len(stored.plots) >= 2
    for role in ("analyst", "supervisor"):
        page_html = _client(role).get(f"/trials/{trial.pk}/results/").content.decode()
        assert f"{primary['estimate']:.3f}" in page_html and "Pre-registered." in page_html
        assert "Nearby streets (displacement)" in page_html and "data:image/svg+xml;base64," in page_html
        assert f"{flow['allocated']['treatment']}" in page_html
    assert _client("officer").get(f"/trials/{trial.pk}/results/").status_code == 403
    assert (
        f"/trials/{trial.pk}/results/" in _client("analyst", n=2).get(f"/trials/{trial.pk}/").content.decode()
    )

    # the same panel as a file, with the published commitment: the same answer
    assert main(["trial", "export", str(trial.pk), "--out", str(tmp_path / "panel.csv")]) == 0
    assert main(["trial", "commitment", str(trial.pk), "--out", str(tmp_path / "c.json")]) == 0
    args = ["trial", "evaluate", "--panel", str(tmp_path / "panel.csv"), "--out", str(tmp_path / "file")]
    assert main([*args, "--commitment", str(tmp_path / "c.json")]) == 0
    again = json.loads((tmp_path / "file" / "results.json").read_text(encoding="utf-8"))
    for key in ("estimate", "ci_low", "ci_high", "p_value", "p_randomisation", "n_place_days"):
        assert again["outcomes"][0][key] == pytest.approx(primary[key], rel=1e-9)

    # a trial committed before plans (a v1 manifest): the default plan, marked not pre-registered
    manifest = Commitment.from_json((tmp_path / "c.json").read_bytes()).public_manifest
    del manifest["analysis_plan"]
    manifest["protocol"] = "rasure-commitment-v1"
    (tmp_path / "v1.json").write_text(json.dumps({"commitment_sha256": "0" * 64, "manifest": manifest}))
    capsys.readouterr()
    assert main([*args, "--commitment", str(tmp_path / "v1.json")]) == 0
    assert "NOT pre-registered" in capsys.readouterr().out
    v1 = json.loads((tmp_path / "file" / "results.json").read_text(encoding="utf-8"))
    assert v1["pre_registered"] is False and v1["plan"]["randomisation_draws"] == 999
    assert "NOT pre-registered" in (tmp_path / "file" / "report.html").read_text(encoding="utf-8")

    # without a commitment: no randomisation inference, and it says so
    assert main(args) == 0
    bare = json.loads((tmp_path / "file" / "results.json").read_text(encoding="utf-8"))
    assert bare["outcomes"][0]["p_randomisation"] is None
    assert any("randomisation p-values not computed" in n for n in bare["notes"])


def test_evaluate_usage_errors(city: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trial", "evaluate", "--out", str(tmp_path)]) == 2
    assert "give a trial id" in capsys.readouterr().err
    bad = tmp_path / "panel.csv"
    bad.write_text("hotspot_id,trial_day,arm\nHS1,2025-01-01,control\n", encoding="utf-8")
    assert main(["trial", "evaluate", "--panel", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "lacks columns ['sv_count']" in capsys.readouterr().err
