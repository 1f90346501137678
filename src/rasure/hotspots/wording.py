"""Why a hot spot is on the list, in plain words for a patrol officer (docs/style-guide.md).

The analyst's facts (:func:`rasure.hotspots.analysis.analyse`, ``facts``) carry the exact figures: harm in
CCHI days, shares, Gi* z and q, endurance class, cells. An officer needs what those figures mean for the
patrol: how bad the place is compared with others, what happens there, when, whether it is new or has
been hot for years. :func:`officer_facts` says that from the same figures, with no statistic named;
the figures stay on the dashboard and behind the briefing's "details" fold.

Each sentence follows a rule that can be checked against the figures:

- **Rank** (by harm within the period's list): 1 → "The most harmful place…", 2–3 → "One of the three
  most harmful…", 4–10 → "One of the ten…", otherwise "One of the most harmful places…".
- **Count**: the crimes in the window, rounded (aoristic weights make fractions: then "About").
- **Offences**: one type with all of them → "All recorded as …"; the first type ≥ 50 % → "Mostly …,
  then …"; otherwise "Mainly … and …".
- **When** (from :func:`rasure.hottimes.peak_times`): the two busiest days when together they hold
  at least half the crimes ("mostly Friday and Saturday"), else the busiest day when it holds at least
  30 %, else "spread across the week"; "nights" for the night list or when ≥ 65 % are at night, "days"
  for the day list or when ≤ 35 % are; and the busiest window of hours. Fewer than 20 crimes with known
  times → "a rough guide only". No times → says the times are not known.
- **Trend** against the previous window: more than 5 % up "Getting worse", more than 5 % down
  "Getting better", else "About the same".
- **Endurance**: persistent → "Hot for three years running" (hot in every one of the last T windows:
  with ``persistent_prop = 0.8`` that is what persistent means for T ≤ 4; "most of" for more),
  emerging → "Newly hot", intermittent → "Hot in some … but not every …", cooling → "Was hot …".
- **Recording address** and **several patrol areas**: what to do about them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rasure.hottimes import PeakSummary

_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WHEN = {"day": " in the daytime", "night": " at night", "all": ""}
FEW_TIMED = 20


def number_words(n: int) -> str:
    """0–10 in words, larger numbers in figures (house style for officer text)."""
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else f"{n:,}"


def span_words(months: int) -> str:
    """A window length for a reader: 12 → "year", 24 → "two years", 6 → "6 months"."""
    if months % 12 == 0:
        years = months // 12
        return "year" if years == 1 else f"{number_words(years)} years"
    return f"{months} months"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() or len(text) == 1 else text


def rank_sentence(rank: int, period: str) -> str:
    when = _WHEN.get(period, "")
    if rank == 1:
        return f"The most harmful place in the area for serious violence{when}."
    size = "three " if rank <= 3 else "ten " if rank <= 10 else ""
    return f"One of the {size}most harmful places in the area for serious violence{when}."


def count_sentence(count: float, period: str, window_months: int) -> str:
    n = round(count)
    about = "About " if abs(count - n) > 0.05 else ""
    crimes = "serious violent crime" if n == 1 else "serious violent crimes"
    return f"{about}{n:,} {crimes} here{_WHEN.get(period, '')} in the last {span_words(window_months)}."


def offences_sentence(main_offences: Sequence[Mapping[str, Any]]) -> str | None:
    mix = [(str(m.get("offence", "")), float(m.get("share", 0.0))) for m in main_offences if m.get("offence")]
    if not mix:
        return None
    first = _lower_first(mix[0][0])
    if len(mix) == 1 or mix[0][1] >= 0.995:
        return f"All recorded as {first}."
    second = _lower_first(mix[1][0])
    if mix[0][1] >= 0.5:
        return f"Mostly {first}, then {second}."
    return f"Mainly {first} and {second}."


def when_sentence(peak: PeakSummary | None, period: str) -> str:
    if peak is None or peak.days.empty or not peak.windows.shape[0]:
        return "When: not known, the times of these crimes are recorded only to the month."
    days = peak.days
    names = [int(d) for d in days["day"]]
    shares = [float(s) for s in days["share"]]
    if len(names) >= 2 and shares[0] + shares[1] >= 0.5:
        first, second = sorted(names[:2])
        which = f"mostly {_DAYS[first]} and {_DAYS[second]}"
        plural = True
    elif shares and shares[0] >= 0.3:
        which, plural = f"mostly {_DAYS[names[0]]}", False
    else:
        which, plural = "spread across the week", None
    night = peak.night_share
    part = "nights" if period == "night" or (period == "all" and night >= 0.65) else ""
    part = "daytimes" if period == "day" or (period == "all" and night <= 0.35) else part
    if part and plural is None:
        if period == "all":  # on a day or night list the time of day goes without saying
            which = f"{which}, mostly {'at night' if part == 'nights' else 'in the daytime'}"
    elif part:
        which = f"{which} {part if plural else part.rstrip('s')}"
    top = peak.windows.iloc[0]
    start = int(top["start_hour"]) % 24
    end = (start + int(top["hours"])) % 24
    sentence = f"When: {which}, busiest {start:02d}:00 to {end:02d}:00."
    n_used = _n_used(peak)
    if n_used is not None and n_used < FEW_TIMED:
        sentence += f" Only {number_words(n_used)} of these crimes have a known time: a rough guide only."
    return sentence


def _n_used(peak: PeakSummary) -> int | None:
    total = float(peak.days["weight"].sum())
    return round(total) if total > 0 else None


def trend_sentence(count: float, prev_count: float, window_months: int) -> str | None:
    before = "the year before" if window_months == 12 else f"the {span_words(window_months)} before"
    if count <= 0:
        return None
    if prev_count <= 0:
        return f"New: none of these crimes were recorded here in {before}."
    change = (count - prev_count) / prev_count
    figures = f"{round(count):,} crimes against {round(prev_count):,} in {before}"
    if change > 0.05:
        return f"Getting worse: {figures}."
    if change < -0.05:
        return f"Getting better: {figures}."
    return f"About the same as {before} ({round(prev_count):,} crimes)."


def endurance_sentence(persistence: str, windows: int, window_months: int) -> str | None:
    unit = "years" if window_months == 12 else f"{window_months}-month periods"
    if persistence == "persistent":
        if windows <= 4:
            return f"Hot for {number_words(windows)} {unit} running."
        return f"Hot in most of the last {number_words(windows)} {unit}."
    if persistence == "emerging":
        return f"Newly hot: it was not a hot spot in the {unit} before."
    if persistence == "intermittent":
        return f"Hot in some recent {unit}, but not every one."
    if persistence == "cooling":
        return "Was a hot spot in earlier years; quieter lately."
    return None


def officer_facts(
    hs: Mapping[str, Any],
    *,
    peak: PeakSummary | None,
    times_known: bool = True,
    window_months: int = 12,
    endurance_windows: int = 3,
    cell_size_m: float = 150.0,
    shape: str = "square",
) -> list[str]:
    """Plain sentences for the officer's briefing, from a hot spot's figures (rules in the module docstring).

    ``hs`` holds ``period``, ``rank``, ``count``, ``prev_count``, ``persistence``, ``patrol_areas`` and
    ``main_offences`` (as :func:`~rasure.hotspots.analysis.analyse` gives them), and optionally
    ``review_place`` (a recording address most of the crimes are recorded at). ``peak`` is the hot
    spot's :func:`~rasure.hottimes.peak_times`, or None when no times are known; ``times_known=False``
    leaves the "when" sentence out (the peak was not kept, e.g. for a run stored before these words).

    >>> officer_facts({"period": "night", "rank": 2, "count": 96, "prev_count": 80,
    ...                "persistence": "persistent", "patrol_areas": 1,
    ...                "main_offences": [{"offence": "Assault with injury", "share": 0.6},
    ...                                  {"offence": "Robbery", "share": 0.2}]}, peak=None)[:2]
    ['One of the three most harmful places in the area for serious violence at night.', \
'96 serious violent crimes here at night in the last year.']
    """
    period = str(hs.get("period", "all"))
    out = [
        rank_sentence(int(hs["rank"]), period),
        count_sentence(float(hs["count"]), period, window_months),
    ]
    offences = offences_sentence(hs.get("main_offences") or [])
    if offences:
        out.append(offences)
    if times_known:
        out.append(when_sentence(peak, period))
    trend = trend_sentence(float(hs["count"]), float(hs.get("prev_count") or 0), window_months)
    if trend:
        out.append(trend)
    endurance = endurance_sentence(str(hs.get("persistence", "")), endurance_windows, window_months)
    if endurance:
        out.append(endurance)
    place = hs.get("review_place")
    if place:
        out.append(
            f"Check with your supervisor before patrolling: many of these crimes are recorded at “{place}”, "
            "which may be where they were reported rather than where they happened."
        )
    areas = int(hs.get("patrol_areas") or 1)
    if areas > 1:
        what = f"{cell_size_m:.0f} m squares" if shape == "square" else "patches of streets"
        out.append(f"Bigger than most: {number_words(areas)} neighbouring {what}. Patrol the whole outline.")
    return out
