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
    koper = results["koper"]  # no visits recorded: said, not hidden
    assert (
        koper["computed"] is False and koper["observational"] and "no ended patrol visits" in koper["reason"]
    )
    assert "Koper curve, observational" in page
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
    assert again["koper"] is None  # a panel has no visits: the report says the curve needs the database
    assert "needs the patrol visits" in (tmp_path / "file" / "report.html").read_text(encoding="utf-8")

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


def test_the_completed_demo_trial_evaluates_with_synthetic_visits_and_a_koper_curve(
    city: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rasure_web import clock
    from rasure_web.patrols.demo import SYNTHETIC_VISIT_NOTE
    from rasure_web.patrols.models import Visit
    from rasure_web.trials.lifecycle import DEMO_PAST_TRIAL, trial_demo_past

    message = trial_demo_past(days=28, randomisation_draws=19)
    trial = Trial.objects.get(name=DEMO_PAST_TRIAL)
    assert "completed demo trial" in message and f"rasure trial evaluate {trial.pk}" in message
    assert trial.status == Trial.Status.COMPLETED and trial.synthetic and trial.revealed_seed
    design = json.loads(trial.manifest_json)["design"]
    last = CrimeRecord.objects.order_by("-occurred_from").first()
    assert last is not None
    assert dt.date.fromisoformat(design["end"]) < last.occurred_from.astimezone(LONDON).date()
    assert dt.date.fromisoformat(design["end"]) < clock.local_today()  # before today's demo trial
    visits = Visit.objects.filter(trial_id=trial.pk)
    assert visits.count() > 20 and not visits.exclude(note=SYNTHETIC_VISIT_NOTE).exists()
    treated = set(trial.schedule.filter(arm="treatment").values_list("trial_day", "hotspot_id"))
    on_treated = sum((v.trial_day, v.hotspot_id) in treated for v in visits)
    assert on_treated > 0.8 * visits.count()  # mostly treated days; a few control days (contamination)
    assert trial_demo_past() == "the completed demo trial exists (kept)"

    capsys.readouterr()
    out_dir = tmp_path / "demo"
    args = ["trial", "evaluate", str(trial.pk), "--out", str(out_dir), "--koper-outcome", "any"]
    assert main(args) == 0
    assert "Koper curve (observational)" in capsys.readouterr().out
    results = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
    assert results["consort"]["treated_full_dose"] > 0 and results["dose_response"]["computed"]
    koper = results["koper"]
    assert koper["computed"] and koper["observational"] and koper["outcome"] == "any"
    assert koper["n_visits"] == visits.count() and koper["n_events"] > 0
    assert sum(b["spells"] for b in koper["band_rows"]) == koper["n_spells"]
    assert koper["reference_band"] == "0–5 min" or koper["cox"] == []
    page = (out_dir / "report.html").read_text(encoding="utf-8")
    assert "SYNTHETIC" in page and "Koper curve" in page and "Exploratory and observational" in page
    assert (out_dir / "report.pdf").read_bytes().startswith(b"%PDF-")
    results_page = _client("analyst").get(f"/trials/{trial.pk}/results/").content.decode()
    assert "Koper curve, observational" in results_page and "1 (reference)" in results_page


def test_the_completed_demo_trial_goes_before_a_committed_trial_it_would_overlap(city: None) -> None:
    from rasure_web.trials import lifecycle

    last = CrimeRecord.objects.order_by("-occurred_from").first()
    assert last is not None
    start = last.occurred_from.astimezone(LONDON).date() - dt.timedelta(days=10)
    other = lifecycle.trial_create(name="RUNNING", start=start, end=start + dt.timedelta(days=30))
    actor = lifecycle.CliActor(username="cli:test")
    lifecycle.trial_commit(trial_id=other.pk, user=actor, seed="5e" * 32, allow_past_start=True)
    assert "completed demo trial" in lifecycle.trial_demo_past(days=14, randomisation_draws=0)
    past = Trial.objects.get(name=lifecycle.DEMO_PAST_TRIAL)
    assert lifecycle.trial_design(trial=past).end == start - dt.timedelta(days=1)
    assert past.status == Trial.Status.COMPLETED and Trial.objects.count() == 2


def test_the_report_shows_radio_presence_by_arm(tmp_path: Path) -> None:
    """Business-as-usual presence from radio/AVLS files, both arms, in the HTML and PDF reports."""
    import numpy as np

    from rasure_web.trials.evaluation import evaluate_panel, write_report
    from tests.core.test_trial_evaluation import simulate

    panel, _, _ = simulate(places=6, days=14, irr=0.8, seed=3)
    treated = (panel["arm"].astype(str) == "treatment").to_numpy()
    panel = panel.assign(bau_minutes=np.where(treated, 10.0, 4.0), bau_visits=1)
    report = evaluate_panel(panel, commitment=None)
    files = write_report(report, panel, out=tmp_path / "out", title="Synthetic", synthetic=True)
    text = files.report_html.read_text(encoding="utf-8")
    assert "Radio/AVLS minutes per place-day (mean)</th><td>10.0</td><td>4.0</td>" in text
    assert report.consort is not None and report.consort["bau"]["mean_minutes"] == {
        "treatment": 10.0,
        "control": 4.0,
    }
    assert files.report_pdf is not None and files.report_pdf.stat().st_size > 0


def test_the_radio_presence_rows_are_one_table_for_both_reports() -> None:
    """The CONSORT table's radio/AVLS rows (label, treatment, control) that the HTML and the PDF report
    both print, from hand-made counts, and the row said when no radio/AVLS file covers the trial."""
    from rasure_web.trials.evaluation import bau_rows

    counts = {
        "place_days_present": {"treatment": 1234, "control": 5},
        "mean_minutes": {"treatment": 10.04, "control": None},
    }
    assert bau_rows(counts) == [
        ["Radio/AVLS presence on the place-day", "1,234", "5"],
        ["Radio/AVLS minutes per place-day (mean)", "10.0", "–"],
    ]
    assert bau_rows(None) == [
        ["Radio/AVLS presence (business as usual)", "no radio/AVLS file", "no radio/AVLS file"]
    ]
