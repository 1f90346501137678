"""``rasure trial audit``: is the stored schedule still the one committed? Checked without the seed.

The seed stays secret until the trial ends, so :func:`rasure.trial.commitment.verify` can only run
then. What can be checked every day is that nobody changed the stored rows since commit:

1. At commit an **anchor** entry is written to the access log (:func:`trial_anchor_schedule`): the
   SHA-256 of the canonical schedule CSV (:func:`rasure.trial.schedule.schedule_to_csv`) and one
   SHA-256 per trial day. The access log is a hash chain with checkpoints outside the database
   (:mod:`rasure_web.accounts.chain`), so the anchor cannot be rewritten unseen.
2. :func:`trial_audit` recomputes both from the rows stored now and compares them with the anchor
   and with ``schedule_sha256`` in the trial row (fixed at commit; triggers guard it). Each trial
   day whose rows differ is named, with its rows as stored now, so a flipped arm is found on the day
   it was made. The result is itself written to the access log and shown on the trial page.

The worker runs it daily (the ``trial-audit`` job, :mod:`rasure_web.jobs.tasks`; docs/deploy.md). It does not reveal anything about future
days: the schedule is already stored in the database it reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rasure.trial.design import TrialError
from rasure.trial.schedule import format_trial_day, schedule_sha256
from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.models import AccessLog
from rasure_web.trials.lifecycle import trial_get, trial_schedule_frame
from rasure_web.trials.models import Trial

ANCHOR_RESOURCE = "trial_schedule"
ANCHOR_PREFIX = "schedule anchor "
RESULT_PREFIX = "schedule audit "


def _digests(frame: pd.DataFrame) -> tuple[str, dict[str, str]]:
    whole = schedule_sha256(frame)
    days: dict[str, str] = {}
    for day, rows in frame.groupby(frame["trial_day"].map(format_trial_day), sort=True):
        days[str(day)] = schedule_sha256(rows.reset_index(drop=True))
    return whole, days


def _anchor(trial: Trial) -> tuple[AccessLog, dict[str, Any]] | None:
    entry = (
        AccessLog.objects.filter(
            resource=ANCHOR_RESOURCE,
            action=AccessLog.Action.AUDIT,
            object_ref=str(trial.pk),
            detail__startswith=ANCHOR_PREFIX,
        )
        .order_by("seq")
        .first()
    )
    if entry is None:
        return None
    return entry, json.loads(entry.detail[len(ANCHOR_PREFIX) :])


def trial_anchor_schedule(*, trial_id: int, user: Any) -> AccessLog:
    """Write the anchor of a committed trial's schedule (once; a second call returns the first)."""
    trial = trial_get(trial_id=trial_id)
    if trial.status == Trial.Status.DRAFT:
        raise TrialError(f"trial {trial.pk} is a draft: there is no schedule to anchor yet.")
    found = _anchor(trial)
    if found is not None:
        return found[0]
    frame = trial_schedule_frame(trial=trial)
    whole, days = _digests(frame)
    doc = {"schedule_sha256": whole, "rows": len(frame), "days": days}
    return access_log_record(
        user=user,
        action=AccessLog.Action.AUDIT,
        resource=ANCHOR_RESOURCE,
        object_ref=str(trial.pk),
        detail=ANCHOR_PREFIX + json.dumps(doc, sort_keys=True, separators=(",", ":")),
    )


@dataclass(frozen=True)
class TrialAudit:
    trial_id: int
    rows: int
    schedule_sha256: str
    committed_sha256: str
    anchor_seq: int | None
    problems: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self, *, max_problems: int = 20) -> str:
        lines = [
            f"trial {self.trial_id} schedule audit: {'UNCHANGED since commit' if self.ok else 'CHANGED'} "
            f"({self.rows:,} rows, sha256 {self.schedule_sha256})",
            f"committed sha256 {self.committed_sha256}"
            + (f"; anchor: access log seq {self.anchor_seq}" if self.anchor_seq else ""),
        ]
        lines.extend(self.problems[:max_problems])
        if len(self.problems) > max_problems:
            lines.append(f"... and {len(self.problems) - max_problems} more")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def trial_audit(*, trial_id: int, user: Any) -> TrialAudit:
    """Compare the stored schedule with what was fixed at commit (module docstring); log the result."""
    trial = trial_get(trial_id=trial_id)
    if trial.status == Trial.Status.DRAFT:
        raise TrialError(f"trial {trial.pk} is a draft: commit it first; there is nothing to audit.")
    frame = trial_schedule_frame(trial=trial)
    whole, days = _digests(frame)
    problems: list[str] = []
    notes: list[str] = []
    if whole != trial.schedule_sha256:
        problems.append(
            f"the stored rows hash to {whole}, not to the schedule_sha256 fixed at commit ({trial.schedule_sha256})"
        )
    found = _anchor(trial)
    anchor_seq = None
    if found is None:
        notes.append(
            "no anchor in the access log (a trial committed before `trial audit` existed): writing it now, so "
            "later changes are caught by day."
        )
        trial_anchor_schedule(trial_id=trial.pk, user=user)
    else:
        entry, doc = found
        anchor_seq = entry.seq
        if doc["schedule_sha256"] != trial.schedule_sha256:
            problems.append(
                f"the trial row's schedule_sha256 {trial.schedule_sha256} differs from the anchor "
                f"{doc['schedule_sha256']} (access log seq {entry.seq}): the trial row was edited"
            )
        anchored: dict[str, str] = doc["days"]
        for day in sorted(set(anchored) | set(days)):
            if day not in days:
                problems.append(f"trial day {day}: all its rows are missing (deleted)")
            elif day not in anchored:
                problems.append(f"trial day {day}: rows that were not in the committed schedule (inserted)")
            elif anchored[day] != days[day]:
                rows = frame[frame["trial_day"].map(format_trial_day) == day]
                listing = "; ".join(
                    " ".join(str(v) for v in r if v != "")
                    for r in rows.drop(columns="trial_day").itertuples(index=False)
                )
                problems.append(f"trial day {day}: its rows changed since commit. Stored now: {listing}")
        if doc["rows"] != len(frame):
            problems.append(f"{len(frame):,} rows stored, {doc['rows']:,} committed")
    result = TrialAudit(
        trial_id=trial.pk,
        rows=len(frame),
        schedule_sha256=whole,
        committed_sha256=trial.schedule_sha256,
        anchor_seq=anchor_seq,
        problems=tuple(problems),
        notes=tuple(notes),
    )
    access_log_record(
        user=user,
        action=AccessLog.Action.AUDIT,
        resource=ANCHOR_RESOURCE,
        object_ref=str(trial.pk),
        detail=RESULT_PREFIX
        + ("unchanged" if result.ok else f"CHANGED: {len(problems)} problem(s); first: {problems[0]}")[:2000],
    )
    return result


def trial_last_audit(*, trial: Trial) -> AccessLog | None:
    """The newest audit result of a trial (for the trial page), or None if it was never audited."""
    return (
        AccessLog.objects.filter(
            resource=ANCHOR_RESOURCE,
            action=AccessLog.Action.AUDIT,
            object_ref=str(trial.pk),
            detail__startswith=RESULT_PREFIX,
        )
        .order_by("-seq")
        .first()
    )
