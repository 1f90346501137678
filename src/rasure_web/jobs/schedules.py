"""The schedules of the scheduled jobs, as django-q2 ``Schedule`` rows (``rasure jobs schedule``).

One row per job, found by its name, so registering again changes only what the settings changed:

=================  =====================================  ====================================
job                when (setting, default)                what
=================  =====================================  ====================================
drop-folders       every ``RASURE_JOB_DROP_MINUTES`` (10)  import new drop-folder files, rebuild
audit-checkpoint   every ``RASURE_JOB_CHECKPOINT_MINUTES``  append the access log's signed head to
                   (5)                                     ``RASURE_AUDIT_CHECKPOINT_FILE``
trial-audit        cron ``RASURE_JOB_TRIAL_AUDIT_CRON``     ``trial audit`` of every committed trial
                   (``20 6 * * *``)
prune-pings        cron ``RASURE_JOB_PRUNE_PINGS_CRON``     delete GPS pings past retention
                   (``30 2 * * *``)
=================  =====================================  ====================================

Cron times are in the installation's time zone (``RASURE_TIME_ZONE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from rasure.errors import ConfigError

_FUNC = "rasure_web.jobs.tasks."


@dataclass(frozen=True)
class JobSchedule:
    name: str
    func: str
    what: str
    minutes: int | None = None
    cron: str | None = None

    def when(self) -> str:
        return f"every {self.minutes} minutes" if self.minutes else f"cron {self.cron}"


def job_schedules() -> list[JobSchedule]:
    """The jobs and when each runs, from the settings."""
    return [
        JobSchedule(
            "drop-folders",
            _FUNC + "drop_folders_job",
            "import new files from the drop folders, then rebuild hot spots",
            minutes=settings.RASURE_JOB_DROP_MINUTES,
        ),
        JobSchedule(
            "audit-checkpoint",
            _FUNC + "audit_checkpoint_job",
            f"append the access log's signed head to {settings.RASURE_AUDIT_CHECKPOINT_FILE}",
            minutes=settings.RASURE_JOB_CHECKPOINT_MINUTES,
        ),
        JobSchedule(
            "trial-audit",
            _FUNC + "trial_audit_job",
            "check every committed trial's stored schedule against its commitment",
            cron=settings.RASURE_JOB_TRIAL_AUDIT_CRON,
        ),
        JobSchedule(
            "prune-pings",
            _FUNC + "prune_pings_job",
            f"delete GPS pings older than {settings.RASURE_PING_RETENTION_DAYS} days",
            cron=settings.RASURE_JOB_PRUNE_PINGS_CRON,
        ),
    ]


def _check_cron(job: JobSchedule) -> None:
    from croniter import croniter

    if not croniter.is_valid(job.cron or ""):
        raise ConfigError(
            f"the schedule of job {job.name!r} is not a cron expression: {job.cron!r}. How to fix: set "
            f"RASURE_JOB_{job.name.upper().replace('-', '_')}_CRON to five fields such as '20 6 * * *'."
        )


def jobs_schedule() -> list[tuple[str, str]]:
    """Create or update the schedule of every job (idempotent); returns (job, "created"|"updated"|"unchanged")."""
    from django_q.models import Schedule

    done: list[tuple[str, str]] = []
    for job in job_schedules():
        wanted: dict[str, Any] = {"func": job.func, "repeats": -1}
        if job.cron:
            _check_cron(job)
            wanted.update(schedule_type=Schedule.CRON, cron=job.cron, minutes=None)
        else:
            wanted.update(schedule_type=Schedule.MINUTES, minutes=job.minutes, cron=None)
        existing = Schedule.objects.filter(name=job.name).first()
        if existing is None:
            Schedule.objects.create(name=job.name, **wanted)  # a cron schedule computes its first run itself
            done.append((job.name, "created"))
            continue
        changed = {k: v for k, v in wanted.items() if getattr(existing, k) != v}
        if not changed:
            done.append((job.name, "unchanged"))
            continue
        for k, v in changed.items():
            setattr(existing, k, v)
        if existing.schedule_type == Schedule.CRON:
            existing.next_run = existing.calculate_next_run()
        existing.save()
        done.append((job.name, "updated"))
    return done
