"""Reads for the Imports page and the overview's notice: recent import runs, failed ones flagged."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from rasure_web.accounts.roles import ADMIN, ANALYST, has_role
from rasure_web.accounts.tenancy import scoped
from rasure_web.crimes.models import ImportRun

IMPORTS_ROLES = (ANALYST, ADMIN)


def require_imports(user: Any) -> None:
    if not has_role(user, *IMPORTS_ROLES):
        raise PermissionDenied("The imports page is for analysts and administrators.")


def import_runs_recent(*, user: Any, limit: int = 200) -> QuerySet[ImportRun]:
    """The newest import runs of the user's force, scheduled and manual."""
    return scoped(ImportRun.objects.all(), user).select_related("tenant").order_by("-pk")[:limit]


def import_failures_since(*, user: Any, since: datetime) -> int:
    """How many of the user's force's files were rejected since ``since`` (the overview's notice)."""
    runs = scoped(ImportRun.objects.all(), user)
    return runs.filter(status=ImportRun.Status.REJECTED, started_at__gte=since).count()


def import_failures_recent(*, user: Any, now: datetime, days: int = 7) -> int:
    return import_failures_since(user=user, since=now - timedelta(days=days))


def job_last_results() -> list[dict[str, Any]]:
    """Each scheduled job: when it runs next, and when it last ran and whether it worked."""
    from django_q.models import Schedule, Task

    rows = []
    for s in Schedule.objects.order_by("name"):
        last = Task.objects.filter(group=s.name).order_by("-stopped").first()
        rows.append({"name": s.name, "next_run": s.next_run, "last": last})
    return rows


def _rebuild_group(force_id: int) -> str:
    from rasure_web.accounts.models import Force
    from rasure_web.jobs.tasks import REBUILD_GROUP

    return REBUILD_GROUP + Force.objects.get(pk=force_id).code


def hotspot_rebuilds_waiting(*, force_id: int) -> list[dict[str, Any]]:
    """The force's hot-spot rebuilds still in the queue: ``queued``, or ``running`` once a worker
    has taken one (the ORM broker then locks the row until a time to come, on the broker's clock)."""
    from django.utils import timezone
    from django_q.models import OrmQ

    group = _rebuild_group(force_id)
    now = timezone.now()
    return [
        {"name": q.name(), "state": "running" if q.lock and q.lock > now else "queued", "id": q.task_id()}
        for q in OrmQ.objects.order_by("id")
        if q.group() == group
    ]


def hotspot_rebuilds(*, user: Any, limit: int = 5) -> dict[str, Any]:
    """The acting force's hot-spot rebuilds an analyst queued: those waiting, and the last few done
    (when, whether they worked, the worker's summary)."""
    from django_q.models import Task

    from rasure_web.accounts.tenancy import acting_force_id

    fid = acting_force_id(user)
    if fid is None:
        return {"waiting": [], "done": []}
    done = Task.objects.filter(group=_rebuild_group(fid)).order_by("-stopped")[:limit]
    return {
        "waiting": hotspot_rebuilds_waiting(force_id=fid),
        "done": [
            {"name": t.name, "stopped": t.stopped, "success": t.success, "result": str(t.result or "")}
            for t in done
        ],
    }
