"""What a trial is: the frozen set of hot spots and the design (issue 4; docs/methods.md §5.1, §8).

A trial is fixed before it starts: which hot spots take part (:class:`FrozenHotSpot`, each with
the exact text of its geofence so the commitment can hash it), and how they are allocated
(:class:`TrialDesign`). Three designs (docs/methods.md §5.1):

``"daily"``
    Repeat crossover: every trial day, within each stratum (local policing area, and shift
    when ``strata_by_shift``), an exact share of the hot spots is treated. Thames Valley's
    whole-force trial randomised half the hot spots each day [V, docs/methods.md §0].
``"fixed"``
    Parallel track: the same share of each stratum is treated for the whole trial.
``"blocked"``
    Places matched in pairs or blocks (``pair_or_block``), the share treated within each block,
    re-drawn every day (``block_allocation="per_day"``) or once (``"fixed"``). For pairs and
    ``treated_share=0.5`` this is exactly one of each pair, as in Sacramento [V, docs/methods.md §5.1].

The trial day runs from ``day_start`` (default 06:00) to one second before it the next morning,
as in the Thames Valley protocol ("experimental day = 06:00:00–05:59:59") [V, docs/methods.md §0].

Everything here is plain data with validation; the schedule is made in
:mod:`rasure.trial.schedule` and committed to in :mod:`rasure.trial.commitment`.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rasure.errors import RasureError

DesignKind = Literal["daily", "fixed", "blocked"]
BlockAllocation = Literal["per_day", "fixed"]

#: The largest denominator accepted for ``treated_share`` once written as a fraction. The
#: schedule uses exact integer arithmetic on ``p/q`` so that any language reproduces it.
MAX_SHARE_DENOMINATOR = 1000

# Labels go into the canonical CSV unquoted and into HMAC messages joined by "\n", so they may
# not contain a comma, a double quote or any control character (which includes newlines).
_BAD_LABEL = re.compile(r'[,"\x00-\x1f\x7f]')


_DESIGN_JSON_FIELDS = frozenset(
    {
        "kind",
        "start",
        "end",
        "treated_share",
        "day_start",
        "timezone",
        "strata_by_shift",
        "shifts",
        "block_allocation",
        "cap_per_day",
        "cap_per_week",
        "target_dose_seconds",
    }
)


class TrialError(RasureError):
    """Base class for errors about a trial (design, hot-spot set, schedule, commitment)."""


class TrialDesignError(TrialError):
    """A design parameter is invalid; the message says which one and how to fix it."""


class HotSpotSetError(TrialError):
    """The frozen set of hot spots is unusable for the design (duplicates, bad blocks, ...)."""


def check_label(value: object, *, what: str) -> str:
    """Return ``value`` if it is a usable identifier or label, else raise :class:`HotSpotSetError`.

    A label is non-empty text without leading or trailing spaces, commas, double quotes or control
    characters (the canonical schedule CSV is written unquoted).

    >>> check_label("Oxford LPA", what="stratum")
    'Oxford LPA'
    """
    if not isinstance(value, str) or not value:
        raise HotSpotSetError(f"{what} must be non-empty text, got {value!r}. Give every {what} a name.")
    if value != value.strip():
        raise HotSpotSetError(f"{what} {value!r} has leading or trailing spaces. Remove them.")
    if _BAD_LABEL.search(value):
        raise HotSpotSetError(
            f"{what} {value!r} contains a comma, a double quote or a control character (such as a "
            "newline). Rename it without these characters: the published schedule is an unquoted CSV."
        )
    return value


@dataclass(frozen=True)
class FrozenHotSpot:
    """One hot spot as frozen for a trial.

    ``hotspot_id`` is the stored id of the hot spot; ``stratum`` its stratum (usually the local
    policing area); ``geofence_wkt`` the exact WKT text of its geofence as stored (the commitment
    hashes these bytes, so store the text verbatim: re-formatting coordinates changes the hash);
    ``pair_or_block`` the matched pair or block for ``"blocked"`` designs, else ``None``.

    >>> FrozenHotSpot("HS1", "Oxford", "POINT (451000 206000)").geofence_sha256()[:12]
    'ac86284cb3c8'
    """

    hotspot_id: str
    stratum: str
    geofence_wkt: str
    pair_or_block: str | None = None

    def __post_init__(self) -> None:
        check_label(self.hotspot_id, what="hotspot_id")
        check_label(self.stratum, what=f"stratum of hot spot {self.hotspot_id!r}")
        if self.pair_or_block is not None:
            check_label(self.pair_or_block, what=f"pair_or_block of hot spot {self.hotspot_id!r}")
        if not isinstance(self.geofence_wkt, str) or not self.geofence_wkt.strip():
            raise HotSpotSetError(
                f"hot spot {self.hotspot_id!r} has no geofence. Give its geofence as WKT text, "
                "e.g. 'POLYGON ((...))'."
            )

    def geofence_sha256(self) -> str:
        """SHA-256 (lowercase hex) of the geofence WKT text encoded as UTF-8, byte for byte."""
        return hashlib.sha256(self.geofence_wkt.encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True)
class TrialDesign:
    """The design of a trial. All fields are keyword-only; ``cap_per_day`` has no default.

    ``start`` and ``end`` are trial days, both included. ``treated_share`` must be a simple fraction
    (denominator at most 1000, e.g. 0.5, 0.4, 1/3); it is held exactly as ``p/q``. ``timezone`` is
    the force's wall-clock zone, used to put timestamps on trial days. ``shifts`` are labels only
    (the patrol app decides which hours each covers); they stratify the allocation only when
    ``strata_by_shift`` is true, in which case each hot spot is allocated separately per shift.
    If the day and night lists are *different* places, leave ``strata_by_shift`` off and put the
    list into the stratum instead (e.g. ``"night/Oxford"``).

    Patrol rules (read by the patrol app, part of the commitment): at most ``cap_per_day`` patrols
    per hot spot per trial day and ``cap_per_week`` per week (calendar weeks of trial days, Monday to
    Sunday, as the patrol app enforces them and patrol monitoring reports them; see :meth:`week_index`); ``target_dose`` of presence per treated day
    (default 15 minutes, docs/methods.md §8).

    >>> d = TrialDesign(kind="daily", start=date(2025, 4, 1), end=date(2025, 9, 29), cap_per_day=2)
    >>> d.n_days, d.share_fraction
    (182, Fraction(1, 2))
    """

    kind: DesignKind
    start: date
    end: date
    cap_per_day: int
    treated_share: float = 0.5
    day_start: time = time(6, 0)
    timezone: str = "Europe/London"
    strata_by_shift: bool = False
    shifts: tuple[str, ...] = ("day", "night")
    block_allocation: BlockAllocation = "per_day"
    cap_per_week: int | None = None
    target_dose: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.kind not in ("daily", "fixed", "blocked"):
            raise TrialDesignError(f"kind must be 'daily', 'fixed' or 'blocked', got {self.kind!r}.")
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, date) or isinstance(value, datetime):
                raise TrialDesignError(f"{name} must be a datetime.date (a trial day), got {value!r}.")
        if self.end < self.start:
            raise TrialDesignError(
                f"end ({self.end}) is before start ({self.start}). Both are trial days and both are "
                "included; swap them."
            )
        _ = self.share_fraction  # validates treated_share
        if not isinstance(self.day_start, time) or self.day_start.tzinfo is not None:
            raise TrialDesignError(
                f"day_start must be a naive datetime.time such as time(6, 0), got {self.day_start!r}."
            )
        if self.day_start.microsecond:
            raise TrialDesignError("day_start must be a whole second, e.g. time(6, 0).")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise TrialDesignError(
                f"timezone {self.timezone!r} is not an IANA time-zone name. Use e.g. 'Europe/London'."
            ) from exc
        if not isinstance(self.strata_by_shift, bool):
            raise TrialDesignError(f"strata_by_shift must be True or False, got {self.strata_by_shift!r}.")
        if not isinstance(self.shifts, tuple) or not self.shifts:
            raise TrialDesignError(f"shifts must be a non-empty tuple of labels, got {self.shifts!r}.")
        for s in self.shifts:
            try:
                check_label(s, what="shift label")
            except HotSpotSetError as exc:
                raise TrialDesignError(str(exc)) from exc
        if len(set(self.shifts)) != len(self.shifts):
            raise TrialDesignError(f"shifts {self.shifts!r} repeat a label. Give each shift once.")
        if self.block_allocation not in ("per_day", "fixed"):
            raise TrialDesignError(
                f"block_allocation must be 'per_day' or 'fixed', got {self.block_allocation!r}."
            )
        if self.kind != "blocked" and self.block_allocation != "per_day":
            raise TrialDesignError(
                "block_allocation applies only to kind='blocked'. Leave it at its default, or use "
                "kind='fixed' for a fixed allocation without blocks."
            )
        if (
            isinstance(self.cap_per_day, bool)
            or not isinstance(self.cap_per_day, int)
            or self.cap_per_day < 1
        ):
            raise TrialDesignError(
                f"cap_per_day must be a whole number of patrols of at least 1, got {self.cap_per_day!r}."
            )
        if self.cap_per_week is not None and (
            isinstance(self.cap_per_week, bool)
            or not isinstance(self.cap_per_week, int)
            or self.cap_per_week < self.cap_per_day
        ):
            raise TrialDesignError(
                f"cap_per_week must be None or a whole number at least cap_per_day ({self.cap_per_day}), "
                f"got {self.cap_per_week!r}. A smaller weekly cap would make the daily cap unreachable."
            )
        if not isinstance(self.target_dose, timedelta) or not (
            timedelta(0) < self.target_dose <= timedelta(hours=24)
        ):
            raise TrialDesignError(
                f"target_dose must be a positive datetime.timedelta of at most a day, got {self.target_dose!r}; "
                "e.g. timedelta(minutes=15)."
            )
        if self.target_dose.microseconds:
            raise TrialDesignError("target_dose must be a whole number of seconds.")

    @property
    def share_fraction(self) -> Fraction:
        """``treated_share`` as an exact fraction ``p/q`` with ``q <= 1000``."""
        share = self.treated_share
        if isinstance(share, bool) or not isinstance(share, int | float | Fraction):
            raise TrialDesignError(f"treated_share must be a number, got {share!r}.")
        if not 0 < share < 1:
            raise TrialDesignError(
                f"treated_share must be strictly between 0 and 1, got {share!r}. Use 0.5 to treat half."
            )
        frac = Fraction(share).limit_denominator(MAX_SHARE_DENOMINATOR)
        if abs(float(frac) - float(share)) > 1e-12:
            raise TrialDesignError(
                f"treated_share {share!r} is not a simple fraction (denominator at most "
                f"{MAX_SHARE_DENOMINATOR}). Use e.g. 0.5, 0.4 or 1/3."
            )
        return frac

    @property
    def n_days(self) -> int:
        """Number of trial days, ``end`` included."""
        return (self.end - self.start).days + 1

    @property
    def days(self) -> list[date]:
        """Every trial day from ``start`` to ``end``, in order."""
        return [self.start + timedelta(days=i) for i in range(self.n_days)]

    @property
    def per_day(self) -> bool:
        """True when the allocation is re-drawn every trial day."""
        return self.kind == "daily" or (self.kind == "blocked" and self.block_allocation == "per_day")

    @property
    def active_shifts(self) -> tuple[str, ...]:
        """The shifts that stratify the allocation: ``shifts``, or ``("",)`` when not by shift."""
        return self.shifts if self.strata_by_shift else ("",)

    def week_index(self, day: date) -> int:
        """0-based week of trial day ``day`` for ``cap_per_week``: calendar weeks, Monday to Sunday,
        counted from the week holding ``start`` (the patrol app's cap counters use the same weeks).

        >>> d = TrialDesign(kind="daily", start=date(2025, 4, 1), end=date(2025, 4, 30), cap_per_day=2)
        >>> [d.week_index(date(2025, 4, n)) for n in (1, 6, 7, 30)]
        [0, 0, 1, 4]
        """
        if not self.start <= day <= self.end:
            raise TrialDesignError(f"{day} is outside the trial ({self.start} to {self.end}).")
        monday = day - timedelta(days=day.weekday())
        first_monday = self.start - timedelta(days=self.start.weekday())
        return (monday - first_monday).days // 7

    def trial_day_of(self, ts: datetime) -> date:
        """The trial day of ``ts`` under this design's ``day_start`` and ``timezone``."""
        return trial_day_of(ts, day_start=self.day_start, timezone=self.timezone)

    def to_json_dict(self) -> dict[str, Any]:
        """The design as JSON-ready values: text, integers, booleans, lists and null only (no floats),
        so its canonical JSON is the same in any language."""
        frac = self.share_fraction
        return {
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "treated_share": f"{frac.numerator}/{frac.denominator}",
            "day_start": self.day_start.strftime("%H:%M:%S"),
            "timezone": self.timezone,
            "strata_by_shift": self.strata_by_shift,
            "shifts": list(self.shifts),
            "block_allocation": self.block_allocation,
            "cap_per_day": self.cap_per_day,
            "cap_per_week": self.cap_per_week,
            "target_dose_seconds": int(self.target_dose.total_seconds()),
        }

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> TrialDesign:
        """Inverse of :meth:`to_json_dict` (used to verify a published manifest)."""
        if set(data) != _DESIGN_JSON_FIELDS:
            raise TrialDesignError(
                f"design has fields {sorted(data)}, expected {sorted(_DESIGN_JSON_FIELDS)}. The manifest was made by a "
                "different protocol version or was edited."
            )
        try:
            num, den = (int(x) for x in str(data["treated_share"]).split("/"))
            return cls(
                kind=data["kind"],
                start=date.fromisoformat(data["start"]),
                end=date.fromisoformat(data["end"]),
                treated_share=float(Fraction(num, den)),
                day_start=time.fromisoformat(data["day_start"]),
                timezone=data["timezone"],
                strata_by_shift=data["strata_by_shift"],
                shifts=tuple(data["shifts"]),
                block_allocation=data["block_allocation"],
                cap_per_day=data["cap_per_day"],
                cap_per_week=data["cap_per_week"],
                target_dose=timedelta(seconds=int(data["target_dose_seconds"])),
            )
        except (ValueError, TypeError, ZeroDivisionError) as exc:
            raise TrialDesignError(f"design in the manifest cannot be read: {exc}.") from exc


def trial_day_of(ts: datetime, *, day_start: time = time(6, 0), timezone: str | None = None) -> date:
    """The trial day a timestamp belongs to: the calendar date, minus one day before ``day_start``.

    A naive ``ts`` is read as local wall-clock time. An aware ``ts`` is first converted to
    ``timezone`` (required then, so a UTC timestamp is never silently read as local time).

    >>> trial_day_of(datetime(2025, 4, 2, 5, 59, 59))
    datetime.date(2025, 4, 1)
    >>> trial_day_of(datetime(2025, 4, 2, 6, 0))
    datetime.date(2025, 4, 2)
    """
    if ts.tzinfo is not None:
        if timezone is None:
            raise TrialDesignError(
                f"timestamp {ts.isoformat()} has a time zone, but no timezone= was given to convert it to "
                "local time. Pass the force's zone, e.g. timezone='Europe/London'."
            )
        ts = ts.astimezone(ZoneInfo(timezone))
    day = ts.date()
    return day - timedelta(days=1) if ts.time().replace(tzinfo=None) < day_start else day


def validate_hotspots(hotspots: Sequence[FrozenHotSpot], design: TrialDesign) -> list[FrozenHotSpot]:
    """Check the frozen set for ``design`` and return it sorted by ``hotspot_id`` (code-point order).

    Raises :class:`HotSpotSetError` for an empty set, a repeated id, or (blocked designs) a hot spot
    without a block or a block with fewer than two hot spots.
    """
    if not hotspots:
        raise HotSpotSetError(
            "the frozen set is empty. Freeze at least one hot spot before making a schedule."
        )
    for h in hotspots:
        if not isinstance(h, FrozenHotSpot):
            raise HotSpotSetError(f"expected FrozenHotSpot items, got {type(h).__name__}.")
    counts = Counter(h.hotspot_id for h in hotspots)
    repeated = sorted(i for i, n in counts.items() if n > 1)
    if repeated:
        raise HotSpotSetError(
            f"hot spot ids repeat in the frozen set: {repeated[:10]}. Each id must appear once."
        )
    if design.kind == "blocked":
        missing = sorted(h.hotspot_id for h in hotspots if h.pair_or_block is None)
        if missing:
            raise HotSpotSetError(
                f"a blocked design needs pair_or_block on every hot spot; missing for {missing[:10]}. "
                "Match them into pairs or blocks, or use kind='daily'."
            )
        sizes = Counter(h.pair_or_block for h in hotspots)
        single = sorted(str(b) for b, n in sizes.items() if n < 2)
        if single:
            raise HotSpotSetError(
                f"blocks with a single hot spot: {single[:10]}. Pair each with another hot spot or merge "
                "it into a neighbouring block."
            )
    return sorted(hotspots, key=lambda h: h.hotspot_id)
