"""``rasure worker`` (runs the scheduled jobs: django-q2's cluster) and ``rasure jobs schedule|list|run``.

Exit codes: 0 done; 1 a job ran and found a problem (``jobs run``); 2 wrong usage or configuration.
"""

from __future__ import annotations

import argparse
from typing import Any


def _db() -> None:
    from rasure_web.cli import open_database

    open_database()


def _print_schedules(done: list[tuple[str, str]]) -> None:
    from rasure_web.jobs.schedules import job_schedules

    state = dict(done)
    for job in job_schedules():
        print(f"{job.name:<17} {job.when():<22} {state.get(job.name, ''):<10} {job.what}")


def cmd_worker(args: argparse.Namespace) -> int:
    """Register the schedules (so they follow the settings), then run the worker until stopped."""
    _db()
    from django.core.management import call_command

    from rasure_web.jobs.schedules import jobs_schedule

    _print_schedules(jobs_schedule())
    print("Rasure worker running the scheduled jobs (Ctrl-C or SIGTERM to stop)", flush=True)
    call_command("qcluster")
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    _db()
    from rasure_web.jobs.schedules import jobs_schedule

    _print_schedules(jobs_schedule())
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    _db()
    from django.utils import timezone
    from django_q.models import Schedule, Task

    rows = Schedule.objects.order_by("name")
    if not rows:
        print("No schedules yet: run `rasure jobs schedule` (or start `rasure worker`, which does it).")
    for s in rows:
        last = Task.objects.filter(group=s.name).order_by("-stopped").first()
        when = f"next {timezone.localtime(s.next_run):%Y-%m-%d %H:%M}" if s.next_run else "not scheduled"
        outcome = (
            "never run"
            if last is None
            else f"last {timezone.localtime(last.stopped):%Y-%m-%d %H:%M} {'ok' if last.success else 'FAILED'}"
        )
        print(f"{s.name:<17} {when:<24} {outcome}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run one job now, in this process (what the worker would run on schedule)."""
    _db()
    from rasure_web.jobs.tasks import JOB_FUNCTIONS, JobFailed

    try:
        print(JOB_FUNCTIONS[args.job]())
    except JobFailed as exc:
        print(str(exc))
        return 1
    return 0


def add_jobs_commands(sub: Any) -> None:
    from rasure_web.jobs.tasks import JOB_FUNCTIONS

    w = sub.add_parser(
        "worker", help="run the scheduled jobs (drop-folder imports, daily checks) until stopped"
    )
    w.set_defaults(func=cmd_worker)
    j = sub.add_parser("jobs", help="the scheduled jobs: register their schedules, list them, run one now")
    jsub = j.add_subparsers(dest="jobs_cmd", required=True)
    jsub.add_parser("schedule", help="create or update every job's schedule from the settings").set_defaults(
        func=cmd_schedule
    )
    jsub.add_parser("list", help="each job's next run and last result").set_defaults(func=cmd_list)
    r = jsub.add_parser("run", help="run one job now, in this process")
    r.add_argument("job", choices=sorted(JOB_FUNCTIONS))
    r.set_defaults(func=cmd_run)
