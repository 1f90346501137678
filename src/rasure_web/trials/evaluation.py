"""Evaluate a trial and write its report (issue 12): ``rasure trial evaluate``.

From the database (a committed trial: its panel, its committed plan and design) or from a panel file
as ``rasure trial export`` writes it (with the commitment document for randomisation inference).
Writes ``results.json``, ``report.html`` (plots made with matplotlib, inline SVG, no network) and
``report.pdf`` (the same sections, :mod:`rasure_web.trials.report_pdf`).
The statistics are the pure core's (:func:`rasure.trial.evaluation.evaluate`).
"""

from __future__ import annotations

import dataclasses
import html
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rasure.trial import (
    DEFAULT_PLAN,
    SCHEDULE_ALGORITHM,
    AnalysisPlan,
    Commitment,
    TrialDesign,
    plan_from_manifest,
)
from rasure.trial.costs import UnitCosts, cost_benefit
from rasure.trial.evaluation import EvaluationError, EvaluationReport, consort_counts, evaluate
from rasure.trial.koper import KOPER_OUTCOMES, koper_curve
from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.models import AccessLog

__all__ = [
    "KOPER_HEADER",
    "EvaluationFiles",
    "bau_rows",
    "evaluate_panel",
    "koper_rows",
    "koper_text",
    "read_panel",
    "report_figures",
    "trial_evaluate",
    "trial_evaluation_simulate",
    "trial_evaluation_store",
    "trial_koper_curve",
    "write_report",
]


@dataclass(frozen=True)
class EvaluationFiles:
    report: EvaluationReport
    results_json: Path
    report_html: Path
    report_pdf: Path | None = None


def read_panel(path: str | Path) -> pd.DataFrame:
    """A panel written by ``rasure trial export`` (CSV, or Parquet when the name ends in .parquet)."""
    p = Path(path)
    try:
        if p.suffix.lower() == ".parquet":
            return pd.read_parquet(p)
        return pd.read_csv(p, dtype={"hotspot_id": str, "stratum": str, "shift": str})
    except (OSError, ValueError) as exc:
        raise EvaluationError(
            f"{p}: cannot read the panel ({exc}). Give the file `rasure trial export` wrote."
        ) from exc


def _design_parts(manifest: dict[str, Any]) -> tuple[list[tuple[str, str, str | None]], TrialDesign]:
    entries = [(h["hotspot_id"], h["stratum"], h["pair_or_block"]) for h in manifest["hotspots"]]
    return entries, TrialDesign.from_json_dict(manifest["design"])


def evaluate_panel(
    panel: pd.DataFrame,
    *,
    commitment: Commitment | None,
    plan_override: AnalysisPlan | None = None,
    costs: UnitCosts | None = None,
) -> EvaluationReport:
    """Evaluate a panel with the plan committed in ``commitment`` (or the default plan, marked not
    pre-registered); randomisation inference uses the committed design when a commitment is given."""
    plan: AnalysisPlan | None = None
    entries = design = None
    algorithm = SCHEDULE_ALGORITHM
    if commitment is not None:
        manifest = commitment.public_manifest
        plan = plan_from_manifest(manifest)
        entries, design = _design_parts(manifest)
        algorithm = manifest["schedule_algorithm"]
    pre_registered = plan is not None and plan_override is None
    report = evaluate(
        panel,
        plan=plan_override or plan or DEFAULT_PLAN,
        pre_registered=pre_registered,
        entries=entries,
        design=design,
        schedule_algorithm=algorithm,
    )
    cb = _cost_benefit(report, panel, costs=costs or UnitCosts(), design=design)
    target = design.target_dose.total_seconds() / 60 if design is not None else 15.0
    return dataclasses.replace(report, cost_benefit=cb, consort=consort_counts(panel, target_minutes=target))


def _cost_benefit(
    report: EvaluationReport, panel: pd.DataFrame, *, costs: UnitCosts, design: TrialDesign | None
) -> dict[str, Any] | None:
    """Cost–benefit of the primary estimate; patrol hours from the panel's dose minutes (both arms),
    else the target dose × treated place-days (stated)."""
    primary = report.outcomes[0]
    if (
        primary.estimate is None
        or primary.ci_low is None
        or primary.ci_high is None
        or not primary.mean_control
    ):
        return None
    known = pd.to_numeric(panel[report.plan["primary_outcome"]], errors="coerce").notna()
    treated = int(((panel["arm"] == "treatment") & known).sum())
    dose = pd.to_numeric(panel["dose_minutes"], errors="coerce") if "dose_minutes" in panel.columns else None
    notes = []
    if dose is not None and dose.notna().any() and float(dose.sum()) > 0:
        hours = float(dose.sum()) / 60.0
        notes.append(f"patrol hours from the recorded dose: {hours:,.1f} h in hot spots, both arms")
    else:
        minutes = design.target_dose.total_seconds() / 60 if design is not None else 15.0
        hours = treated * minutes / 60.0
        notes.append(
            f"[U] no recorded dose: patrol hours assumed = {treated:,} treated place-days × {minutes:g} min target dose"
        )
    cb = cost_benefit(
        control_rate=primary.mean_control,
        irr=primary.estimate,
        irr_low=primary.ci_low,
        irr_high=primary.ci_high,
        treated_place_days=treated,
        patrol_hours=hours,
        costs=costs,
    )
    out = cb.to_json_dict()
    out["assumptions"] = [*out["assumptions"], *notes]
    return out


def trial_koper_curve(*, trial: Any, outcome: str = "serious_violence") -> dict[str, Any]:
    """The Koper curve (:func:`rasure.trial.koper.koper_curve`) of a committed trial: its ended patrol
    visits to its hot spots on its days (presence from the server's entry/exit times, else the
    officer's start/end) and the crimes of the kind ``outcome`` at those hot spots, timed to the
    minute, from the trial's first day to the end of the force's crime data."""
    from rasure.records import TimePrecision
    from rasure_web.crimes.models import CrimeRecord
    from rasure_web.trials.lifecycle import trial_design
    from rasure_web.trials.models import TrialHotSpot
    from rasure_web.trials.panel import visit_model
    from rasure_web.trials.rates import assign_to_hotspots

    if outcome not in KOPER_OUTCOMES:
        raise EvaluationError(f"the Koper curve follows {sorted(KOPER_OUTCOMES)}, not {outcome!r}.")
    design = trial_design(trial=trial)
    members = list(
        TrialHotSpot.objects.filter(trial=trial).select_related("hotspot").order_by("hotspot_code")
    )
    code_of = {m.hotspot_id: m.hotspot_code for m in members}
    visit = visit_model()
    rows = []
    if visit is not None:
        rows = list(
            visit.objects.filter(
                hotspot_id__in=list(code_of),
                trial_day__gte=design.start,
                trial_day__lte=design.end,
                status="ended",
            ).values_list("hotspot_id", "entry_at", "exit_at", "started_at", "ended_at", "dose_minutes")
        )
    visits = pd.DataFrame(
        [
            {
                "hotspot_id": code_of[h],
                "start": entry if entry is not None and exit_ is not None else started,
                "end": exit_ if entry is not None and exit_ is not None else ended,
                "dose_minutes": dose,
            }
            for h, entry, exit_, started, ended, dose in rows
            if (entry is not None and exit_ is not None) or ended is not None
        ],
        columns=["hotspot_id", "start", "end", "dose_minutes"],
    )
    force_crimes = CrimeRecord.objects.filter(tenant_id=trial.tenant_id)
    last = force_crimes.order_by("-occurred_from").values_list("occurred_from", flat=True).first()
    if last is None or visits.empty:
        return {
            "computed": False,
            "observational": True,
            "outcome": outcome,
            "outcome_label": KOPER_OUTCOMES[outcome],
            "reason": "no crime records imported."
            if last is None
            else "no ended patrol visits in the trial.",
        }
    lo = pd.Timestamp(visits["start"].min()).to_pydatetime()
    recs = force_crimes.filter(
        occurred_from__gte=lo, time_precision=TimePrecision.MINUTE.value, easting__isnull=False
    )
    if outcome == "serious_violence":
        recs = recs.filter(serious_violence=True)
    found = list(recs.values_list("occurred_from", "easting", "northing"))
    times: list[Any] = []
    spots: list[str] = []
    if found:
        x = np.array([r[1] for r in found], dtype=float)
        y = np.array([r[2] for r in found], dtype=float)
        rec, hs = assign_to_hotspots([m.hotspot for m in members], x, y)
        times = [found[r][0] for r in rec]
        spots = [members[j].hotspot_code for j in hs]
    crimes = pd.DataFrame({"hotspot_id": spots, "occurred_at": pd.to_datetime(times, utc=True)})
    # the crime data are known to cover up to the newest record's time (censoring there, conservatively)
    result = koper_curve(visits, crimes, data_end=last, outcome=outcome)
    result["data_end"] = last.isoformat()
    return result


def trial_evaluate(
    *,
    trial_id: int,
    out: str | Path,
    user: Any = None,
    costs: UnitCosts | None = None,
    koper_outcome: str = "serious_violence",
) -> EvaluationFiles:
    """Evaluate a committed trial from the database and write the report to ``out`` (logged). The
    Koper curve (observational) follows ``koper_outcome``: ``"serious_violence"`` or ``"any"`` crime."""
    from rasure_web.trials.lifecycle import trial_commitment, trial_get
    from rasure_web.trials.panel import trial_panel_frame

    trial = trial_get(trial_id=trial_id)
    panel, panel_notes = trial_panel_frame(trial=trial)
    report = evaluate_panel(panel, commitment=trial_commitment(trial=trial), costs=costs)
    report = dataclasses.replace(
        report,
        notes=(*report.notes, *panel_notes),
        koper=trial_koper_curve(trial=trial, outcome=koper_outcome),
    )
    files = write_report(
        report, panel, out=out, title=f"Trial {trial.pk}: {trial.name}", synthetic=trial.synthetic
    )
    trial_evaluation_store(trial=trial, report=report, panel=panel, user=user)
    access_log_record(
        user=user,
        action=AccessLog.Action.EXPORT,
        resource="trial_evaluation",
        object_ref=str(trial.pk),
        detail=f"evaluation of {len(panel)} place-days to {files.results_json.parent.name}",
    )
    return files


def trial_evaluation_store(
    *, trial: Any, report: EvaluationReport, panel: pd.DataFrame, user: Any = None
) -> Any:
    """Keep this evaluation (results.json and the plots) for the trial results page; returns the row."""
    from rasure_web import clock
    from rasure_web.trials.models import TrialEvaluation

    return TrialEvaluation.objects.create(
        trial=trial,
        evaluated_at=clock.now(),
        evaluated_by=str(getattr(user, "username", "") or "(system)"),
        results=json.loads(json.dumps(report.to_json_dict())),
        plots=[[caption, svg] for caption, svg in _plots(report, panel)],
        panel_rows=len(panel),
    )


def trial_evaluation_simulate(*, trial: Any, seed: int = 12) -> Any:
    """Store an evaluation of *simulated* outcomes (seeded Poisson counts: serious violence mean 0.6 a
    place-day, harm 30 days per simulated crime, 0.3 in each displacement buffer) on the trial's own
    schedule, with a Koper curve from 200 simulated visits of 1–30 minutes and crimes hours after them,
    so the results page can be seen and tested before a trial has run. Only for a trial marked
    synthetic: the page then says it is a synthetic demonstration. Returns the stored row."""
    import dataclasses

    import numpy as np

    from rasure_web.trials.lifecycle import trial_schedule_frame

    if not trial.synthetic:
        raise EvaluationError(f"trial {trial.pk} is not marked synthetic: simulated results are refused")
    sched = trial_schedule_frame(trial=trial)
    rng = np.random.default_rng(seed)
    panel = sched.assign(
        sv_count=rng.poisson(0.6, len(sched)),
        harm_days=rng.poisson(0.6, len(sched)) * 30.0,
        buffer_0_250_count=rng.poisson(0.3, len(sched)),
        buffer_250_500_count=rng.poisson(0.3, len(sched)),
    )
    t0 = pd.Timestamp(str(trial.design["start"]), tz="UTC") + pd.Timedelta(hours=9)
    n = 200
    visit_start = t0 + pd.to_timedelta(np.arange(n) // 10, unit="h")
    visit_end = visit_start + pd.to_timedelta(rng.uniform(1, 30, n), unit="m")
    spots = [f"H{i % 10}" for i in range(n)]
    visits = pd.DataFrame(
        {"hotspot_id": spots, "start": visit_start, "end": visit_end, "dose_minutes": rng.uniform(1, 30, n)}
    )
    crimes = pd.DataFrame(
        {"hotspot_id": spots, "occurred_at": visit_end + pd.to_timedelta(rng.exponential(6, n), unit="h")}
    )
    koper = koper_curve(visits, crimes, data_end=t0 + pd.Timedelta(days=30), outcome="any")
    report = dataclasses.replace(evaluate_panel(panel, commitment=None), koper=koper)
    return trial_evaluation_store(trial=trial, report=report, panel=panel)


# --------------------------------------------------------------------------------------------------
# The files


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "–" if x is None else format(x, spec)


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _plots(report: EvaluationReport, panel: pd.DataFrame) -> list[tuple[str, str]]:
    """The report's plots as (caption, inline SVG)."""
    return [(caption, _svg(fig)) for caption, fig in report_figures(report, panel)]


def report_figures(report: EvaluationReport, panel: pd.DataFrame) -> list[tuple[str, Any]]:
    """The report's plots as (caption, matplotlib figure); the caller saves and closes each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: list[tuple[str, Any]] = []
    shown = [o for o in report.outcomes if None not in (o.estimate, o.ci_low, o.ci_high)]
    if shown:
        fig, ax = plt.subplots(figsize=(6.5, 0.6 + 0.5 * len(shown)))
        for i, o in enumerate(shown):
            ax.errorbar(
                o.estimate,
                i,
                xerr=[[o.estimate - o.ci_low], [o.ci_high - o.estimate]],  # type: ignore[operator]
                fmt="o",
                color="#1f4e79",
                capsize=4,
            )
        ax.axvline(1.0, color="#555555", linestyle="--", linewidth=1)
        ax.set_xscale("log")  # ratios: 0.5 and 2 equally far from 1
        # plain ratios on the axis (0.5, 1, 2), not matplotlib's 6×10⁻¹ / 10⁰ log labels
        from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

        lo = min(o.ci_low for o in shown)  # type: ignore[type-var]
        hi = max(o.ci_high for o in shown)  # type: ignore[type-var]
        ticks = [
            t for t in (0.1, 0.2, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0, 5.0, 10.0) if lo / 1.2 <= t <= hi * 1.2
        ]
        ax.xaxis.set_major_locator(FixedLocator(ticks or [1.0]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.set_yticks(range(len(shown)), [f"{o.name} ({o.estimand})" for o in shown])
        ax.invert_yaxis()
        ax.set_xlabel("ratio, treatment vs control (log scale; 1 = no difference), 95 % CI")
        out.append(("Effect estimates with 95 % confidence intervals", fig))
    if {"trial_day", "arm", "sv_count"} <= set(panel.columns):
        daily = (
            panel.assign(sv_count=pd.to_numeric(panel["sv_count"], errors="coerce"))
            .groupby([pd.to_datetime(panel["trial_day"]), "arm"])["sv_count"]
            .mean()
            .unstack("arm")
        )
        fig, ax = plt.subplots(figsize=(6.5, 2.6))
        for arm, colour in (("control", "#8c8c8c"), ("treatment", "#1f4e79")):
            if arm in daily.columns:
                ax.plot(daily.index, daily[arm], label=arm, color=colour, linewidth=1.2)
        ax.set_ylabel("serious violence per place-day")
        ax.legend(frameon=False)
        fig.autofmt_xdate()
        out.append(("Daily serious violence per place-day, by arm", fig))
    rings = [r for r in report.displacement or [] if r["computed"]]
    if rings:
        fig, ax = plt.subplots(figsize=(6.5, 2.6))
        labels = ["hot spot", *(f"{r['ring_m'][0]}–{r['ring_m'][1]} m" for r in rings)]
        first = rings[0]
        pd_t, pd_c = first["place_days"]["treatment"] or 1, first["place_days"]["control"] or 1
        treated = [
            first["hotspot_crimes"]["treatment"] / pd_t,
            *(r["buffer_mean"]["treatment"] or 0 for r in rings),
        ]
        control = [
            first["hotspot_crimes"]["control"] / pd_c,
            *(r["buffer_mean"]["control"] or 0 for r in rings),
        ]
        pos = range(len(labels))
        ax.bar([i - 0.2 for i in pos], treated, width=0.4, label="treatment", color="#1f4e79")
        ax.bar([i + 0.2 for i in pos], control, width=0.4, label="control", color="#8c8c8c")
        ax.set_xticks(list(pos), labels)
        ax.set_ylabel("serious violence per place-day")
        ax.legend(frameon=False)
        out.append(("Serious violence in hot spots and the rings around them, by arm", fig))
    k = report.koper
    if k is not None and k.get("computed"):
        fig, ax = plt.subplots(figsize=(6.5, 3.0))
        colours = ["#b2182b", "#ef8a62", "#1f4e79", "#67a9cf", "#4d4d4d"]
        for i, b in enumerate(r for r in k["band_rows"] if r["curve"]):
            t = [p[0] / 60.0 for p in b["curve"]]
            surv = [p[1] for p in b["curve"]]
            end = (k["max_follow_up_hours"] or max(t)) if t else 0
            ax.step(
                [*t, end],
                [*surv, surv[-1]],
                where="post",
                color=colours[i % len(colours)],
                linewidth=1.3,
                label=f"{b['band']} ({b['spells']:,} visits)",
            )
        lowest = min((p[1] for r in k["band_rows"] for p in r["curve"]), default=0.0)
        ax.set_xlabel("hours after the patrol left")
        ax.set_ylabel(f"share still free of\n{k['outcome_label']}")
        ax.set_ylim(max(0.0, lowest - 0.05), 1.005)  # the interesting part; the axis says where it starts
        if k["max_follow_up_hours"]:
            ax.set_xlim(0, k["max_follow_up_hours"])
        ax.legend(frameon=False, fontsize=7, title="minutes of presence", title_fontsize=7)
        out.append(
            (
                f"Koper curve (observational): time to the next {k['outcome_label']} at the hot spot after a "
                "patrol, by minutes of presence (Kaplan–Meier)",
                fig,
            )
        )
    return out


def _consort_section(report: EvaluationReport) -> str:
    c = report.consort
    if c is None:
        return ""

    def n(x: Any) -> str:
        return "no patrol data" if x is None else f"{x:,}"

    known = c.get("outcome_known", {})
    bau = "".join(
        f'<tr><th scope="row">{html.escape(label)}</th><td>{html.escape(t)}</td><td>{html.escape(k)}</td></tr>\n'
        for label, t, k in bau_rows(c.get("bau"))
    )
    return f"""<section aria-labelledby="flow"><h2 id="flow">Flow of place-days (CONSORT)</h2>
<table><thead><tr><th scope="col"></th><th scope="col">Treatment</th><th scope="col">Control</th></tr></thead><tbody>
<tr><th scope="row">Allocated</th><td>{c["allocated"]["treatment"]:,}</td><td>{c["allocated"]["control"]:,}</td></tr>
<tr><th scope="row">Outcome known (analysed)</th><td>{n(known.get("treatment"))}</td><td>{n(known.get("control"))}</td></tr>
<tr><th scope="row">Target dose reached ({c["target_minutes"]:g} min)</th><td>{n(c["treated_full_dose"])}</td><td>–</td></tr>
<tr><th scope="row">Some patrol, below target</th><td>{n(c["treated_partial_dose"])}</td><td>–</td></tr>
<tr><th scope="row">No recorded patrol</th><td>{n(c["treated_no_dose"])}</td><td>–</td></tr>
<tr><th scope="row">Visited although control (contamination)</th><td>–</td><td>{n(c["control_visited"])}</td></tr>
{bau}</tbody></table></section>"""


def bau_rows(b: dict[str, Any] | None) -> list[list[str]]:
    """The radio/AVLS (business-as-usual) presence rows of the CONSORT table (label, treatment,
    control), from the ``bau`` entry of :func:`rasure.trial.evaluation.consort_counts` (None: no
    radio/AVLS file covers the trial); the HTML and PDF reports both show these."""
    if not b:
        return [["Radio/AVLS presence (business as usual)", "no radio/AVLS file", "no radio/AVLS file"]]
    p, m = b["place_days_present"], b["mean_minutes"]
    return [
        ["Radio/AVLS presence on the place-day", f"{p['treatment']:,}", f"{p['control']:,}"],
        ["Radio/AVLS minutes per place-day (mean)", _fmt(m["treatment"], ".1f"), _fmt(m["control"], ".1f")],
    ]


def _displacement_section(report: EvaluationReport) -> str:
    rings = [r for r in report.displacement or [] if r["computed"]]
    if not rings:
        return (
            "<section aria-labelledby='disp'><h2 id='disp'>Displacement and diffusion</h2>"
            "<p>Not computed: the panel has no buffer counts (exported before they existed).</p></section>"
        )
    e = html.escape
    rows = []
    for r in rings:
        irr = r.get("buffer_irr") or {}
        mean = r["buffer_mean"]
        rows.append(
            f"<tr><th scope='row'>{r['ring_m'][0]}–{r['ring_m'][1]} m</th>"
            f"<td>{r['buffer_crimes']['treatment']:,.0f} ({_fmt(mean['treatment'], '.3f')})</td>"
            f"<td>{r['buffer_crimes']['control']:,.0f} ({_fmt(mean['control'], '.3f')})</td>"
            f"<td>{_fmt(irr.get('estimate'))} ({_fmt(irr.get('ci_low'))} to {_fmt(irr.get('ci_high'))})</td>"
            f"<td>{_fmt(irr.get('p_value'), '.4f')}</td><td>{_fmt(r['wdq'], '.2f')}</td>"
            f"<td>{_fmt(r['total_net_effect'], ',.1f')}</td><td>{e(r['interpretation'])}</td></tr>"
        )
    return f"""<section aria-labelledby="disp"><h2 id="disp">Displacement and diffusion</h2>
<table><thead><tr><th scope="col">Ring around each hot spot</th><th scope="col">Crimes on treated days (per place-day)</th>
<th scope="col">Crimes on control days (per place-day)</th><th scope="col">IRR, treated vs control (95 % CI)</th>
<th scope="col">p (model)</th><th scope="col">WDQ</th><th scope="col">Net crimes prevented</th><th scope="col">Reading</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<p>Serious violence in rings around each hot spot (distance from its edge), outside every hot spot of the
trial. WDQ: weighted displacement quotient (Bowers &amp; Johnson 2003) with control place-days as "before"
and treated place-days as "after"; above 0 means the ring also gained (diffusion of benefit), below 0
displacement, below −1 displacement larger than the gain. Net crimes prevented counts hot spots and ring
together on treated place-days.</p></section>"""


def _dose_section(report: EvaluationReport) -> str:
    dr = report.dose_response
    head = "<section aria-labelledby='dose'><h2 id='dose'>Patrol time and crime (observational)</h2>"
    if dr is None or not dr["computed"]:
        reason = "not computed" if dr is None else html.escape(dr["reason"])
        return f"{head}<p>Not computed: {reason}</p></section>"

    def cell(x: dict[str, Any]) -> str:
        return f"{x['place_days']:,} ({_fmt(x['mean'])})"

    rows = "".join(
        f"<tr><th scope='row'>{html.escape(b['band'])}</th><td>{cell(b['treatment'])}</td><td>{cell(b['control'])}</td></tr>"
        for b in dr["bands"]
    )
    model = (
        f"<p>Rate ratio per {dr['per_minutes']:g} more minutes of recorded presence, same place, weekday and arm: "
        f"{_fmt(dr['rate_ratio'])} (95 % CI {_fmt(dr['ci_low'])} to {_fmt(dr['ci_high'])}, "
        f"p {_fmt(dr['p_value'], '.4f')}; {dr['n_place_days']:,} place-days).</p>"
    )
    return f"""{head}
<p class="warn"><strong>Exploratory and observational.</strong> How long officers stayed was not randomised
(they may stay longer where trouble is expected), and this analysis is not in the plan: it shows an
association, not the effect of patrol.</p>
<table><caption>Place-days (mean serious violence per place-day) by minutes of recorded presence ({html.escape(dr["dose_column"])})</caption>
<thead><tr><th scope="col">Presence on the day</th><th scope="col">Treatment</th><th scope="col">Control</th></tr></thead>
<tbody>{rows}</tbody></table>{model}</section>"""


#: The Koper curve table's columns (report.html and report.pdf).
KOPER_HEADER = (
    "Minutes of presence",
    "Visits",
    "Followed by a crime",
    "Crime-free after 1 h",
    "after 6 h",
    "after 24 h",
    "Median time to the next crime",
    "Hazard ratio (95 % CI), Cox",
)


def koper_rows(k: dict[str, Any]) -> list[list[str]]:
    """The Koper curve's table (:data:`KOPER_HEADER`), one row of text per dose band."""
    hr = {c["band"]: c for c in k["cox"]}

    def cox_cell(band: str) -> str:
        if band == k["reference_band"]:
            return "1 (reference)"
        c = hr.get(band)
        if c is None:
            return "–"
        return f"{_fmt(c['hazard_ratio'], '.2f')} ({_fmt(c['ci_low'], '.2f')} to {_fmt(c['ci_high'], '.2f')}), p {_fmt(c['p_value'], '.3f')}"

    def share(b: dict[str, Any], m: str) -> str:
        v = b["crime_free_at"].get(m)
        return "–" if v is None else f"{v * 100:.0f} %"

    return [
        [
            b["band"],
            f"{b['spells']:,}",
            f"{b['events']:,}",
            share(b, "60"),
            share(b, "360"),
            share(b, "1440"),
            "not reached" if b["median_minutes"] is None else f"{b['median_minutes'] / 60:.1f} h",
            cox_cell(b["band"]),
        ]
        for b in k["band_rows"]
    ]


def koper_text(k: dict[str, Any] | None) -> tuple[str, str]:
    """The Koper curve's (caveat or reason, method note) as plain text, for report.html and report.pdf."""
    if k is None:
        return (
            "Not computed: the Koper curve needs the patrol visits themselves (the database), not the place-day panel.",
            "",
        )
    if not k.get("computed"):
        return f"Not computed: {k.get('reason', '')}", ""
    censored = ", ".join(f"{n:,} by {why}" for why, n in k.get("censored_by", {}).items())
    return (
        "Exploratory and observational. How long officers stayed was not randomised (they may stay longer "
        "where trouble is expected), and this analysis is not in the plan: the curves show an association, "
        "not the effect of staying longer.",
        f"After {k['n_spells']:,} patrol visits ({k['n_visits']:,} records; overlapping visits merged), time to "
        f"the next {k['outcome_label']} at the hot spot: Kaplan–Meier estimates per band; Cox proportional-"
        "hazards model with the band (reference: the shortest band; a hazard ratio below 1: the next crime "
        f"came later). Log-rank test of equal curves: p {_fmt(k.get('logrank_p'), '.3f')}. Censoring: "
        f"{k['censoring']}{f' ({censored})' if censored else ''}. After Koper (1995), who found that crime-free "
        "time after a stop grew with its length up to about 10–15 minutes.",
    )


def _koper_section(report: EvaluationReport) -> str:
    k = report.koper
    e = html.escape
    head = "<section aria-labelledby='koper'><h2 id='koper'>Time to the next crime after a patrol (Koper curve, observational)</h2>"
    lead, note = koper_text(k)
    if k is None or not k.get("computed"):
        return f"{head}<p>{e(lead)}</p></section>"
    caveat, _, rest = lead.partition(". ")
    header = "".join(f"<th scope='col'>{e(h)}</th>" for h in KOPER_HEADER)
    rows = "".join(
        f"<tr><th scope='row'>{e(r[0])}</th>{''.join(f'<td>{e(v)}</td>' for v in r[1:])}</tr>"
        for r in koper_rows(k)
    )
    return f"""{head}
<p class="warn"><strong>{e(caveat)}.</strong> {e(rest)}</p>
<table><caption>Time to the next {e(k["outcome_label"])} at the hot spot after a patrol, by minutes of presence</caption>
<thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>
<p>{e(note)}</p></section>"""


def _cost_section(report: EvaluationReport) -> str:
    cb = report.cost_benefit
    e = html.escape
    if cb is None:
        return "<section aria-labelledby='cba'><h2 id='cba'>Cost–benefit</h2><p>Not computed: no primary estimate.</p></section>"
    rows = "".join(
        f"<tr><td>{r['hour_cost_factor']:g}×</td><td>{r['crime_cost_factor']:g}×</td><td>{r['bcr']:.2f}</td></tr>"
        for r in cb["sensitivity"]
    )
    assumptions = "".join(f"<li>{e(a)}</li>" for a in cb["assumptions"])
    return f"""<section aria-labelledby="cba"><h2 id="cba">Cost–benefit (primary estimate)</h2>
<p>Crimes prevented: {cb["prevented"]:,.1f} (95 % CI {cb["prevented_low"]:,.1f} to {cb["prevented_high"]:,.1f});
benefit £{cb["benefit"]:,.0f}; patrol cost £{cb["cost"]:,.0f} ({cb["patrol_hours"]:,.1f} patrol hours);
benefit–cost ratio {cb["bcr"]:.2f} (interval {cb["bcr_low"]:.2f} to {cb["bcr_high"]:.2f}). A negative number
of crimes prevented means more crime in treated place-days.</p>
<table><caption>Sensitivity of the benefit–cost ratio</caption><thead><tr><th scope="col">Hourly cost</th>
<th scope="col">Cost per crime</th><th scope="col">BCR</th></tr></thead><tbody>{rows}</tbody></table>
<p>Assumptions ([U] = unverified default, configurable):</p><ul>{assumptions}</ul></section>"""


def write_report(
    report: EvaluationReport, panel: pd.DataFrame, *, out: str | Path, title: str, synthetic: bool = False
) -> EvaluationFiles:
    """Write ``results.json``, ``report.html`` and ``report.pdf`` into the folder ``out`` (created if needed)."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    results = folder / "results.json"
    results.write_text(
        json.dumps(report.to_json_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    e = html.escape
    rows = "".join(
        f"<tr><th scope='row'>{e(o.name)}</th><td>{e(o.estimand)}</td><td>{_fmt(o.estimate)}</td>"
        f"<td>{_fmt(o.ci_low)} to {_fmt(o.ci_high)}</td><td>{_fmt(o.percent_change, '+.1f')}</td>"
        f"<td>{_fmt(o.p_value, '.4f')}</td><td>{_fmt(o.p_randomisation, '.4f')}</td>"
        f"<td>{o.n_place_days:,}</td><td>{e(o.method)}</td></tr>"
        for o in report.outcomes
    )
    outcome_notes = "".join(f"<li>{e(o.name)}: {e(n)}</li>" for o in report.outcomes for n in o.notes)
    notes = "".join(f"<li>{e(n)}</li>" for n in report.notes) + outcome_notes
    plots = "".join(
        f"<figure>{svg}<figcaption>{e(cap)}</figcaption></figure>" for cap, svg in _plots(report, panel)
    )
    status = (
        "<p class='ok'>The analysis plan was pre-registered: it is part of the trial's published commitment.</p>"
        if report.pre_registered
        else "<p class='warn'><strong>Not pre-registered.</strong> The plan below was applied at evaluation "
        "time (Rasure's default plan); treat the results accordingly.</p>"
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}: evaluation</title>
<style>
body{{font-family:system-ui,sans-serif;color:#1a1a1a;max-width:70rem;margin:2rem auto;padding:0 1rem;line-height:1.45}}
table{{border-collapse:collapse;width:100%;font-size:.92rem}}th,td{{border-bottom:1px solid #ccc;padding:.35rem .5rem;text-align:left}}
thead th{{background:#1f4e79;color:#fff}}.warn{{background:#fff3cd;border-left:4px solid #8a6d00;padding:.5rem}}
.ok{{background:#e7f1e7;border-left:4px solid #2e6b2e;padding:.5rem}}figure{{margin:1.5rem 0}}figcaption{{font-size:.9rem;color:#333}}
pre{{background:#f4f4f4;padding:.75rem;white-space:pre-wrap}}
</style></head>
<body><header><h1>{e(title)}: evaluation</h1>{"<p class='warn'>SYNTHETIC trial: demonstration data.</p>" if synthetic else ""}</header>
<main>
<section aria-labelledby="plan"><h2 id="plan">Analysis plan</h2>{status}
<pre>{e(json.dumps(report.plan, indent=None, separators=(", ", ": ")))}</pre></section>
<section aria-labelledby="res"><h2 id="res">Results (intention to treat)</h2>
<table><thead><tr><th scope="col">Outcome</th><th scope="col">Estimand</th><th scope="col">Estimate</th>
<th scope="col">95 % CI</th><th scope="col">% change</th><th scope="col">p (model)</th>
<th scope="col">p (randomisation)</th><th scope="col">Place-days</th><th scope="col">Method</th></tr></thead>
<tbody>{rows}</tbody></table>
<p>IRR: incidence-rate ratio; RR: risk ratio (any serious violence on the place-day); RoM: ratio of means
(harm). A ratio below 1 means less in treated place-days. The randomisation p-value places the observed
statistic among schedules re-drawn from the committed design with other seeds.</p></section>
{_consort_section(report)}
{_displacement_section(report)}
{_dose_section(report)}
{_koper_section(report)}
{_cost_section(report)}
<section aria-labelledby="plots"><h2 id="plots">Plots</h2>{plots}</section>
<section aria-labelledby="notes"><h2 id="notes">Notes</h2><ul>{notes}</ul></section>
</main></body></html>
"""
    page_path = folder / "report.html"
    page_path.write_text(page, encoding="utf-8")
    from rasure_web.trials.report_pdf import write_report_pdf

    pdf_path = write_report_pdf(report, panel, path=folder / "report.pdf", title=title, synthetic=synthetic)
    return EvaluationFiles(report=report, results_json=results, report_html=page_path, report_pdf=pdf_path)
