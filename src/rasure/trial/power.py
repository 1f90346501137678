"""Power and minimum detectable effect for a place-day count outcome (docs/methods.md §5.2).

Counts per place-day are taken as negative binomial (NB2): ``Var(Y) = μ + k·μ²`` with dispersion
``k = 1/θ`` (R's ``theta`` or ``size``; ``k = 0`` is Poisson). Two arms, control mean ``μ0`` per place-
day and treated mean ``μ1 = IRR·μ0``; ``n`` control place-days and ``r·n`` treated ones (``r = n1/n0``);
exposure ``t = 1`` place-day. Following Zhu & Lakkis (2014), *Sample size calculation for comparing two
negative binomial rates*, Stat Med 33(3):376-387, as implemented in ``MKmisc::power.nb.test``
(approaches 1-3, approach 3 the default)::

    V1 = 1/μ0 + 1/(r·μ1) + (1+r)·k/r
    V0 = (1+r)/(r·μ0) + (1+r)·k/r                 approach 1 (variance at μ0)
       = V1                                        approach 2 (Wald: unconstrained variance)
       = (1+r)²/(r·(μ0 + r·μ1)) + (1+r)·k/r        approach 3 (variance at the pooled MLE under H0)
    n     = ((z_{1−α/2}·√V0 + z_{1−β}·√V1) / ln(μ1/μ0))²         control place-days
    power = Φ((√n·|ln(μ1/μ0)| − z_{1−α/2}·√V0) / √V1)

(``z_{1−α}`` for a one-sided test.) ``V1/n`` is the large-sample variance of the log rate ratio from
an NB regression with a treatment indicator.

Caveats (docs/methods.md §5.2): place-days are clustered within places and deterrence can carry over into
control days (Sherman 2022), both of which the formula ignores. ``design_effect`` divides the
effective number of place-days for a crude allowance; powering by simulation from historical counts
is better. Every figure is a formula output for assumed inputs, not a finding.

Base rate and dispersion can be estimated from historical counts per place-day (zeros included) with
:func:`estimate_rate_dispersion`; :func:`place_day_counts` builds those counts from dated events.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize, special, stats

from rasure.errors import RasureError

Approach = Literal[1, 2, 3]
Alternative = Literal["two-sided", "one-sided"]
Direction = Literal["decrease", "increase"]


class PowerInputError(RasureError):
    """An input to a power calculation or an estimate is out of range; the message says which."""


def _positive(value: float, name: str, *, allow_zero: bool = False) -> float:
    v = float(value)
    ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        bound = "zero or more" if allow_zero else "more than zero"
        raise PowerInputError(f"{name} must be a finite number {bound}, got {value!r}.")
    return v


def _probability(value: float, name: str) -> float:
    v = float(value)
    if not 0 < v < 1:
        raise PowerInputError(f"{name} must be strictly between 0 and 1, got {value!r} (e.g. 0.05 or 0.8).")
    return v


def _z_alpha(alpha: float, alternative: Alternative) -> float:
    if alternative == "two-sided":
        return float(stats.norm.ppf(1 - alpha / 2))
    if alternative == "one-sided":
        return float(stats.norm.ppf(1 - alpha))
    raise PowerInputError(f"alternative must be 'two-sided' or 'one-sided', got {alternative!r}.")


def nb_variances(
    *, mu0: float, mu1: float, r: float, k: float, approach: Approach = 3
) -> tuple[float, float]:
    """``(V0, V1)`` of Zhu & Lakkis (2014) for exposure 1 (formulas in the module docstring).

    >>> v0, v1 = nb_variances(mu0=0.05, mu1=0.04, r=1.0, k=1.0)
    >>> round(v0, 4), round(v1, 4)
    (46.4444, 47.0)
    """
    dispersion = (1 + r) * k / r
    v1 = 1 / mu0 + 1 / (r * mu1) + dispersion
    if approach == 1:
        v0 = (1 + r) / (r * mu0) + dispersion
    elif approach == 2:
        v0 = v1
    elif approach == 3:
        v0 = (1 + r) ** 2 / (r * (mu0 + r * mu1)) + dispersion
    else:
        raise PowerInputError(f"approach must be 1, 2 or 3 (Zhu & Lakkis 2014), got {approach!r}.")
    return v0, v1


def nb_power(
    *,
    control_place_days: float,
    treated_place_days: float,
    base_rate: float,
    rate_ratio: float,
    dispersion_k: float,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    approach: Approach = 3,
    design_effect: float = 1.0,
) -> float:
    """Power of the NB rate-ratio test: ``Φ((√n·|ln IRR| − z_α·√V0)/√V1)``, ``n = control/design_effect``.

    ``base_rate`` is μ0, the control mean per place-day; ``rate_ratio`` the true IRR.

    >>> round(nb_power(control_place_days=7347, treated_place_days=7347, base_rate=0.05,
    ...                rate_ratio=0.8, dispersion_k=1.0), 3)
    0.8
    """
    n0 = _positive(control_place_days, "control_place_days")
    n1 = _positive(treated_place_days, "treated_place_days")
    mu0 = _positive(base_rate, "base_rate")
    irr = _positive(rate_ratio, "rate_ratio")
    k = _positive(dispersion_k, "dispersion_k", allow_zero=True)
    de = _positive(design_effect, "design_effect")
    if de < 1:
        raise PowerInputError(f"design_effect must be at least 1, got {design_effect!r}.")
    z = _z_alpha(_probability(alpha, "alpha"), alternative)
    v0, v1 = nb_variances(mu0=mu0, mu1=irr * mu0, r=n1 / n0, k=k, approach=approach)
    n = n0 / de
    return float(stats.norm.cdf((math.sqrt(n) * abs(math.log(irr)) - z * math.sqrt(v0)) / math.sqrt(v1)))


def _required_control(
    *, mu0: float, irr: float, r: float, k: float, z_a: float, z_b: float, approach: Approach
) -> float:
    v0, v1 = nb_variances(mu0=mu0, mu1=irr * mu0, r=r, k=k, approach=approach)
    return ((z_a * math.sqrt(v0) + z_b * math.sqrt(v1)) / math.log(irr)) ** 2


@dataclass(frozen=True)
class RequiredPlaceDays:
    """Place-days needed to detect ``rate_ratio`` with the given power (Zhu & Lakkis 2014).

    ``control_place_days_exact`` is the formula's ``n`` times ``design_effect``; the integer fields are
    rounded up.
    """

    control_place_days: int
    treated_place_days: int
    total_place_days: int
    control_place_days_exact: float
    rate_ratio: float
    base_rate: float
    dispersion_k: float
    treated_share: float
    alpha: float
    power: float
    alternative: Alternative
    approach: Approach
    design_effect: float

    def days_for(self, hotspots: int) -> int:
        """Trial days needed with ``hotspots`` hot spots, each one place per day."""
        if hotspots < 1:
            raise PowerInputError(f"hotspots must be at least 1, got {hotspots!r}.")
        per_day_control = hotspots * (1 - self.treated_share)
        per_day_treated = hotspots * self.treated_share
        return max(
            math.ceil(self.control_place_days / per_day_control - 1e-9),
            math.ceil(self.treated_place_days / per_day_treated - 1e-9),
        )


def nb_required_place_days(
    *,
    base_rate: float,
    rate_ratio: float,
    dispersion_k: float,
    treated_share: float = 0.5,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Alternative = "two-sided",
    approach: Approach = 3,
    design_effect: float = 1.0,
) -> RequiredPlaceDays:
    """Place-days per arm for an NB count outcome: ``n = ((z_α√V0 + z_β√V1)/ln IRR)²`` control place-days
    and ``r·n`` treated, ``r = treated_share/(1 − treated_share)``.

    >>> req = nb_required_place_days(base_rate=0.05, rate_ratio=0.8, dispersion_k=1.0)
    >>> round(req.control_place_days_exact, 2), req.control_place_days, req.days_for(34)
    (7347.29, 7348, 433)
    """
    mu0 = _positive(base_rate, "base_rate")
    irr = _positive(rate_ratio, "rate_ratio")
    if irr == 1:
        raise PowerInputError("rate_ratio 1 means no effect: no number of place-days can detect it.")
    k = _positive(dispersion_k, "dispersion_k", allow_zero=True)
    share = _probability(treated_share, "treated_share")
    de = _positive(design_effect, "design_effect")
    if de < 1:
        raise PowerInputError(f"design_effect must be at least 1, got {design_effect!r}.")
    z_a = _z_alpha(_probability(alpha, "alpha"), alternative)
    z_b = float(stats.norm.ppf(_probability(power, "power")))
    r = share / (1 - share)
    n = _required_control(mu0=mu0, irr=irr, r=r, k=k, z_a=z_a, z_b=z_b, approach=approach) * de
    control = math.ceil(n - 1e-9)
    treated = math.ceil(r * n - 1e-9)
    return RequiredPlaceDays(
        control_place_days=control,
        treated_place_days=treated,
        total_place_days=control + treated,
        control_place_days_exact=n,
        rate_ratio=irr,
        base_rate=mu0,
        dispersion_k=k,
        treated_share=share,
        alpha=alpha,
        power=power,
        alternative=alternative,
        approach=approach,
        design_effect=de,
    )


@dataclass(frozen=True)
class MinimumDetectableEffect:
    """The smallest true incidence rate ratio detected with the given power (formula output).

    ``rate_ratio`` is the IRR (e.g. 0.70 = a 30% reduction); ``percent_change = (IRR − 1)·100``.
    ``expected_control_events`` is ``base_rate × control_place_days``.
    """

    rate_ratio: float
    percent_change: float
    hotspots: int
    days: int
    control_place_days: float
    treated_place_days: float
    expected_control_events: float
    base_rate: float
    dispersion_k: float
    treated_share: float
    alpha: float
    power: float
    alternative: Alternative
    approach: Approach
    design_effect: float
    direction: Direction

    def summary(self) -> str:
        """One paragraph for a person, saying it is a formula output for assumed inputs."""
        return (
            f"Minimum detectable effect: IRR {self.rate_ratio:.3f} ({self.percent_change:+.1f}%) at "
            f"{self.power:.0%} power, alpha {self.alpha:g} ({self.alternative}), for {self.hotspots} hot spots × "
            f"{self.days} days with {self.treated_share:.0%} treated ({self.control_place_days:,.0f} control and "
            f"{self.treated_place_days:,.0f} treated place-days), base rate {self.base_rate:g} per place-day, NB "
            f"dispersion k={self.dispersion_k:g}, design effect {self.design_effect:g}. This is the output of the "
            "Zhu & Lakkis (2014) formula for these assumed inputs, which treats place-days as independent; it "
            "is not an estimate of any effect."
        )


def nb_minimum_detectable_effect(
    *,
    hotspots: int,
    days: int,
    base_rate: float,
    dispersion_k: float,
    treated_share: float = 0.5,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Alternative = "two-sided",
    approach: Approach = 3,
    design_effect: float = 1.0,
    direction: Direction = "decrease",
) -> MinimumDetectableEffect:
    """The IRR at which :func:`nb_power` reaches ``power`` for ``hotspots × days`` place-days.

    Control place-days ``(1 − π)·H·D``, treated ``π·H·D``. Solved numerically (Brent's method) on the
    closed form for ``n``. For a decrease, ``n(IRR)`` is not monotone as IRR → 0 (the treated variance
    ``1/(r·μ1)`` explodes), so the root is taken between 1 and the IRR that minimises ``n``.

    >>> m = nb_minimum_detectable_effect(hotspots=34, days=182, base_rate=0.05, dispersion_k=1.0)
    >>> round(m.rate_ratio, 3)
    0.702
    """
    if isinstance(hotspots, bool) or not isinstance(hotspots, int) or hotspots < 1:
        raise PowerInputError(f"hotspots must be a whole number of at least 1, got {hotspots!r}.")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise PowerInputError(f"days must be a whole number of at least 1, got {days!r}.")
    mu0 = _positive(base_rate, "base_rate")
    k = _positive(dispersion_k, "dispersion_k", allow_zero=True)
    share = _probability(treated_share, "treated_share")
    de = _positive(design_effect, "design_effect")
    if de < 1:
        raise PowerInputError(f"design_effect must be at least 1, got {design_effect!r}.")
    z_a = _z_alpha(_probability(alpha, "alpha"), alternative)
    z_b = float(stats.norm.ppf(_probability(power, "power")))
    n0 = hotspots * days * (1 - share)
    n1 = hotspots * days * share
    r = share / (1 - share)
    n_eff = n0 / de

    def excess(log_irr: float) -> float:
        return (
            _required_control(mu0=mu0, irr=math.exp(log_irr), r=r, k=k, z_a=z_a, z_b=z_b, approach=approach)
            - n_eff
        )

    tiny = 1e-9
    if direction == "decrease":
        best = optimize.minimize_scalar(excess, bounds=(math.log(1e-6), -tiny), method="bounded")
        lo = float(best.x)
        if excess(lo) > 0:
            raise PowerInputError(
                f"{hotspots} hot spots × {days} days ({n0:,.0f} control place-days) cannot reach {power:.0%} power "
                f"for any reduction at base rate {mu0:g}. Add days or hot spots, or accept lower power."
            )
        root = optimize.brentq(excess, lo, -tiny, xtol=1e-12)
    elif direction == "increase":
        hi = math.log(2.0)
        while excess(hi) > 0:
            hi *= 2
            if hi > math.log(1e12):
                raise PowerInputError(
                    "no detectable increase found; check base_rate and the number of place-days."
                )
        root = optimize.brentq(excess, tiny, hi, xtol=1e-12)
    else:
        raise PowerInputError(f"direction must be 'decrease' or 'increase', got {direction!r}.")
    irr = math.exp(root)
    return MinimumDetectableEffect(
        rate_ratio=irr,
        percent_change=(irr - 1) * 100,
        hotspots=hotspots,
        days=days,
        control_place_days=n0,
        treated_place_days=n1,
        expected_control_events=mu0 * n0,
        base_rate=mu0,
        dispersion_k=k,
        treated_share=share,
        alpha=alpha,
        power=power,
        alternative=alternative,
        approach=approach,
        design_effect=de,
        direction=direction,
    )


@dataclass(frozen=True)
class RateDispersion:
    """Base rate and NB2 dispersion estimated from counts per place-day.

    ``dispersion_k`` is ``k = 1/θ`` in ``Var = μ + kμ²``; ``theta`` is ``inf`` when ``k = 0`` (no extra-
    Poisson variation found). ``variance`` is the sample variance (``ddof=1``).
    """

    base_rate: float
    dispersion_k: float
    theta: float
    variance: float
    n_place_days: int
    total_count: int
    method: Literal["moments", "mle"]
    note: str


def _nb2_loglik(theta: float, mu: float, values: np.ndarray, weights: np.ndarray) -> float:
    """NB2 log-likelihood ``Σ w·[lnΓ(y+θ) − lnΓ(θ) − ln y! + θ·ln(θ/(θ+μ)) + y·ln(μ/(θ+μ))]``."""
    terms = (
        special.gammaln(values + theta)
        - special.gammaln(theta)
        - special.gammaln(values + 1)
        + theta * math.log(theta / (theta + mu))
        + values * math.log(mu / (theta + mu))
    )
    return float(np.dot(weights, terms))


def estimate_rate_dispersion(
    counts: ArrayLike, *, method: Literal["moments", "mle"] = "moments"
) -> RateDispersion:
    """Estimate μ (per place-day) and NB2 dispersion ``k`` from counts per place-day, zeros included.

    ``base_rate = ȳ`` (also the NB2 maximum-likelihood estimate of an intercept-only model).
    ``method="moments"``: ``k = max(0, (s² − ȳ)/ȳ²)`` from ``Var = μ + kμ²`` (Anscombe 1950,
    *Biometrika* 37:358). ``method="mle"``: ``k`` maximises the NB2 likelihood with μ = ȳ (Lawless 1987,
    *Can J Stat* 15:209), found by bounded Brent search on ``ln k``; ``k = 0`` when ``s² ≤ ȳ``, where the
    likelihood is largest at the Poisson boundary.

    >>> r = estimate_rate_dispersion([0, 0, 0, 1, 0, 3, 0, 0, 1, 0])
    >>> round(r.base_rate, 3), round(r.dispersion_k, 3)
    (0.5, 1.778)
    """
    arr = np.asarray(counts, dtype=float).ravel()
    if arr.size < 2:
        raise PowerInputError(
            "need counts for at least two place-days (zeros included) to estimate dispersion."
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise PowerInputError("counts must be whole numbers of zero or more, one per place-day.")
    mean = float(arr.mean())
    if mean == 0:
        raise PowerInputError(
            "every count is zero, so no rate or dispersion can be estimated. Use a longer history or more places."
        )
    var = float(arr.var(ddof=1))
    k_mom = max(0.0, (var - mean) / mean**2)
    note = (
        "overdispersed (variance above the mean)"
        if var > mean
        else "no overdispersion: variance ≤ mean, k = 0"
    )
    if method == "moments":
        k = k_mom
    elif method == "mle":
        if var <= mean:
            k = 0.0
        else:
            values, weights = np.unique(arr, return_counts=True)
            w = weights.astype(float)

            def neg(log_k: float) -> float:
                return -_nb2_loglik(math.exp(-log_k), mean, values, w)

            res = optimize.minimize_scalar(
                neg, bounds=(math.log(1e-8), math.log(1e4)), method="bounded", options={"xatol": 1e-10}
            )
            k = math.exp(float(res.x))
            if neg(math.log(1e-8)) <= float(res.fun):
                k = 0.0
    else:
        raise PowerInputError(f"method must be 'moments' or 'mle', got {method!r}.")
    return RateDispersion(
        base_rate=mean,
        dispersion_k=k,
        theta=math.inf if k == 0 else 1 / k,
        variance=var,
        n_place_days=int(arr.size),
        total_count=int(arr.sum()),
        method=method,
        note=note,
    )


def place_day_counts(
    events: pd.DataFrame,
    *,
    hotspot_ids: Sequence[str],
    start: date,
    end: date,
    day_start: time = time(6, 0),
    timezone: str | None = None,
    hotspot_col: str = "hotspot_id",
    time_col: str = "occurred_at",
) -> pd.DataFrame:
    """Counts of events per hot spot and trial day, every place-day present (zeros included).

    ``events`` has one row per event with the hot spot it fell in (``hotspot_col``) and when it
    happened (``time_col``). Trial days start at ``day_start`` local time (see
    :func:`rasure.trial.design.trial_day_of`); aware timestamps need ``timezone``. Events in other hot
    spots or outside ``start``–``end`` are left out. Returns columns ``hotspot_id``, ``trial_day``
    (``datetime.date``), ``count``, sorted by hot spot then day.
    """
    for col in (hotspot_col, time_col):
        if col not in events.columns:
            raise PowerInputError(
                f"events lack the column {col!r}; pass hotspot_col= / time_col= to name yours."
            )
    if end < start:
        raise PowerInputError(f"end ({end}) is before start ({start}).")
    ts = pd.to_datetime(events[time_col])
    if ts.dt.tz is not None:
        if timezone is None:
            raise PowerInputError(
                f"{time_col} has time zones; pass timezone= (e.g. 'Europe/London') to put events on local trial days."
            )
        ts = ts.dt.tz_convert(timezone).dt.tz_localize(None)
    shift = timedelta(hours=day_start.hour, minutes=day_start.minute, seconds=day_start.second)
    days = (ts - shift).dt.date
    ids = list(dict.fromkeys(hotspot_ids))
    frame = pd.DataFrame(
        {"hotspot_id": events[hotspot_col].astype(str).to_numpy(), "trial_day": days.to_numpy()}
    )
    frame = frame[frame["hotspot_id"].isin(ids) & (frame["trial_day"] >= start) & (frame["trial_day"] <= end)]
    grid_days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    index = pd.MultiIndex.from_product([sorted(ids), grid_days], names=["hotspot_id", "trial_day"])
    counts = frame.groupby(["hotspot_id", "trial_day"]).size().reindex(index, fill_value=0)
    out = counts.rename("count").reset_index()
    out["count"] = out["count"].astype("int64")
    out["trial_day"] = out["trial_day"].astype(object)
    return out
