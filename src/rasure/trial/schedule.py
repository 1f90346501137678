"""The trial schedule: which hot spots are treated on which trial day, from a seed (issue 4).

The allocation uses no pseudo-random generator whose bit stream could change between numpy
versions. Every draw is an HMAC-SHA256 (RFC 2104, FIPS 180-4) keyed with the secret seed, so an
outside researcher can recompute the schedule byte for byte with a short script in any language
(``docs/trial-verification.md``). Algorithm ``rasure-schedule-v1``:

1. **Units.** Each hot spot, or each hot spot × shift when ``strata_by_shift`` (shift label ``""``
   otherwise).
2. **Groups.** Units are allocated within groups: ``(stratum, shift)`` for ``"daily"`` and ``"fixed"``
   designs, ``(pair_or_block, shift)`` for ``"blocked"``. Groups are ranked ``j = 0, 1, ...`` in
   code-point order of ``(group label, shift)``.
3. **How many are treated.** With ``treated_share = p/q`` (exact), a group of ``N`` units on draw
   index ``d`` treats ::

       n(N, d, j) = floor((p·N·(d+1) + o) / q) − floor((p·N·d + o) / q),   o = j mod q

   ``d`` is the 0-based trial-day index for designs re-drawn each day and ``0`` for fixed ones. So
   ``n`` is ``p·N/q`` exactly when that is whole, and otherwise alternates between its floor and
   ceiling so the running total of treated units never strays by one unit or more from
   ``p·N/q × days`` (for half of an odd stratum: floor, ceil, floor, ...). The offset ``o``
   staggers the alternation across groups so the force-wide number treated each day stays level.
   Balance is therefore exact within each group and day: ``n`` is fixed by the rule, never by luck.
4. **Which ones.** The draw label is the trial day ``YYYY-MM-DD`` (re-drawn designs) or ``fixed``.
   Each unit's key is ``HMAC-SHA256(key=bytes.fromhex(seed), msg=UTF-8 of
   "rasure-schedule-v1\\n<draw label>\\n<shift>\\n<hotspot_id>")``; within a group the units are
   sorted by (key bytes, hotspot_id) and the first ``n`` are treated. The rest are controls.
5. **Output.** One row per trial day × unit, sorted by (trial_day, hotspot_id, shift) in code-point
   order, with columns ``trial_day, hotspot_id, stratum, [shift,] arm``. Its canonical form
   (:func:`schedule_to_csv`) is UTF-8, no BOM, comma-separated, unquoted, ``\\n`` line ends with
   one after the last row, header first; :func:`schedule_sha256` is SHA-256 of those bytes.

A fixed allocation is a uniformly random subset of each group of the required size, because
HMAC-SHA256 outputs under a secret key are indistinguishable from independent uniform draws.

Algorithm ``rasure-schedule-v2`` (new commitments from December 2026; issue 12, item 8). In v1 the
count of step 3 is fixed by the day index, so a group whose share is not whole is predictable
without the seed: a stratum of one hot spot at half share is treated exactly every other day
(control, treated, control, ...), and in a fixed design its arm follows from its rank alone. v2
changes step 3 only, and writes ``rasure-schedule-v2`` as the first line of every HMAC message:

3'. A group of ``N`` units treats ``floor(p·N/q)`` units plus one more with probability exactly
    ``r/q``, ``r = p·N mod q``, drawn afresh on every draw from the seed (systematic sampling across
    the groups with a remainder, :func:`remainder_counts`). Every unit is then treated with
    probability exactly ``p/q`` on every draw, independently of every other draw, so yesterday's arm
    says nothing about today's; the force-wide number treated each draw is still ``floor`` or
    ``ceil`` of ``p/q`` × all units, and neighbouring groups in that order still take turns (two
    single-spot strata next to each other at half share: exactly one of them is treated each day, which
    one is a coin toss), so lists made of small strata are not left empty on a day. Groups whose
    share is whole treat exactly ``p·N/q`` as in v1. The
    price: in a group whose share is not whole, the running total of treated days is no longer held
    within one of ``p/q`` × days; it varies like a sum of coin tosses (standard deviation about
    ``sqrt(days × r/q × (1 − r/q))`` units), and, as in v1, the arms of neighbouring small groups
    on the same day are tied to each other (not to the previous day).

Trials committed under v1 keep their schedule: the manifest names its algorithm and
:func:`schedule_for_entries` recomputes either.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import itertools
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from fractions import Fraction

import pandas as pd

from rasure.trial.design import (
    FrozenHotSpot,
    TrialDesign,
    TrialError,
    check_label,
    validate_hotspots,
)

#: The algorithm new commitments use (module docstring, "Algorithm rasure-schedule-v2").
SCHEDULE_ALGORITHM = "rasure-schedule-v2"
#: The first algorithm, kept so trials committed under it still verify and re-draw exactly.
SCHEDULE_ALGORITHM_V1 = "rasure-schedule-v1"
#: Every algorithm this Rasure can recompute, oldest first.
SCHEDULE_ALGORITHMS = (SCHEDULE_ALGORITHM_V1, SCHEDULE_ALGORITHM)
TREATMENT = "treatment"
CONTROL = "control"
ARMS = (TREATMENT, CONTROL)

#: Minimum seed length in hex characters (128 bits). 64 (256 bits, ``secrets.token_hex(32)``) is usual.
MIN_SEED_HEX = 32

_HEX = re.compile(r"[0-9a-f]+")


class SeedError(TrialError):
    """The seed is not usable (not lowercase hex, or too short to be secret)."""


class ScheduleError(TrialError):
    """A schedule table is malformed (missing columns, an unknown arm, a repeated row, ...)."""


def check_seed(seed: str, *, what: str = "seed") -> bytes:
    """Return the key bytes of a hex ``seed``; raise :class:`SeedError` if it is not usable.

    A seed is lowercase hexadecimal, an even number of digits, at least 32 (128 bits), so the
    published commitment cannot be opened by guessing it. Make one with :func:`new_secret_hex`.

    >>> len(check_seed("00" * 32))
    32
    """
    if not isinstance(seed, str) or not _HEX.fullmatch(seed) or len(seed) % 2:
        raise SeedError(
            f"the {what} must be lowercase hexadecimal text with an even number of digits, got "
            f'{seed!r}. Make one with rasure.trial.new_secret_hex() or `python -c "import secrets; '
            f'print(secrets.token_hex(32))"`.'
        )
    if len(seed) < MIN_SEED_HEX:
        raise SeedError(
            f"the {what} has {len(seed)} hex digits; at least {MIN_SEED_HEX} (128 bits) are needed so it "
            "cannot be guessed from the published commitment. Use 64 digits (secrets.token_hex(32))."
        )
    return bytes.fromhex(seed)


def treated_count(group_size: int, *, share: Fraction, draw_index: int, group_rank: int) -> int:
    """Number of units treated in a group on one draw (step 3 of the module docstring).

    ``n = floor((p·N·(d+1) + o)/q) − floor((p·N·d + o)/q)`` with ``share = p/q``, ``N = group_size``,
    ``d = draw_index``, ``o = group_rank mod q``. Always ``floor(p·N/q)`` or ``ceil(p·N/q)``.

    >>> [treated_count(5, share=Fraction(1, 2), draw_index=d, group_rank=0) for d in range(4)]
    [2, 3, 2, 3]
    >>> [treated_count(5, share=Fraction(1, 2), draw_index=d, group_rank=1) for d in range(4)]
    [3, 2, 3, 2]
    """
    p, q = share.numerator, share.denominator
    o = group_rank % q
    d = draw_index
    return (p * group_size * (d + 1) + o) // q - (p * group_size * d + o) // q


def draw_message(
    *, draw_label: str, shift: str, hotspot_id: str, algorithm: str = SCHEDULE_ALGORITHM_V1
) -> bytes:
    """The HMAC message for one unit and draw: ``"<algorithm>\\n<label>\\n<shift>\\n<id>"`` in UTF-8."""
    return "\n".join((algorithm, draw_label, shift, hotspot_id)).encode("utf-8")


def check_algorithm(algorithm: str) -> str:
    """Return ``algorithm`` if this Rasure implements it, else raise :class:`ScheduleError`."""
    if algorithm not in SCHEDULE_ALGORITHMS:
        raise ScheduleError(
            f"schedule algorithm {algorithm!r} is not one of {list(SCHEDULE_ALGORITHMS)}. Use the Rasure "
            "version that made the schedule."
        )
    return algorithm


_TWO_64 = 1 << 64


def remainder_counts(
    groups: Sequence[tuple[str, str, int]], *, share: Fraction, key: bytes, draw_label: str
) -> dict[tuple[str, str], int]:
    """Treated count per group on one draw under ``rasure-schedule-v2`` (module docstring, v2 step 3).

    ``groups`` are ``(group label, shift, size N)``. Each group treats ``floor(p·N/q)`` units plus one
    more with probability ``r/q`` exactly, ``r = p·N mod q``, chosen by systematic sampling with a
    random start (Madow 1949; Cochran, *Sampling Techniques*, 3rd ed., §8.2): the groups with a
    remainder, in code-point order of (group label, shift) as in step 2, are laid end to end as
    intervals of length ``r/q``, and a group gains its extra unit when one of the
    points ``u, u+1, u+2, ...`` falls in its interval, ``u = U / 2^64`` with ``U`` the first 8 bytes
    (big-endian) of ``HMAC(seed, "rasure-schedule-v2/start\\n<label>")``. All integer arithmetic.

    >>> c = remainder_counts([("A", "", 1), ("B", "", 4)], share=Fraction(1, 2), key=b"k" * 32, draw_label="2025-04-01")
    >>> c[("B", "")], c[("A", "")] in (0, 1)
    (2, True)
    """
    p, q = share.numerator, share.denominator
    base = hmac.new(key, digestmod=hashlib.sha256)

    def mac(text: str) -> bytes:
        m = base.copy()
        m.update(text.encode("utf-8"))
        return m.digest()

    counts = {(g, s): (p * n) // q for g, s, n in groups}
    with_rest = [(g, s, (p * n) % q) for g, s, n in groups if (p * n) % q]
    with_rest.sort(key=lambda x: (x[0], x[1]))
    start = q * int.from_bytes(mac(f"{SCHEDULE_ALGORITHM}/start\n{draw_label}")[:8], "big")
    step = q * _TWO_64

    def points_below(c: int) -> int:  # #{k >= 0 : start + k·step < c·2^64}
        return -((start - c * _TWO_64) // step)

    cumulative = 0
    for g, s, r in with_rest:
        before = points_below(cumulative)
        cumulative += r
        counts[(g, s)] += points_below(cumulative) - before
    return counts


def make_schedule(
    hotspots: Sequence[FrozenHotSpot],
    design: TrialDesign,
    *,
    seed: str,
    algorithm: str = SCHEDULE_ALGORITHM,
) -> pd.DataFrame:
    """The trial schedule for a frozen set, a design and a secret seed (algorithm in the module docstring).

    Returns one row per trial day × hot spot (× shift when ``design.strata_by_shift``) with columns
    ``trial_day`` (``datetime.date``), ``hotspot_id``, ``stratum``, [``shift``], ``arm``
    (``"treatment"`` or ``"control"``), sorted by (trial_day, hotspot_id, shift). The same inputs give
    the same table on any machine; :func:`schedule_sha256` fingerprints it. ``algorithm`` is
    :data:`SCHEDULE_ALGORITHM` for new trials; give :data:`SCHEDULE_ALGORITHM_V1` to recompute a
    schedule committed under v1.

    >>> from datetime import date
    >>> spots = [FrozenHotSpot(f"HS{i}", "A" if i < 3 else "B", "POINT (0 0)") for i in range(6)]
    >>> d = TrialDesign(kind="daily", start=date(2025, 4, 1), end=date(2025, 4, 2), cap_per_day=1)
    >>> s = make_schedule(spots, d, seed="ab" * 32)
    >>> s = make_schedule(spots, d, seed="ab" * 32, algorithm=SCHEDULE_ALGORITHM_V1)
    >>> s.groupby(["trial_day", "stratum"])["arm"].apply(lambda a: (a == "treatment").sum()).tolist()
    [1, 2, 2, 1]
    """
    ordered = validate_hotspots(hotspots, design)
    entries = [(h.hotspot_id, h.stratum, h.pair_or_block) for h in ordered]
    return schedule_for_entries(entries, design, seed=seed, algorithm=algorithm)


def schedule_for_entries(
    entries: Sequence[tuple[str, str, str | None]],
    design: TrialDesign,
    *,
    seed: str,
    algorithm: str = SCHEDULE_ALGORITHM,
) -> pd.DataFrame:
    """:func:`make_schedule` from ``(hotspot_id, stratum, pair_or_block)`` triples (no geofences needed).

    Used to recompute a schedule from a published manifest, which carries geofence hashes only.
    """
    key = check_seed(seed)
    check_algorithm(algorithm)
    ids = [check_label(e[0], what="hotspot_id") for e in entries]
    if len(set(ids)) != len(ids):
        raise ScheduleError("hot spot ids repeat. Each hot spot must appear once in the frozen set.")
    stratum_of = {e[0]: check_label(e[1], what="stratum") for e in entries}
    shifts = design.active_shifts
    groups: dict[tuple[str, str], list[str]] = {}
    for hotspot_id, stratum, block in entries:
        label = stratum
        if design.kind == "blocked":
            if block is None:
                raise ScheduleError(
                    f"hot spot {hotspot_id!r} has no pair_or_block, needed by a blocked design."
                )
            label = block
        for shift in shifts:
            groups.setdefault((label, shift), []).append(hotspot_id)
    ranked = sorted(groups)
    units = sorted((h, s) for h in ids for s in shifts)
    base = hmac.new(key, digestmod=hashlib.sha256)
    share = design.share_fraction

    def draw(label: str, index: int) -> set[tuple[str, str]]:
        treated: set[tuple[str, str]] = set()
        v2_counts = (
            remainder_counts(
                [(g, s, len(groups[(g, s)])) for g, s in ranked], share=share, key=key, draw_label=label
            )
            if algorithm != SCHEDULE_ALGORITHM_V1
            else {}
        )
        for rank, (group, shift) in enumerate(ranked):
            members = groups[(group, shift)]
            if algorithm == SCHEDULE_ALGORITHM_V1:
                n = treated_count(len(members), share=share, draw_index=index, group_rank=rank)
            else:
                n = v2_counts[(group, shift)]

            def unit_key(hotspot_id: str, shift: str = shift) -> tuple[bytes, str]:
                mac = base.copy()
                mac.update(
                    draw_message(draw_label=label, shift=shift, hotspot_id=hotspot_id, algorithm=algorithm)
                )
                return mac.digest(), hotspot_id

            treated.update((h, shift) for h in sorted(members, key=unit_key)[:n])
        return treated

    fixed = None if design.per_day else draw("fixed", 0)
    cols: dict[str, list[object]] = {"trial_day": [], "hotspot_id": [], "stratum": [], "shift": [], "arm": []}
    for index, day in enumerate(design.days):
        treated = draw(day.isoformat(), index) if fixed is None else fixed
        for hotspot_id, shift in units:
            cols["trial_day"].append(day)
            cols["hotspot_id"].append(hotspot_id)
            cols["stratum"].append(stratum_of[hotspot_id])
            cols["shift"].append(shift)
            cols["arm"].append(TREATMENT if (hotspot_id, shift) in treated else CONTROL)
    if not design.strata_by_shift:
        del cols["shift"]
    frame = pd.DataFrame(cols)
    frame["trial_day"] = frame["trial_day"].astype(object)
    return frame


def format_trial_day(value: object) -> str:
    if isinstance(value, datetime | pd.Timestamp):
        if value.hour or value.minute or value.second or value.microsecond:
            raise ScheduleError(f"trial_day {value!r} has a time of day; give trial days as dates.")
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError as exc:
            raise ScheduleError(f"trial_day {value!r} is not a date like 2025-04-01.") from exc
    raise ScheduleError(f"trial_day {value!r} is not a date.")


def schedule_rows(schedule: pd.DataFrame) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Header and text rows of ``schedule`` in canonical order, checked (see :func:`schedule_to_csv`)."""
    has_shift = "shift" in schedule.columns
    header: tuple[str, ...] = ("trial_day", "hotspot_id", "stratum", "shift", "arm")
    if not has_shift:
        header = ("trial_day", "hotspot_id", "stratum", "arm")
    missing = [c for c in header if c not in schedule.columns]
    if missing:
        raise ScheduleError(f"schedule lacks columns {missing}; it needs {list(header)}.")
    columns: list[list[str]] = []
    for name in header:
        values = schedule[name].tolist()
        # Check each distinct value once: a year of a large force is hundreds of thousands of rows.
        if name == "trial_day":
            text = {v: format_trial_day(v) for v in set(values)}
        elif name == "arm":
            bad = sorted({repr(v) for v in values if v not in ARMS})
            if bad:
                raise ScheduleError(f"arm must be 'treatment' or 'control'; found {', '.join(bad[:5])}.")
            text = {v: v for v in set(values)}
        else:
            text = {v: check_label(v, what=name) for v in set(values)}
        columns.append([text[v] for v in values])
    rows = list(zip(*columns, strict=True))
    shift_at = 3 if has_shift else None

    def order(row: tuple[str, ...]) -> tuple[str, str, str]:
        return row[0], row[1], row[shift_at] if shift_at is not None else ""

    rows.sort(key=order)
    for a, b in itertools.pairwise(rows):
        if order(a) == order(b):
            raise ScheduleError(
                f"schedule repeats trial day {a[0]}, hot spot {a[1]!r}"
                + (f", shift {a[3]!r}" if has_shift else "")
                + ": give one arm per unit and day."
            )
    return header, rows


def _csv_bytes(header: Iterable[str], rows: Iterable[Sequence[str]]) -> bytes:
    lines = [",".join(header)] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def schedule_to_csv(schedule: pd.DataFrame) -> bytes:
    """The canonical CSV bytes of a schedule (format in the module docstring, step 5).

    Rows are put in canonical order whatever order the frame is in; dates are ``YYYY-MM-DD``.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"trial_day": ["2025-04-01"], "hotspot_id": ["HS1"], "stratum": ["A"], "arm": ["control"]})
    >>> schedule_to_csv(df)
    b'trial_day,hotspot_id,stratum,arm\\n2025-04-01,HS1,A,control\\n'
    """
    header, rows = schedule_rows(schedule)
    return _csv_bytes(header, rows)


def schedule_sha256(schedule: pd.DataFrame | bytes) -> str:
    """SHA-256 (lowercase hex) of the canonical CSV of ``schedule`` (or of the given bytes as they are)."""
    data = schedule if isinstance(schedule, bytes) else schedule_to_csv(schedule)
    return hashlib.sha256(data).hexdigest()


def read_schedule_csv(data: bytes | str) -> pd.DataFrame:
    """Read a schedule CSV (canonical or not, e.g. re-saved by a spreadsheet) into a frame.

    ``trial_day`` becomes ``datetime.date``; the file's line numbers are kept in a ``line`` column
    (header = line 1) so differences can be reported by line.
    """
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [c.strip() for c in next(reader)]
    except StopIteration as exc:
        raise ScheduleError(
            "the schedule CSV is empty; expected a header line trial_day,hotspot_id,..."
        ) from exc
    required = ["trial_day", "hotspot_id", "stratum", "arm"]
    missing = [c for c in required if c not in header]
    if missing:
        raise ScheduleError(f"schedule CSV header {header} lacks {missing}; expected {required} (+ shift).")
    out: dict[str, list[object]] = {c: [] for c in [*header, "line"]}
    for line_no, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise ScheduleError(
                f"schedule CSV line {line_no} has {len(row)} fields, the header has {len(header)}."
            )
        for c, v in zip(header, row, strict=True):
            out[c].append(v)
        try:
            out["trial_day"][-1] = date.fromisoformat(format_trial_day(row[header.index("trial_day")]))
        except ScheduleError as exc:
            raise ScheduleError(f"schedule CSV line {line_no}: {exc}") from exc
        out["line"].append(line_no)
    frame = pd.DataFrame(out)
    frame["trial_day"] = pd.Series(out["trial_day"], dtype=object)
    return frame
