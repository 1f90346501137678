"""The day's patrol state, built once per process and kept while the database says it still holds.

What the patrol API needs on every request changes only when a trial is committed (or completed) or a
new analysis run becomes current: the committed trials' frozen designs (→ rules and trial day), the
arms of a trial day (→ treated ids), the current run's hot spots and their KD-tree index
(:func:`rasure_web.patrols.selectors.hotspot_index`). So they are held in memory, per process.

**Invalidation without a shared cache.** Every read of the state carries a *fingerprint* of what it
depends on, read in the same SQL statement as the request's live data (the cap counters of the day and
week), so a "nearest" request costs one query besides authentication:

- committed trials: their number and the sum of their ids (committed trials are frozen by database
  triggers and never deleted, so a commit changes both);
- the current analysis runs' ids, summed over the forces (hot spots of a stored run never change, and
  a new run always has a larger id than every older one, so any force's new run changes the sum).

Everything is held per force: a force's officers get the rules, arms and hot spots of their own
force's trial and current run only.

When the fingerprint differs from the one the state was built for, the state is rebuilt (a few queries,
once per change per process). Several app servers on one database therefore agree within one request of
a commit, with no cache to share. Briefings are not held: the briefing endpoint reads them each time,
so an analyst's edit shows at once. Caps are never decided here: the visit start takes its slot with a
conditional UPDATE in the database (:func:`rasure_web.patrols.services.cap_slot_take`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import connection

from rasure_web.analysis.models import AnalysisRun, HotSpot
from rasure_web.patrols.models import CapCounter

if TYPE_CHECKING:
    from rasure_web.trials.selectors import CommittedTrial, PatrolRules

#: Arms kept per process: one entry per (trial, trial day, shift) seen.
ARMS_MAX = 64

Fingerprint = tuple[int, int, int]


@dataclass
class PatrolState:
    """The state for one fingerprint: committed trials, current hot-spot ids per force, and arms per
    trial day."""

    fingerprint: Fingerprint
    trials: tuple[CommittedTrial, ...]
    current_ids: dict[int, tuple[int, ...]]
    _arms: OrderedDict[tuple[int | None, date, str], dict[int, str] | None] = field(
        default_factory=OrderedDict
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def rules(self, when: datetime, force_id: int | None) -> PatrolRules:
        from rasure_web.trials import selectors as trials

        return trials.patrol_rules_for(when=when, force_id=force_id, trials=self.trials)

    def arms(self, when: datetime, force_id: int | None) -> dict[int, str] | None:
        """Arms of the force's trial day (and shift) of ``when``; read once per trial day, then from
        memory."""
        from rasure_web.trials import selectors as trials
        from rasure_web.trials.lifecycle import shift_of

        running = trials.running_trial_among(self.trials, when, force_id=force_id)
        if running is None:
            key: tuple[int | None, date, str] = (None, date.min, str(force_id))
        else:
            trial, day = running
            key = (trial.pk, day, shift_of(trial.design, when))
        with self._lock:
            if key in self._arms:
                self._arms.move_to_end(key)
                return self._arms[key]
        arms = trials.hotspot_arms_for(when=when, force_id=force_id, trials=self.trials)
        with self._lock:
            self._arms[key] = arms
            while len(self._arms) > ARMS_MAX:
                self._arms.popitem(last=False)
        return arms

    def candidates(self, arms: dict[int, str] | None, force_id: int | None) -> tuple[int, ...]:
        """Hot spots the list is drawn from: the force's trial day's (treated and control), else the
        force's current run's."""
        if arms is not None:
            return tuple(sorted(arms))
        return self.current_ids.get(force_id, ()) if force_id is not None else ()


_STATE: PatrolState | None = None
_STATE_LOCK = threading.Lock()


def _fingerprint_sql() -> tuple[str, list[Any]]:
    from rasure_web.trials.models import Trial

    q = connection.ops.quote_name
    trial, run = q(Trial._meta.db_table), q(AnalysisRun._meta.db_table)
    committed = [Trial.Status.COMMITTED.value, Trial.Status.COMPLETED.value]
    sql = (
        f"SELECT -1, 'trials', NULL, (SELECT COUNT(*) FROM {trial} WHERE status IN (%s, %s)) "
        f"UNION ALL SELECT -2, 'trials', NULL, (SELECT COALESCE(SUM(id), 0) FROM {trial} "
        "WHERE status IN (%s, %s)) "
        f"UNION ALL SELECT -3, 'run', NULL, (SELECT COALESCE(SUM(id), 0) FROM {run} WHERE is_current = %s)"
    )
    return sql, [*committed, *committed, True]


def _read(starts: Sequence[date]) -> tuple[Fingerprint, list[tuple[int, str, str, int]]]:
    """One statement: the fingerprint, and the cap counters of the given period starts (day and week)."""
    fp_sql, fp_params = _fingerprint_sql()
    params: list[Any] = []
    sql = fp_sql
    if starts:
        q = connection.ops.quote_name
        marks = ", ".join(["%s"] * len(starts))
        sql = (
            f"SELECT hotspot_id, kind, period_start, visits FROM {q(CapCounter._meta.db_table)} "
            f"WHERE period_start IN ({marks}) UNION ALL {fp_sql}"
        )
        params = [connection.ops.adapt_datefield_value(s) for s in starts]
    with connection.cursor() as cur:
        cur.execute(sql, [*params, *fp_params])
        rows = cur.fetchall()
    fp = {int(r[0]): int(r[3]) for r in rows if int(r[0]) < 0}
    counters = [(int(r[0]), str(r[1]), str(r[2])[:10], int(r[3])) for r in rows if int(r[0]) >= 0]
    return (fp[-1], fp[-2], fp[-3]), counters


def _build(fingerprint: Fingerprint) -> PatrolState:
    from rasure_web.trials import selectors as trials

    current: dict[int, list[int]] = {}
    for tenant, pk in (
        HotSpot.objects.filter(run__is_current=True).order_by("pk").values_list("run__tenant_id", "pk")
    ):
        if tenant is not None:
            current.setdefault(int(tenant), []).append(int(pk))
    return PatrolState(fingerprint, trials.committed_trials(), {k: tuple(v) for k, v in current.items()})


def _held(fingerprint: Fingerprint) -> PatrolState:
    global _STATE
    with _STATE_LOCK:
        state = _STATE
    if state is not None and state.fingerprint == fingerprint:
        return state
    state = _build(fingerprint)
    with _STATE_LOCK:
        _STATE = state
    return state


def patrol_state() -> PatrolState:
    """The state, checked against the database (one query; a rebuild when something changed)."""
    fingerprint, _ = _read(())
    return _held(fingerprint)


@dataclass(frozen=True)
class Counters:
    """Visits counted today and this week, per hot spot (read with the state's fingerprint)."""

    day: dict[int, int]
    week: dict[int, int]


def week_start(day: date) -> date:
    """Monday of the week a trial day falls in (weekly caps count Monday to Sunday)."""
    return day - timedelta(days=day.weekday())


def patrol_state_and_counters(
    when: datetime, force_id: int | None
) -> tuple[PatrolState, PatrolRules, Counters]:
    """The state, the force's rules at ``when`` and the cap counters of its trial day and week, in one
    query when the state is current (a second read only right after a change moved the trial day)."""
    with _STATE_LOCK:
        state = _STATE
    guess = state.rules(when, force_id) if state is not None else None
    starts = _starts(guess) if guess is not None else ()
    fingerprint, rows = _read(starts)
    state = _held(fingerprint)
    rules = state.rules(when, force_id)
    wanted = _starts(rules)
    if tuple(wanted) != tuple(starts):
        _, rows = _read(wanted)
    day: dict[int, int] = {}
    week: dict[int, int] = {}
    day_key = rules.trial_day.isoformat()
    week_key = week_start(rules.trial_day).isoformat()
    for hotspot_id, kind, start, visits in rows:
        if kind == CapCounter.Kind.DAY and start == day_key:
            day[hotspot_id] = visits
        elif kind == CapCounter.Kind.WEEK and rules.cap_per_week is not None and start == week_key:
            week[hotspot_id] = visits
    return state, rules, Counters(day, week)


def _starts(rules: PatrolRules) -> list[date]:
    starts = [rules.trial_day]
    if rules.cap_per_week is not None and week_start(rules.trial_day) != rules.trial_day:
        starts.append(week_start(rules.trial_day))
    return starts


def patrol_state_forget() -> None:
    """Drop the held state (tests whose databases reuse ids; the fingerprint covers everything else)."""
    global _STATE
    with _STATE_LOCK:
        _STATE = None
