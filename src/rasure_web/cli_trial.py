"""``rasure trial ...`` sub-commands: create, commit, list, schedule, verify, audit, complete, commitment, power,
export, evaluate.

All but ``power`` with explicit rates work on the database. Exit codes: 0 success; 1 verification
failed; 2 wrong usage or a refused request (the message says why).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any


def _db() -> None:
    from rasure_web.cli import open_database

    open_database()


def _actor() -> Any:
    from rasure_web.trials.lifecycle import CliActor

    return CliActor(username=f"cli:{os.environ.get('USER', '') or 'unknown'}")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-04-01") from exc


def _share(text: str) -> float:
    try:
        if "/" in text:
            num, den = (int(x) for x in text.split("/"))
            return num / den
        return float(text)
    except (ValueError, ZeroDivisionError) as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share like 0.5 or 1/3") from exc


def _clock(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time like 06:00") from exc


def _plan(path: str) -> Any:
    """The analysis plan in a JSON file (fields of rasure.trial.AnalysisPlan; missing ones default)."""
    import json

    from rasure.trial import AnalysisPlan, AnalysisPlanError

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AnalysisPlanError(f"{path}: cannot read the analysis plan as JSON ({exc}).") from exc
    return AnalysisPlan.from_json_dict(data, where=path)


def cmd_create(args: argparse.Namespace) -> int:
    _db()
    from rasure_web import clock
    from rasure_web.trials.lifecycle import trial_create

    # default: tomorrow's date where the trial runs (its time zone), so a commitment precedes day 1
    start = args.start or clock.local_today(args.timezone) + timedelta(days=1)
    end = args.end or start + timedelta(days=args.days - 1)
    trial = trial_create(
        name=args.name,
        start=start,
        end=end,
        user=_actor(),
        kind=args.design,
        treated_share=args.share,
        cap_per_day=args.cap_per_day,
        cap_per_week=args.cap_per_week,
        target_dose=timedelta(minutes=args.target_dose_min),
        day_start=args.day_start,
        timezone=args.timezone,
        strata_by_shift=args.by_shift,
        shifts=tuple(s.strip() for s in args.shifts.split(",") if s.strip()),
        block_allocation=args.block_allocation,
        block_size=args.block_size,
        hotspot_codes=args.hotspots.split(",") if args.hotspots else None,
        strata=args.strata,
        force=args.force,
    )
    strata: dict[str, int] = {}
    for s in trial.hotspots.values_list("stratum", flat=True):
        strata[s] = strata.get(s, 0) + 1
    d = trial.design
    print(
        f"Trial {trial.pk} created (draft): {trial.name!r}, {d['kind']} design, {d['start']} to {d['end']}, "
        f"{d['treated_share']} treated, {trial.hotspots.count()} hot spots frozen from analysis run "
        f"{trial.analysis_run_id}"
    )
    print("  strata: " + ", ".join(f"{k} ({v})" for k, v in sorted(strata.items())))
    print(
        f"  patrol rules: at most {d['cap_per_day']} per hot spot per day"
        + (f", {d['cap_per_week']} per week" if d["cap_per_week"] else "")
        + f"; target dose {d['target_dose_seconds'] // 60} min"
    )
    print(
        f"Next: check it (rasure trial power --trial {trial.pk} --from-data), then rasure trial commit {trial.pk}"
    )
    return 0


def cmd_commit(args: argparse.Namespace) -> int:
    _db()
    from rasure_web.trials.audit import trial_anchor_schedule
    from rasure_web.trials.lifecycle import trial_commit

    plan = _plan(args.plan) if args.plan else None
    result = trial_commit(
        trial_id=args.id, user=_actor(), seed=args.seed, allow_past_start=args.allow_past_start, plan=plan
    )
    anchor = trial_anchor_schedule(trial_id=result.trial.pk, user=_actor())
    doc = result.commitment.to_json()
    if args.out:
        Path(args.out).write_text(doc + "\n", encoding="utf-8")
    print(f"Trial {result.trial.pk} committed: {result.schedule_rows:,} schedule rows stored.")
    print(f"Commitment (SHA-256): {result.commitment.digest_hex}")
    print(
        f"Schedule anchored in the access log (seq {anchor.seq}): `rasure trial audit {result.trial.pk}` daily."
    )
    if args.out:
        print(f"Commitment document written to {args.out}: publish it now (trial registry, OSF, email).")
    else:
        print("Commitment document (publish it now: trial registry, OSF, email to the statistician):")
        print(doc)
    bar = "!" * 78
    print(f"\n{bar}\nSECRET SEED (shown once, NOT stored by Rasure):\n\n    {result.seed}\n")
    print(
        "Store it safely offline now (sealed envelope, password manager, the independent statistician).\n"
        "Do not share it until the trial ends: anyone with the seed can compute the whole schedule.\n"
        "Without it, nobody (you included) can prove the schedule later with `rasure trial verify`.\n" + bar
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    _db()
    from django.db.models import Count

    from rasure_web.accounts.tenancy import resolve_force
    from rasure_web.trials.models import Trial

    trials = Trial.objects.select_related("tenant").annotate(n=Count("hotspots")).order_by("pk")
    if args.force:  # one force's trials; without it every force's, each with its force's code
        trials = trials.filter(tenant=resolve_force(args.force))
    if not trials:
        print("No trials yet: rasure trial create --name NAME ...")
        return 0
    print(
        f"{'id':>4}  {'force':<8} {'status':<10} {'design':<8} {'start':<11}{'end':<11}{'spots':>6}"
        "  name / commitment"
    )
    for t in trials:
        d = t.design
        force = t.tenant.code if t.tenant else "-"
        print(
            f"{t.pk:>4}  {force:<8} {t.status:<10} {d['kind']:<8} {d['start']:<11}{d['end']:<11}{t.n:>6}  {t.name}"
            + (" (synthetic)" if t.synthetic else "")
            + (f"  {t.commitment_sha256[:16]}…" if t.commitment_sha256 else "")
        )
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    _db()
    from rasure.trial import schedule_to_csv
    from rasure_web.accounts.access import access_log_record
    from rasure_web.accounts.models import AccessLog
    from rasure_web.trials.lifecycle import trial_get, trial_schedule_frame
    from rasure_web.trials.models import Trial

    trial = trial_get(trial_id=args.id)
    if trial.status == Trial.Status.DRAFT:
        print(
            f"rasure: trial {trial.pk} is a draft: it has no schedule until it is committed.", file=sys.stderr
        )
        return 2
    frame = trial_schedule_frame(trial=trial, day=args.day)
    if frame.empty:
        print(f"rasure: trial {trial.pk} has no schedule rows for {args.day}.", file=sys.stderr)
        return 2
    data = schedule_to_csv(frame)
    access_log_record(
        user=_actor(),
        action=AccessLog.Action.EXPORT,
        resource="trial_schedule",
        object_ref=str(trial.pk),
        detail=f"{len(frame)} rows"
        + (f" for {args.day}" if args.day else "")
        + f" to {args.out or 'stdout'}",
    )
    if args.out:
        Path(args.out).write_bytes(data)
        treated = int((frame["arm"] == "treatment").sum())
        print(
            f"Wrote {len(frame):,} rows ({treated:,} treated) to {args.out} (canonical CSV).", file=sys.stderr
        )
    else:
        sys.stdout.write(data.decode("utf-8"))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    _db()
    from rasure_web.trials.lifecycle import trial_verify

    csv = Path(args.schedule).read_bytes() if args.schedule else None
    check = trial_verify(trial_id=args.id, seed=args.seed, schedule_csv=csv, user=_actor())
    print(check.report(max_rows=args.max_rows))
    return 0 if check.ok else 1


def cmd_audit(args: argparse.Namespace) -> int:
    _db()
    from rasure_web.trials.audit import trial_audit

    result = trial_audit(trial_id=args.id, user=_actor())
    print(result.text(max_problems=args.max_rows))
    return 0 if result.ok else 1


def cmd_complete(args: argparse.Namespace) -> int:
    _db()
    from rasure_web.trials.lifecycle import trial_complete

    check = trial_complete(trial_id=args.id, seed=args.seed, user=_actor(), early=args.early)
    print(check.report())
    print(f"Trial {args.id} completed: the seed is revealed and stored with the trial.")
    return 0


def cmd_commitment(args: argparse.Namespace) -> int:
    _db()
    from rasure_web.trials.lifecycle import trial_commitment, trial_get

    doc = trial_commitment(trial=trial_get(trial_id=args.id)).to_json()
    if args.out:
        Path(args.out).write_text(doc + "\n", encoding="utf-8")
        print(f"Wrote the commitment document to {args.out}", file=sys.stderr)
    else:
        print(doc)
    return 0


def cmd_power(args: argparse.Namespace) -> int:
    if args.from_data or args.trial is not None:
        _db()
    from rasure_web.trials.rates import trial_power

    report = trial_power(
        hotspots=args.hotspots,
        days=args.days,
        treated_share=args.share,
        base_rate=args.base_rate,
        dispersion_k=args.dispersion,
        from_data=args.from_data,
        trial_id=args.trial,
        hotspot_codes=args.codes.split(",") if args.codes else None,
        months=args.months,
        alpha=args.alpha,
        power=args.power,
        design_effect=args.design_effect,
        rate_ratios=args.rate_ratio or [0.8],
        force=args.force,
    )
    print(report.text())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    _db()
    from rasure_web.trials.panel import trial_export_panel

    result = trial_export_panel(trial_id=args.id, out=args.out, user=_actor())
    print(f"Wrote {result.rows:,} place-day rows to {result.path}: {', '.join(result.columns)}")
    for n in result.notes:
        print(f"  note: {n}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    _db()
    from rasure.trial import Commitment
    from rasure.trial.costs import UnitCosts
    from rasure_web.trials.evaluation import evaluate_panel, read_panel, trial_evaluate, write_report

    if (args.id is None) == (args.panel is None):
        print("rasure: give a trial id, or --panel FILE (not both).", file=sys.stderr)
        return 2
    given = {
        "cost_per_crime": args.cost_per_crime,
        "uprating": args.uprate,
        "officer_hour_cost": args.officer_hour_cost,
        "officers_per_patrol": args.officers_per_patrol,
    }
    chosen: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if args.cost_per_crime is not None:
        chosen["cost_source"] = f"£{args.cost_per_crime:,.0f} per crime, given with --cost-per-crime"
    if args.officer_hour_cost is not None:
        chosen["officer_hour_source"] = f"£{args.officer_hour_cost:,.2f} per officer-hour, given"
    costs = UnitCosts(**chosen)
    if args.panel:
        commitment = Commitment.from_json(Path(args.commitment).read_bytes()) if args.commitment else None
        plan = _plan(args.plan) if args.plan else None
        panel = read_panel(args.panel)
        report = evaluate_panel(panel, commitment=commitment, plan_override=plan, costs=costs)
        files = write_report(report, panel, out=args.out, title=f"Panel {Path(args.panel).name}")
    else:
        files = trial_evaluate(
            trial_id=args.id, out=args.out, user=_actor(), costs=costs, koper_outcome=args.koper_outcome
        )
    r = files.report
    print(f"Analysis plan: {'pre-registered (committed)' if r.pre_registered else 'NOT pre-registered'}")
    for o in r.outcomes:
        est = (
            "not estimable"
            if o.estimate is None
            else (
                f"{o.estimate:.3f} (95% CI {o.ci_low:.3f} to {o.ci_high:.3f})"
                + (f", p = {o.p_value:.4f}" if o.p_value is not None else "")
                + (f", randomisation p = {o.p_randomisation:.4f}" if o.p_randomisation is not None else "")
            )
        )
        print(f"  {o.name:<16} {o.estimand:<4} {est}  [{o.n_place_days:,} place-days]")
    for n in r.notes:
        print(f"  note: {n}")
    if r.cost_benefit is not None:
        cb = r.cost_benefit
        print(
            f"  cost-benefit: {cb['prevented']:,.1f} crimes prevented, BCR {cb['bcr']:.2f} "
            f"({cb['bcr_low']:.2f} to {cb['bcr_high']:.2f}); unit costs are [U] defaults unless given"
        )
    for ring in r.displacement or []:
        if ring["computed"]:
            irr = ring.get("buffer_irr") or {}
            est = irr.get("estimate")
            print(
                f"  displacement {ring['ring_m'][0]}-{ring['ring_m'][1]} m: buffer IRR "
                + ("-" if est is None else f"{est:.3f} ({irr['ci_low']:.3f} to {irr['ci_high']:.3f})")
                + ", WDQ "
                + ("-" if ring["wdq"] is None else f"{ring['wdq']:.2f}")
                + f": {ring['interpretation']}"
            )
    k = r.koper
    if k is not None:
        if k.get("computed"):
            hrs = ", ".join(f"{c['band']} {c['hazard_ratio']:.2f}" for c in k["cox"])
            lr = "-" if k["logrank_p"] is None else f"{k['logrank_p']:.3f}"
            print(
                f"  Koper curve (observational): {k['n_spells']:,} visits, {k['n_events']:,} followed by "
                f"{k['outcome_label']} before censoring; hazard ratio vs "
                f"{k['reference_band']}: {hrs or '-'}; log-rank p {lr}"
            )
        else:
            print(f"  Koper curve: not computed: {k.get('reason', '')}")
    print(f"Wrote {files.results_json}, {files.report_html} and {files.report_pdf}")
    return 0


def add_trial_commands(sub: Any) -> None:
    from rasure_web.cli import add_force_option

    t = sub.add_parser("trial", help="randomised trial: create, commit, schedule, verify, power, export")
    ts = t.add_subparsers(dest="trial_cmd", required=True)

    c = ts.add_parser("create", help="freeze hot spots and a design into a draft trial")
    c.add_argument("--name", required=True, help="trial label (also in the commitment), e.g. TVP-SV-2026")
    c.add_argument("--start", type=_day, help="first trial day (default: tomorrow)")
    c.add_argument("--end", type=_day, help="last trial day, included (default: start + --days - 1)")
    c.add_argument("--days", type=int, default=182, help="length when --end is not given (default 182)")
    c.add_argument("--design", choices=["daily", "fixed", "blocked"], default="daily")
    c.add_argument("--share", type=_share, default=0.5, help="share treated in each stratum (0.5, 1/3, ...)")
    c.add_argument("--cap-per-day", type=int, default=2, help="patrols per hot spot per trial day")
    c.add_argument("--cap-per-week", type=int, default=None, help="patrols per hot spot per trial week")
    c.add_argument("--target-dose-min", type=float, default=15.0, help="target minutes per treated day")
    c.add_argument("--day-start", type=_clock, default=time(6, 0), help="trial-day boundary (default 06:00)")
    c.add_argument("--timezone", default="Europe/London")
    c.add_argument("--by-shift", action="store_true", help="allocate each shift separately")
    c.add_argument("--shifts", default="day,night", help="shift labels, in order from the day start")
    c.add_argument("--block-allocation", choices=["per_day", "fixed"], default="per_day")
    c.add_argument("--block-size", type=int, default=2, help="blocked design: hot spots per block")
    c.add_argument("--strata", choices=["lpa", "lpa-period", "none"], default="lpa")
    c.add_argument(
        "--hotspots", help="hot-spot codes to freeze, comma separated (default: the current run's)"
    )
    add_force_option(c)
    c.set_defaults(func=cmd_create)

    m = ts.add_parser("commit", help="draw the seed, commit, and store the schedule (prints the seed once)")
    m.add_argument("id", type=int)
    m.add_argument("--seed", help="use this hex seed (e.g. from a beacon) instead of drawing one")
    m.add_argument("--out", help="write the commitment document (JSON) to this file")
    m.add_argument(
        "--plan", help="analysis plan JSON to pre-register (default: Rasure's default plan, docs/methods.md)"
    )
    m.add_argument(
        "--allow-past-start", action="store_true", help="rehearsals and tests only: first day already begun"
    )
    m.set_defaults(func=cmd_commit)

    ls = ts.add_parser("list", help="trials, their force and status")
    add_force_option(ls)
    ls.set_defaults(func=cmd_list)

    s = ts.add_parser("schedule", help="the stored schedule as canonical CSV (logged)")
    s.add_argument("id", type=int)
    s.add_argument("--day", type=_day, help="one trial day only")
    s.add_argument("--out", help="CSV file (default: standard output)")
    s.set_defaults(func=cmd_schedule)

    v = ts.add_parser("verify", help="check the revealed seed against the commitment and the schedule")
    v.add_argument("id", type=int)
    v.add_argument("--seed", required=True, help="the revealed seed (hex)")
    v.add_argument("--schedule", help="check this schedule CSV instead of the one stored in the database")
    v.add_argument("--max-rows", type=int, default=50, help="differences to list")
    v.set_defaults(func=cmd_verify)

    a = ts.add_parser(
        "audit", help="check, without the seed, that the stored schedule is the one committed (run daily)"
    )
    a.add_argument("id", type=int)
    a.add_argument("--max-rows", type=int, default=50, help="differences to list")
    a.set_defaults(func=cmd_audit)

    k = ts.add_parser("complete", help="after the trial: reveal the seed, verify it and store it")
    k.add_argument("id", type=int)
    k.add_argument("--seed", required=True)
    k.add_argument("--early", action="store_true", help="the trial was stopped before its last day")
    k.set_defaults(func=cmd_complete)

    d = ts.add_parser("commitment", help="print the published commitment document")
    d.add_argument("id", type=int)
    d.add_argument("--out")
    d.set_defaults(func=cmd_commitment)

    p = ts.add_parser("power", help="minimum detectable effect and required place-days (negative binomial)")
    p.add_argument("--hotspots", type=int, help="hot spots in the trial (default 34, or the trial's/data's)")
    p.add_argument("--days", type=int, help="trial days (default 182, or the trial's)")
    p.add_argument("--share", type=_share, help="share treated each day (default 0.5)")
    p.add_argument("--base-rate", type=float, help="serious-violence events per hot spot per day (control)")
    p.add_argument("--dispersion", type=float, help="NB dispersion k (Var = mu + k mu^2)")
    p.add_argument("--from-data", action="store_true", help="estimate rate and dispersion from the records")
    p.add_argument("--trial", type=int, help="use this trial's hot spots and design")
    p.add_argument("--codes", help="with --from-data: these hot-spot codes (default: the current run's)")
    p.add_argument("--months", type=int, default=12, help="history used by --from-data (default 12)")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--power", type=float, default=0.8)
    p.add_argument("--design-effect", type=float, default=1.0)
    p.add_argument(
        "--rate-ratio",
        type=float,
        action="append",
        help="also give place-days needed for this IRR (repeatable)",
    )
    add_force_option(p)  # --from-data without --trial: whose current hot spots and records
    p.set_defaults(func=cmd_power)

    e = ts.add_parser("export", help="the place-day panel: CSV, or Parquet when --out ends in .parquet")
    e.add_argument("id", type=int)
    e.add_argument("--out", required=True)
    e.set_defaults(func=cmd_export)

    a = ts.add_parser(
        "evaluate", help="the trial's answer: effects, CIs, randomisation p; results.json + report"
    )
    a.add_argument("id", type=int, nargs="?", help="a committed trial in the database")
    a.add_argument("--panel", help="instead: a panel file as `rasure trial export` writes it (CSV/Parquet)")
    a.add_argument("--commitment", help="with --panel: the commitment document (plan and design)")
    a.add_argument("--plan", help="with --panel: apply this plan instead (reported as not pre-registered)")
    a.add_argument("--out", required=True, help="folder for results.json and report.html")
    a.add_argument(
        "--cost-per-crime", type=float, help="£ per serious-violence crime ([U] default 14050, 2015/16)"
    )
    a.add_argument(
        "--uprate", type=float, help="GDP-deflator ratio from 2015/16 prices ([U] default 1: not uprated)"
    )
    a.add_argument("--officer-hour-cost", type=float, help="£ per officer-hour ([U] default 52)")
    a.add_argument("--officers-per-patrol", type=int, help="officers per patrol ([U] default 2)")
    a.add_argument(
        "--koper-outcome",
        choices=["serious_violence", "any"],
        default="serious_violence",
        help="the Koper curve (observational): time after a visit to the next serious violence (default) "
        "or any crime at the hot spot",
    )
    a.set_defaults(func=cmd_evaluate)
