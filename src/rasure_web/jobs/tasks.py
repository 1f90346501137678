"""The scheduled jobs: what the worker (``rasure worker``, django-q2) runs, and ``rasure jobs run NAME``.

Each job calls the same service code as its command (``rasure import``, ``rasure trial audit``,
``rasure audit checkpoint``, ``rasure patrol prune-pings``) and returns a plain-words summary, which
django-q2 stores with the task (Administration → Successful / Failed tasks). A job that finds
something wrong (a rejected file, a changed trial schedule) stores its results first and then
fails, so it is listed under *Failed tasks* as well as where its result shows (the Imports page, the
trial page).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from rasure.errors import RasureError
from rasure_web import clock


class JobFailed(RasureError):
    """A job ran to the end and stored its results, but found a problem someone must look at."""


def drop_folders_job() -> str:
    """Import new files from every force's drop folder, then rebuild hot spots (rasure_web.jobs.dropfolder)."""
    from rasure_web.jobs.dropfolder import drop_folders_import

    scan = drop_folders_import(now=clock.now())
    if scan.rejected:
        raise JobFailed(scan.text())
    return scan.text()


def trial_audit_job() -> str:
    """``rasure trial audit`` for every committed trial; the result goes to the access log and the trial page."""
    from rasure_web.trials.audit import trial_audit
    from rasure_web.trials.lifecycle import CliActor
    from rasure_web.trials.models import Trial

    actor = CliActor(username="job:trial-audit")
    results = [
        trial_audit(trial_id=pk, user=actor)
        for pk in Trial.objects.filter(status=Trial.Status.COMMITTED)
        .order_by("pk")
        .values_list("pk", flat=True)
    ]
    text = "\n\n".join(r.text() for r in results) or "trial audit: no committed trial"
    if any(not r.ok for r in results):
        raise JobFailed(text)
    return text


def audit_checkpoint_job() -> str:
    """``rasure audit checkpoint --out RASURE_AUDIT_CHECKPOINT_FILE``."""
    from rasure_web.accounts.chain import checkpoint_append

    path = Path(settings.RASURE_AUDIT_CHECKPOINT_FILE)
    line = checkpoint_append(path, written_at=clock.now())
    return f"checkpoint appended to {path}: {line}"


def prune_pings_job() -> str:
    """``rasure patrol prune-pings`` (RASURE_PING_RETENTION_DAYS)."""
    from rasure_web.patrols.retention import pings_prune
    from rasure_web.trials.lifecycle import CliActor

    return pings_prune(now=clock.now(), user=CliActor(username="job:prune-pings")).text()


JOB_FUNCTIONS: dict[str, Callable[[], str]] = {
    "drop-folders": drop_folders_job,
    "trial-audit": trial_audit_job,
    "audit-checkpoint": audit_checkpoint_job,
    "prune-pings": prune_pings_job,
}


# ----------------------------------------------------------------- one-off jobs an analyst queues

#: django-q2 group of a force's queued hot-spot rebuilds (one at a time per force).
REBUILD_GROUP = "hotspots-rebuild:"


def hotspots_rebuild_job(force: str, include_partner_data: bool, username: str) -> str:
    """Rebuild one force's hot spots with the current run's parameters, counting partner data or not
    (the analyst's choice from the dashboard), then recompute the dashboard's cached figures."""
    from dataclasses import fields

    from rasure.hotspots.analysis import HotspotParams
    from rasure_web.accounts.tenancy import resolve_force
    from rasure_web.analysis.models import AnalysisRun
    from rasure_web.analysis.services import hotspots_build
    from rasure_web.dashboard.selectors import warm_cache

    tenant = resolve_force(force)
    current = AnalysisRun.objects.filter(is_current=True, tenant=tenant).only("params").first()
    params = None
    if current is not None:
        known = {f.name for f in fields(HotspotParams)}
        params = HotspotParams(**{k: v for k, v in (current.params or {}).items() if k in known})
    run = hotspots_build(
        username=username, params=params, include_partner_data=include_partner_data, force=tenant.code
    )
    warm_cache()
    label = run.labels.get("partner_data") or "does not include partner data"
    return f"hot spots of {tenant.code} rebuilt (analysis run {run.pk}, {run.hotspots.count()} hot spots): {label}"


def hotspots_rebuild_queue(*, force_id: int, include_partner_data: bool, username: str) -> str:
    """Queue :func:`hotspots_rebuild_job` for the worker (``rasure worker``); returns the task id.
    Refused (RasureError) while one for the same force waits or runs."""
    from django_q.tasks import async_task

    from rasure_web.accounts.models import Force
    from rasure_web.jobs.selectors import hotspot_rebuilds_waiting

    force = Force.objects.get(pk=force_id)
    if hotspot_rebuilds_waiting(force_id=force_id):
        raise RasureError(
            f"A rebuild of {force.code}'s hot spots is already queued; wait for it to finish (its status "
            "is shown here), then choose again."
        )
    choice = "with" if include_partner_data else "without"
    task_id: str = async_task(
        "rasure_web.jobs.tasks.hotspots_rebuild_job",
        force.code,
        include_partner_data,
        username,
        group=REBUILD_GROUP + force.code,
        task_name=f"hot spots of {force.code} {choice} partner data, asked by {username}"[:100],
    )
    return task_id
