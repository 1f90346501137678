"""Officers' locations kept no longer than needed: GPS pings are deleted after a retention period.

A visit keeps its dose summary (minutes inside the geofence, entry, exit, mode, number of pings), which
is what the trial's analysis uses; the pings themselves (where the officer was, second by second) are
deleted once they are older than ``RASURE_PING_RETENTION_DAYS`` (default 90 days: a placeholder, not
advice; set the period your force's retention schedule gives). Only pings of visits that ended, and
whose end reached the server, before the cutoff are deleted, so a late ping cannot make a dose be
recomputed from half its track; pings that never matched a visit go at the same age.

The deletion is logged (how many, the cutoff, the period) without anything of what was deleted.
The worker runs it daily (the ``prune-pings`` job, :mod:`rasure_web.jobs.tasks`); ``rasure patrol prune-pings`` by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from rasure.errors import RasureError
from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.models import AccessLog
from rasure_web.patrols.models import Ping, Visit


class RetentionError(RasureError):
    """A retention period that cannot be used."""


@dataclass(frozen=True)
class PruneResult:
    cutoff: datetime
    days: int
    deleted: int
    dry_run: bool

    def text(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        return (
            f"GPS pings older than {self.days} days (before {self.cutoff:%Y-%m-%d %H:%M} UTC): {verb} "
            f"{self.deleted:,}; visits keep their dose summaries."
        )


def pings_prune(*, now: datetime, user: Any, days: int | None = None, dry_run: bool = False) -> PruneResult:
    """Delete pings older than the retention period (module docstring); log the deletion."""
    days = int(settings.RASURE_PING_RETENTION_DAYS if days is None else days)
    if days < 1:
        raise RetentionError(
            f"a retention period of {days} days would delete today's tracks; give at least 1 "
            "(RASURE_PING_RETENTION_DAYS or --days)."
        )
    cutoff = now - timedelta(days=days)
    ended = Visit.objects.filter(status=Visit.Status.ENDED, end_received_at__lt=cutoff).values("visit_id")
    known = Visit.objects.values("visit_id")
    old = Ping.objects.filter(received_at__lt=cutoff, fix_time__lt=cutoff)
    doomed = old.filter(visit_id__in=ended) | old.exclude(visit_id__in=known)
    with transaction.atomic():
        if dry_run:
            n = doomed.count()
        else:
            n, _ = Ping.objects.filter(pk__in=doomed.values("pk")).delete()
        if n and not dry_run:
            access_log_record(
                user=user,
                action=AccessLog.Action.DELETE,
                resource="gps_ping",
                detail=f"retention: {n} pings received before {cutoff.isoformat()} deleted ({days}-day period)",
            )
    return PruneResult(cutoff=cutoff, days=days, deleted=n, dry_run=dry_run)
