"""The Koper curve: time to the next crime at a hot spot after patrol visits of different lengths
(issue 12, part 4; docs/methods.md §5.5). OBSERVATIONAL: visit length was not randomised.

Koper (1995, *Justice Quarterly* 12(4):649–672, "Just enough police presence: reducing crime and
disorderly behavior by optimizing patrol time in crime hot spots") measured, in the Minneapolis Hot
Spots Patrol Experiment, how long a hot spot stayed free of crime and disorder after the police left,
by how long they had stayed, with survival analysis. He found residual deterrence grew with the length
of a stop up to about 10–15 minutes and fell off beyond it (the basis of the 15-minute dose).

Here, from the force's own visits:

* **Presence spells.** A hot spot's visits that overlap in time (two officers, a crew) are merged into
  one spell from the earliest start to the latest end; the spell's dose is the sum of the visits'
  credited minutes, capped at the spell's wall-clock length.
* **Time to the next crime.** For a spell ending at ``e_j`` at hot spot ``h``, ``T_j = c − e_j`` for the
  first crime ``c > e_j`` at ``h`` (serious violence, or any crime: the caller chooses and says which).
  **Censoring:** the follow-up ends at the earliest of the next spell's start at ``h`` (the next dose
  begins), the end of the data (``data_end``, the last time the crime records cover) and ``e_j +
  max_follow_up`` (default 24 h, ``[U]``); a spell with no crime before then is censored there
  (``δ_j = 0``).
* **Kaplan–Meier** per dose band (default 0–5, 5–10, 10–15, 15–20, 20+ minutes):
  ``Ŝ(t) = Π_{t_i ≤ t} (1 − d_i / n_i)`` with Greenwood's variance
  ``Var Ŝ(t) = Ŝ(t)² Σ_{t_i ≤ t} d_i / (n_i (n_i − d_i))`` (Kaplan & Meier 1958; statsmodels
  ``SurvfuncRight``), the median time to the next crime and the log-rank test of equal curves
  (statsmodels ``survdiff``).
* **Cox proportional hazards** with the dose band as dummies (reference: the shortest band):
  ``h(t | band = b) = h_0(t) · exp(β_b)``; ``exp(β_b)`` is the hazard ratio of the next crime after a
  spell in band ``b`` relative to the reference band (below 1: the crime-free time is longer), with
  Efron's handling of ties, Wald 95 % CI and p (Cox 1972; statsmodels ``PHReg``).

Both estimators come from statsmodels (already a dependency for the trial's GLMs); the golden test
checks them against the published analysis of the Freireich (1963) leukaemia remission data
(Kleinbaum & Klein, *Survival Analysis*, 3rd ed., ch. 2–3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from rasure.trial.design import TrialError

#: Dose bands (minutes of credited presence in the spell): lower bound inclusive, upper exclusive.
KOPER_BANDS: tuple[tuple[float, float | None], ...] = ((0, 5), (5, 10), (10, 15), (15, 20), (20, None))
#: How long after a spell the next crime is looked for at most ([U]: Koper followed hot spots until
#: the next disorder; a day keeps the follow-up local to the visit).
DEFAULT_MAX_FOLLOW_UP = timedelta(hours=24)
#: The crime kinds the curve can follow.
KOPER_OUTCOMES = {"serious_violence": "serious violence", "any": "any crime"}
#: Times (minutes after the spell) at which the table reports the share still crime-free.
REPORT_AT_MINUTES: tuple[float, ...] = (60.0, 360.0, 1440.0)


class KoperError(TrialError):
    """The visits or crimes given cannot make the curve (missing columns, bad times, ...)."""


def band_label(lo: float, hi: float | None) -> str:
    return f"{lo:g}+ min" if hi is None else f"{lo:g}–{hi:g} min"


def _utc(values: pd.Series, *, what: str, column: str) -> pd.Series:
    try:
        out = pd.to_datetime(values, utc=True)
    except (ValueError, TypeError) as exc:
        raise KoperError(f"{what}: column {column!r} holds values that are not times ({exc}).") from exc
    if out.isna().any():
        raise KoperError(f"{what}: column {column!r} is empty on {int(out.isna().sum())} rows.")
    return out


def _ns(values: pd.Series, *, what: str, column: str) -> np.ndarray:
    """UTC nanoseconds since the epoch, whatever unit pandas stored the times in."""
    out: np.ndarray = _utc(values, what=what, column=column).dt.as_unit("ns").astype("int64").to_numpy()
    return out


def _need(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KoperError(f"{what}: missing columns {missing}; it needs {list(columns)}.")


def presence_spells(visits: pd.DataFrame) -> pd.DataFrame:
    """Merge each hot spot's overlapping visits into presence spells.

    ``visits``: ``hotspot_id``, ``start``, ``end`` (times) and ``dose_minutes``. Returns ``hotspot_id``,
    ``start``, ``end``, ``dose_minutes`` (sum over the spell's visits, capped at its length) and
    ``visits`` (how many were merged), sorted by hot spot and start."""
    _need(visits, ["hotspot_id", "start", "end", "dose_minutes"], "visits")
    v = pd.DataFrame(
        {
            "hotspot_id": visits["hotspot_id"].astype(str).to_numpy(),
            "start": _utc(visits["start"], what="visits", column="start").to_numpy(),
            "end": _utc(visits["end"], what="visits", column="end").to_numpy(),
            "dose_minutes": pd.to_numeric(visits["dose_minutes"], errors="coerce").fillna(0.0).to_numpy(),
        }
    )
    bad = v["end"] < v["start"]
    if bad.any():
        raise KoperError(
            f"visits: {int(bad.sum())} visits end before they start (first at row {int(np.argmax(bad.to_numpy()))})."
        )
    if v.empty:
        return v.assign(visits=pd.Series(dtype=int))
    v = v.sort_values(["hotspot_id", "start", "end"]).reset_index(drop=True)
    running_end = v.groupby("hotspot_id")["end"].cummax()
    prev_end = running_end.groupby(v["hotspot_id"]).shift(1)
    new_spell = prev_end.isna() | (v["start"] > prev_end)
    spell = new_spell.cumsum()
    out = v.groupby(spell).agg(
        hotspot_id=("hotspot_id", "first"),
        start=("start", "min"),
        end=("end", "max"),
        dose_minutes=("dose_minutes", "sum"),
        visits=("start", "size"),
    )
    length = (out["end"] - out["start"]).dt.total_seconds() / 60.0
    out["dose_minutes"] = np.minimum(out["dose_minutes"], length)
    return out.reset_index(drop=True)


def time_to_next_crime(
    spells: pd.DataFrame,
    crimes: pd.DataFrame,
    *,
    data_end: Any,
    max_follow_up: timedelta | None = DEFAULT_MAX_FOLLOW_UP,
) -> pd.DataFrame:
    """Each spell's follow-up: ``minutes`` to the first crime after it at its hot spot (``event`` 1) or
    to the censoring time (``event`` 0): the next spell's start there, ``data_end`` or ``max_follow_up``
    after the spell, whichever comes first. ``censored_by`` says which. Spells ending at or after
    ``data_end`` have no follow-up and are left out.

    ``crimes``: ``hotspot_id`` and ``occurred_at`` (times, to the minute)."""
    _need(crimes, ["hotspot_id", "occurred_at"], "crimes")
    _need(spells, ["hotspot_id", "start", "end", "dose_minutes"], "spells")
    stop_ns = int(_ns(pd.Series([data_end]), what="data_end", column="data_end")[0])
    c_ns = _ns(crimes["occurred_at"], what="crimes", column="occurred_at")
    c_spot = crimes["hotspot_id"].astype(str).to_numpy()
    by_spot = {h: np.sort(c_ns[c_spot == h]) for h in np.unique(c_spot)}
    cap_ns = None if max_follow_up is None else int(max_follow_up.total_seconds() * 1e9)
    s = pd.DataFrame(
        {
            "hotspot_id": spells["hotspot_id"].astype(str).to_numpy(),
            "start": _ns(spells["start"], what="spells", column="start"),
            "end": _ns(spells["end"], what="spells", column="end"),
            "dose_minutes": pd.to_numeric(spells["dose_minutes"], errors="coerce").to_numpy(),
        }
    ).sort_values(["hotspot_id", "start"])
    rows = []
    for hotspot, group in s.groupby("hotspot_id", sort=False):
        starts = group["start"].to_numpy()
        times = by_spot.get(str(hotspot), np.array([], dtype=np.int64))
        for k, (end, dose) in enumerate(
            zip(group["end"].to_numpy(), group["dose_minutes"].to_numpy(), strict=True)
        ):
            if end >= stop_ns:
                continue
            limits = [(int(stop_ns), "end of data")]
            if k + 1 < len(starts):
                limits.append((int(starts[k + 1]), "next visit"))
            if cap_ns is not None:
                limits.append((int(end) + cap_ns, "follow-up limit"))
            limit, why = min(limits, key=lambda x: x[0])
            i = int(np.searchsorted(times, end, side="right"))
            if i < len(times) and times[i] <= limit:
                stop, event, why = int(times[i]), 1, "crime"
            else:
                stop, event = limit, 0
            rows.append(
                {
                    "hotspot_id": str(hotspot),
                    "dose_minutes": float(dose),
                    "minutes": (stop - int(end)) / 60e9,
                    "event": event,
                    "censored_by": why,
                }
            )
    return pd.DataFrame(rows, columns=["hotspot_id", "dose_minutes", "minutes", "event", "censored_by"])


def assign_band(
    dose_minutes: pd.Series, bands: Sequence[tuple[float, float | None]] = KOPER_BANDS
) -> pd.Series:
    """The label of each dose's band (``lo ≤ dose < hi``); doses below the first band get none."""
    out = pd.Series([None] * len(dose_minutes), index=dose_minutes.index, dtype=object)
    for lo, hi in bands:
        mask = (dose_minutes >= lo) & (True if hi is None else dose_minutes < hi)
        out[mask & out.isna()] = band_label(lo, hi)
    return out


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan–Meier estimate: ``times`` (distinct event times), ``survival`` Ŝ(t) just after each,
    Greenwood ``se``, ``at_risk`` and ``events`` at each."""

    times: np.ndarray
    survival: np.ndarray
    se: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    median: float | None

    def at(self, t: float) -> float:
        """Ŝ(t): the estimate at time ``t`` (1 before the first event)."""
        i = int(np.searchsorted(self.times, t, side="right"))
        return 1.0 if i == 0 else float(self.survival[i - 1])


def kaplan_meier(time: Sequence[float] | np.ndarray, event: Sequence[int] | np.ndarray) -> KaplanMeier:
    """Kaplan–Meier product-limit estimate with Greenwood SEs (statsmodels ``SurvfuncRight``)."""
    from statsmodels.duration.survfunc import SurvfuncRight

    t = np.asarray(time, dtype=float)
    d = np.asarray(event, dtype=float)
    if len(t) == 0:
        raise KoperError("no follow-up times to estimate a survival curve from.")
    if not d.any():
        return KaplanMeier(np.array([]), np.array([]), np.array([]), np.array([]), np.array([]), None)
    sf = SurvfuncRight(t, d)
    median = float(sf.quantile(0.5)) if float(np.min(sf.surv_prob)) <= 0.5 else None
    return KaplanMeier(
        np.asarray(sf.surv_times, dtype=float),
        np.asarray(sf.surv_prob, dtype=float),
        np.asarray(sf.surv_prob_se, dtype=float),
        np.asarray(sf.n_risk, dtype=float),
        np.asarray(sf.n_events, dtype=float),
        None if median is None or not math.isfinite(median) else median,
    )


@dataclass(frozen=True)
class CoxTerm:
    """One term of a Cox model: ``beta`` (log hazard ratio), its ``se`` and Wald ``p_value``."""

    name: str
    beta: float
    se: float
    p_value: float

    def hazard_ratio(self, alpha: float = 0.05) -> tuple[float, float, float]:
        from scipy.stats import norm

        z = float(norm.ppf(1 - alpha / 2))
        return math.exp(self.beta), math.exp(self.beta - z * self.se), math.exp(self.beta + z * self.se)


def cox_ph(
    time: Sequence[float] | np.ndarray,
    event: Sequence[int] | np.ndarray,
    exog: pd.DataFrame,
    *,
    ties: str = "efron",
) -> list[CoxTerm]:
    """Cox proportional-hazards fit (statsmodels ``PHReg``, partial likelihood, ``ties`` "efron" or
    "breslow"); one :class:`CoxTerm` per column of ``exog``."""
    from statsmodels.duration.hazard_regression import PHReg

    fit = PHReg(np.asarray(time, dtype=float), exog.astype(float), status=np.asarray(event), ties=ties).fit(
        disp=False
    )
    params, bse, pvalues = (np.asarray(x, dtype=float) for x in (fit.params, fit.bse, fit.pvalues))
    return [
        CoxTerm(str(name), float(params[i]), float(bse[i]), float(pvalues[i]))
        for i, name in enumerate(exog.columns)
    ]


def koper_curve(
    visits: pd.DataFrame,
    crimes: pd.DataFrame,
    *,
    data_end: Any,
    outcome: str = "serious_violence",
    bands: Sequence[tuple[float, float | None]] = KOPER_BANDS,
    max_follow_up: timedelta | None = DEFAULT_MAX_FOLLOW_UP,
    alpha: float = 0.05,
    min_events: int = 5,
) -> dict[str, Any]:
    """The Koper curve (module docstring): Kaplan–Meier per dose band and a Cox model with the band.

    ``crimes`` holds only the crimes of the kind ``outcome`` names (:data:`KOPER_OUTCOMES`; the caller
    filters them). Returns a JSON-ready dict, always marked observational; ``computed`` is False with a
    ``reason`` when there are no spells with follow-up or fewer than ``min_events`` crimes after them.
    """
    if outcome not in KOPER_OUTCOMES:
        raise KoperError(f"outcome must be one of {sorted(KOPER_OUTCOMES)}, not {outcome!r}.")
    cap_h = None if max_follow_up is None else max_follow_up.total_seconds() / 3600
    base: dict[str, Any] = {
        "observational": True,
        "pre_specified": False,
        "outcome": outcome,
        "outcome_label": KOPER_OUTCOMES[outcome],
        "max_follow_up_hours": cap_h,
        "bands": [band_label(lo, hi) for lo, hi in bands],
        "label": "exploratory and observational: how long officers stayed was not randomised (they may stay "
        "longer where trouble is expected), so the curves show association, not the effect of staying longer",
        "censoring": "follow-up after a visit ends at the next crime of the kind followed at the hot spot, or is "
        "censored at the earliest of the next visit's start there, the end of the crime data"
        + ("" if cap_h is None else f" and {cap_h:g} hours after the visit"),
        "source": "Koper (1995), Justice Quarterly 12(4):649–672",
    }
    spells = presence_spells(visits)
    follow = time_to_next_crime(spells, crimes, data_end=data_end, max_follow_up=max_follow_up)
    follow["band"] = assign_band(follow["dose_minutes"], bands)
    follow = follow[follow["band"].notna()]
    n_events = int(follow["event"].sum())
    base.update(n_visits=len(visits), n_spells=len(follow), n_events=n_events)
    if follow.empty:
        return {
            **base,
            "computed": False,
            "reason": "no patrol visits with follow-up before the end of the data.",
        }
    if n_events < min_events:
        return {
            **base,
            "computed": False,
            "reason": f"only {n_events} {KOPER_OUTCOMES[outcome]} crimes after {len(follow):,} visits "
            f"(fewer than {min_events}): too few for survival curves.",
        }
    censored = follow.loc[follow["event"] == 0, "censored_by"].value_counts()
    base["censored_by"] = {str(k): int(v) for k, v in censored.items()}
    band_rows = []
    for lo, hi in bands:
        label = band_label(lo, hi)
        part = follow[follow["band"] == label]
        row: dict[str, Any] = {"band": label, "spells": len(part), "events": int(part["event"].sum())}
        if part.empty:
            row.update(median_minutes=None, crime_free_at={}, curve=[])
        else:
            km = kaplan_meier(part["minutes"].to_numpy(), part["event"].to_numpy())
            row.update(
                median_minutes=km.median,
                crime_free_at={f"{m:g}": km.at(m) for m in REPORT_AT_MINUTES},
                curve=[
                    [0.0, 1.0],
                    *([float(t), float(s)] for t, s in zip(km.times, km.survival, strict=True)),
                ],
            )
        band_rows.append(row)
    base["band_rows"] = band_rows
    used = [r["band"] for r in band_rows if r["spells"] > 0 and r["events"] > 0]
    base["reference_band"] = used[0] if used else None
    notes: list[str] = []
    if len(used) < 2:
        base.update(cox=[], logrank_p=None)
        notes.append("fewer than two dose bands with crimes after them: no comparison between bands.")
    else:
        from statsmodels.duration.survfunc import survdiff

        fit_rows = follow[follow["band"].isin(used)]
        exog = pd.DataFrame({f"band {b}": (fit_rows["band"] == b).astype(float).to_numpy() for b in used[1:]})
        terms = cox_ph(fit_rows["minutes"].to_numpy(), fit_rows["event"].to_numpy(), exog)
        cox = []
        for b, term in zip(used[1:], terms, strict=True):
            hr, lo_ci, hi_ci = term.hazard_ratio(alpha)
            cox.append(
                {"band": b, "hazard_ratio": hr, "ci_low": lo_ci, "ci_high": hi_ci, "p_value": term.p_value}
            )
        _stat, p = survdiff(
            fit_rows["minutes"].to_numpy(), fit_rows["event"].to_numpy(), fit_rows["band"].to_numpy()
        )
        base.update(cox=cox, logrank_p=float(p))
        skipped = [r["band"] for r in band_rows if r["band"] not in used]
        if skipped:
            notes.append(f"bands with no crimes after them left out of the comparison: {', '.join(skipped)}.")
    return {**base, "computed": True, "notes": notes}
