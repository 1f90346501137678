"""The trial's answer: intention-to-treat effects on the place-day panel (issue 12; docs/methods.md §5.3, §5.4).

Input is the place-day panel as ``rasure trial export`` writes it: one row per hot spot × trial day
(× shift) with ``hotspot_id``, ``trial_day``, ``arm`` (``"treatment"``/``"control"``, as randomised:
intention to treat) and the outcomes ``sv_count`` and ``harm_days``. Rows whose outcome is empty
(days not yet covered by imported records) are left out and counted.

Estimates (all functions are pure; randomness only from the seeds passed in):

* **Primary**, :func:`nb_itt`: negative-binomial (NB2) regression
  ``log μ_id = α_i + β·T_id + γ_dow(d)``, ``Var(Y) = μ + k·μ²``, place fixed effects ``α_i`` and
  day-of-week terms ``γ``, fitted by maximum likelihood (statsmodels GLM, family
  ``NegativeBinomial(alpha=k)``, with ``k`` profiled out: :func:`fit_nb`), standard errors
  cluster-robust by place (sandwich with the usual small-sample correction). ``IRR = exp(β)``, ``CI = exp(β ± z_{1−α/2}·SE)``, Wald p-value
  (docs/methods.md §5.3; Hilbe 2011, *Negative Binomial Regression*, ch. 6). Places with no event
  on any panel day carry no information on ``β`` under place fixed effects and are left out (counted).
* **Randomisation inference**, :func:`randomisation_p_value`: the same design is re-drawn with other
  seeds through :func:`rasure.trial.schedule.schedule_for_entries` and the observed statistic placed
  among the re-drawn ones: ``p = (1 + #{b: |S_b| ≥ |S_obs|}) / (1 + B)`` (two-sided; Fisher's exact
  test under the sharp null of no effect on any place-day; Rosenbaum 2002, *Observational Studies*
  §2; Gerber & Green 2012, *Field Experiments* ch. 3). The statistic is the covariate-adjusted log
  rate ratio ``S = ln(ΣT y / ΣT ŷ0) − ln(ΣC y / ΣC ŷ0)``, where ``ŷ0`` are the expected counts under
  the null from a Poisson model with the same place and day-of-week terms and no treatment term.
  ``ŷ0`` does not depend on the allocation, so under the sharp null every re-draw is valid and cheap.
  The re-draw seeds are public: ``SHA-256("rasure-randomisation-inference-v1\\n<b>")`` in hex.
* **Secondary**: prevalence (any serious violence on the place-day) as a risk ratio from a Poisson
  GLM with the same terms and cluster-robust SEs ("modified Poisson", Zou 2004, *Am J Epidemiol*
  159:702); harm (CCHI days; zero-inflated and heavy-tailed, so no parametric model) as the ratio of
  means treated/control with a place-cluster bootstrap percentile CI (docs/methods.md §5.3) and a
  randomisation p-value for the difference of means; the positive-outcome rate of serious-violence
  crimes (charge or disposal, :data:`POSITIVE_OUTCOMES`) as a ratio of rates; carry-over as the IRR of ``T_{i,d−l}`` (treated
  ``l`` days before) in the primary model, on the days that have a day ``l`` before them.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rasure.trial.design import TrialDesign, TrialError
from rasure.trial.displacement import DisplacementError, buffer_column, weighted_displacement_quotient
from rasure.trial.plan import AnalysisPlan
from rasure.trial.schedule import SCHEDULE_ALGORITHM, TREATMENT, schedule_for_entries

RI_SEED_LABEL = "rasure-randomisation-inference-v1"


class EvaluationError(TrialError):
    """The panel cannot be evaluated (missing columns, no place-days, a single arm, ...)."""


@dataclass(frozen=True)
class OutcomeResult:
    """One outcome's estimate. ``estimand`` is ``"IRR"`` (incidence-rate ratio), ``"RR"`` (risk
    ratio), ``"RoM"`` (ratio of means) or ``"RoR"`` (ratio of rates). ``None`` where a figure could not be computed (see notes)."""

    name: str
    estimand: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_randomisation: float | None
    n_place_days: int
    method: str
    pre_specified: bool = True
    mean_treatment: float | None = None
    mean_control: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def percent_change(self) -> float | None:
        return None if self.estimate is None else (self.estimate - 1.0) * 100.0

    def to_json_dict(self) -> dict[str, Any]:
        def num(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else float(x)

        return {
            "name": self.name,
            "estimand": self.estimand,
            "estimate": num(self.estimate),
            "ci_low": num(self.ci_low),
            "ci_high": num(self.ci_high),
            "p_value": num(self.p_value),
            "p_randomisation": num(self.p_randomisation),
            "percent_change": num(self.percent_change),
            "n_place_days": self.n_place_days,
            "mean_treatment": num(self.mean_treatment),
            "mean_control": num(self.mean_control),
            "method": self.method,
            "pre_specified": self.pre_specified,
            "notes": list(self.notes),
        }


def _unit_columns(panel: pd.DataFrame) -> list[str]:
    return ["hotspot_id", *(["shift"] if "shift" in panel.columns else [])]


def prepare_panel(panel: pd.DataFrame, *, outcome: str) -> tuple[pd.DataFrame, list[str]]:
    """The rows of ``panel`` with a known ``outcome``, with ``treated`` (0/1), ``place`` and ``dow``.

    Raises :class:`EvaluationError` naming the missing column or the problem."""
    need = ["hotspot_id", "trial_day", "arm", outcome]
    missing = [c for c in need if c not in panel.columns]
    if missing:
        raise EvaluationError(
            f"the panel lacks columns {missing}; it needs {need} (as `rasure trial export` writes it)."
        )
    bad_arms = sorted({str(a) for a in panel["arm"].unique()} - {"treatment", "control"})
    if bad_arms:
        raise EvaluationError(f"arm must be 'treatment' or 'control'; the panel has {bad_arms[:5]}.")
    notes: list[str] = []
    values = pd.to_numeric(panel[outcome], errors="coerce")
    known = values.notna()
    if (~known).any():
        notes.append(
            f"{int((~known).sum()):,} place-days with no {outcome} (no records imported for them) left out."
        )
    out = panel.loc[known, [c for c in panel.columns if c != outcome]].copy()
    out["y"] = values[known].astype(float).to_numpy()
    if (out["y"] < 0).any():
        raise EvaluationError(f"{outcome} has negative values; counts and harm are never negative.")
    out["trial_day"] = pd.to_datetime(out["trial_day"]).dt.date
    out["treated"] = (out["arm"] == TREATMENT).astype(float)
    out["place"] = out[_unit_columns(out)].astype(str).agg("|".join, axis=1)
    out["dow"] = pd.to_datetime(out["trial_day"]).dt.day_of_week
    if out.empty or out["treated"].nunique() < 2:
        raise EvaluationError(f"the panel needs place-days of both arms with a known {outcome}.")
    return out.reset_index(drop=True), notes


def design_matrix(
    frame: pd.DataFrame, *, covariates: Sequence[str], extra: Sequence[str] = ()
) -> pd.DataFrame:
    """Constant, ``treated``, ``extra`` columns, then place and day-of-week dummies (first level dropped)."""
    parts = [pd.DataFrame({"const": 1.0, "treated": frame["treated"]}, index=frame.index)]
    if extra:
        parts.append(frame[list(extra)].astype(float))
    if "place" in covariates and frame["place"].nunique() > 1:
        parts.append(pd.get_dummies(frame["place"], prefix="place", drop_first=True, dtype=float))
    if "day_of_week" in covariates and frame["dow"].nunique() > 1:
        parts.append(pd.get_dummies(frame["dow"], prefix="dow", drop_first=True, dtype=float))
    return pd.concat(parts, axis=1)


def _drop_eventless_places(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    totals = frame.groupby("place")["y"].transform("sum")
    dropped = frame.loc[totals == 0, "place"].nunique()
    notes = []
    if dropped:
        notes.append(
            f"{dropped} places with no event on any panel day left out of the model (under place fixed "
            "effects they carry no information on the effect)."
        )
    return frame.loc[totals > 0].reset_index(drop=True), notes


@dataclass(frozen=True)
class NBFit:
    """The fitted coefficient of one term: ``beta`` (log scale), its cluster-robust ``se``, ``p_value``,
    the NB2 dispersion ``k`` and the rows used."""

    beta: float
    se: float
    p_value: float
    dispersion_k: float
    n: int

    def ratio_ci(self, alpha: float) -> tuple[float, float, float]:
        from scipy.stats import norm

        z = float(norm.ppf(1 - alpha / 2))
        return math.exp(self.beta), math.exp(self.beta - z * self.se), math.exp(self.beta + z * self.se)


def fit_nb(
    frame: pd.DataFrame, *, covariates: Sequence[str], term: str = "treated", extra: Sequence[str] = ()
) -> NBFit:
    """NB2 GLM on ``frame`` (from :func:`prepare_panel`) with place-cluster-robust SEs.

    The coefficients for a given dispersion ``k`` come from statsmodels' GLM (IRLS, family
    ``NegativeBinomial(alpha=k)``, log link); ``k`` is the maximum-likelihood value, found by
    maximising the GLM log-likelihood over ``ln k`` (bounded search, ``scipy.optimize``). This is the
    same estimator as a joint NB2 maximum-likelihood fit (``MASS::glm.nb`` alternates the same two
    steps), but IRLS stays stable with many place dummies where a joint Newton step does not.
    """
    import statsmodels.api as sm
    from scipy.optimize import minimize_scalar
    from threadpoolctl import threadpool_limits

    x = design_matrix(frame, covariates=covariates, extra=extra)
    y = frame["y"].to_numpy()
    groups = pd.factorize(frame["place"])[0]
    start: list[np.ndarray] = []

    def glm(k: float) -> Any:
        model = sm.GLM(y, x, family=sm.families.NegativeBinomial(alpha=k))
        return model.fit(start_params=start[0] if start else None, maxiter=100)

    def negll(log_k: float) -> float:
        res = glm(math.exp(log_k))
        start[:] = [res.params.to_numpy()]
        return -float(res.llf)

    # One BLAS thread: these are many small solves, where threads only contend (10x faster on 2 cores).
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        opt = minimize_scalar(
            negll, bounds=(math.log(1e-4), math.log(50.0)), method="bounded", options={"xatol": 1e-4}
        )
        k = math.exp(float(opt.x))
        res = sm.GLM(y, x, family=sm.families.NegativeBinomial(alpha=k)).fit(
            start_params=start[0] if start else None,
            maxiter=100,
            cov_type="cluster",
            cov_kwds={"groups": groups},
        )
    if not math.isfinite(float(res.params[term])) or not math.isfinite(float(res.bse[term])):
        raise EvaluationError("the negative-binomial model did not converge on this panel.")
    return NBFit(
        beta=float(res.params[term]),
        se=float(res.bse[term]),
        p_value=float(res.pvalues[term]),
        dispersion_k=k,
        n=len(frame),
    )


def fit_modified_poisson(frame: pd.DataFrame, *, covariates: Sequence[str]) -> NBFit:
    """Poisson GLM (log link) with place-cluster-robust SEs: the risk ratio of a binary ``y`` (Zou 2004)."""
    import statsmodels.api as sm

    x = design_matrix(frame, covariates=covariates)
    groups = pd.factorize(frame["place"])[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(frame["y"].to_numpy(), x, family=sm.families.Poisson()).fit(
            cov_type="cluster", cov_kwds={"groups": groups}
        )
    return NBFit(
        float(res.params["treated"]),
        float(res.bse["treated"]),
        float(res.pvalues["treated"]),
        0.0,
        len(frame),
    )


def null_expected(frame: pd.DataFrame, *, covariates: Sequence[str]) -> np.ndarray:
    """``ŷ0``: expected outcomes under no effect, from a Poisson GLM with the covariates only."""
    import statsmodels.api as sm

    x = design_matrix(frame, covariates=covariates).drop(columns=["treated"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(frame["y"].to_numpy(), x, family=sm.families.Poisson()).fit()
    return np.asarray(res.fittedvalues, dtype=float)


def adjusted_log_rate_ratio(y: np.ndarray, expected: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """``S = ln(ΣT y / ΣT ŷ0) − ln(ΣC y / ΣC ŷ0)`` for each row of ``treated`` (allocations × place-days)."""
    t = np.atleast_2d(treated).astype(float)
    c = 1.0 - t
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.log((t @ y) / (t @ expected)) - np.log((c @ y) / (c @ expected)))


def difference_of_means(y: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """``ȳ_T − ȳ_C`` for each row of ``treated``."""
    t = np.atleast_2d(treated).astype(float)
    c = 1.0 - t
    return np.asarray((t @ y) / t.sum(axis=1) - (c @ y) / c.sum(axis=1))


def ri_seed(index: int) -> str:
    """The public seed of re-draw ``index``: ``SHA-256("rasure-randomisation-inference-v1\\n<index>")``."""
    return hashlib.sha256(f"{RI_SEED_LABEL}\n{index}".encode()).hexdigest()


def redrawn_allocations(
    frame: pd.DataFrame,
    *,
    entries: Sequence[tuple[str, str, str | None]],
    design: TrialDesign,
    draws: int,
    schedule_algorithm: str = SCHEDULE_ALGORITHM,
) -> np.ndarray:
    """``draws`` × rows matrix of 0/1 treatment for the rows of ``frame``, each row the schedule the
    project's own schedule code makes for the committed frozen set and design with seed
    :func:`ri_seed` ``(b)``, under the trial's own ``schedule_algorithm`` (from its manifest)."""
    keys = list(zip(frame["trial_day"], *(frame[c] for c in _unit_columns(frame)), strict=True))
    out = np.zeros((draws, len(frame)), dtype=np.int8)
    for b in range(draws):
        sched = schedule_for_entries(entries, design, seed=ri_seed(b), algorithm=schedule_algorithm)
        cols = [
            sched["trial_day"],
            sched["hotspot_id"],
            *([sched["shift"]] if "shift" in frame.columns else []),
        ]
        arm = dict(zip(zip(*cols, strict=True), sched["arm"] == TREATMENT, strict=True))
        try:
            out[b] = [arm[k] for k in keys]
        except KeyError as exc:
            raise EvaluationError(
                f"panel row {exc.args[0]} is not in the committed design: the panel does not belong to this trial."
            ) from None
    return out


def randomisation_p_value(observed: float, redrawn: np.ndarray) -> float:
    """Two-sided ``(1 + #{|S_b| ≥ |S_obs|}) / (1 + B)``; re-draws whose statistic is undefined are dropped."""
    finite = redrawn[np.isfinite(redrawn)]
    if not math.isfinite(observed) or finite.size == 0:
        return float("nan")
    return float((1 + np.sum(np.abs(finite) >= abs(observed) - 1e-12)) / (1 + finite.size))


def _means(frame: pd.DataFrame) -> tuple[float, float]:
    g = frame.groupby("treated")["y"].mean()
    return float(g.get(1.0, float("nan"))), float(g.get(0.0, float("nan")))


def nb_itt(
    panel: pd.DataFrame,
    *,
    outcome: str = "sv_count",
    alpha: float = 0.05,
    covariates: Sequence[str] = ("place", "day_of_week"),
    allocations: Callable[[pd.DataFrame], np.ndarray] | None = None,
) -> OutcomeResult:
    """The primary ITT estimate (module docstring): IRR, CI, Wald p, and the randomisation p-value
    when ``allocations`` (frame → re-drawn 0/1 matrix, e.g. :func:`redrawn_allocations`) is given."""
    frame, notes = prepare_panel(panel, outcome=outcome)
    n_all = len(frame)
    mt, mc = _means(frame)
    frame, dropped = _drop_eventless_places(frame)
    notes += dropped
    if frame.empty or frame["y"].sum() == 0:
        return OutcomeResult(
            outcome,
            "IRR",
            None,
            None,
            None,
            None,
            None,
            n_all,
            "NB2",
            mean_treatment=mt,
            mean_control=mc,
            notes=(*notes, "no events: nothing to estimate."),
        )
    fit = fit_nb(frame, covariates=covariates)
    irr, lo, hi = fit.ratio_ci(alpha)
    p_ri = _randomisation_p(frame, covariates=covariates, allocations=allocations)
    notes.append(f"NB2 dispersion k = {fit.dispersion_k:.4g} (Var = mu + k mu^2).")
    return OutcomeResult(
        outcome,
        "IRR",
        irr,
        lo,
        hi,
        fit.p_value,
        p_ri,
        n_all,
        f"NB2 regression, {' + '.join(['treatment', *covariates])}, SEs clustered by place",
        mean_treatment=mt,
        mean_control=mc,
        notes=tuple(notes),
    )


def _randomisation_p(
    frame: pd.DataFrame,
    *,
    covariates: Sequence[str],
    allocations: Callable[[pd.DataFrame], np.ndarray] | None,
) -> float | None:
    """The randomisation-inference p-value of the covariate-adjusted log rate ratio over the re-drawn
    allocations (module docstring), or None when no allocations are given."""
    if allocations is None:
        return None
    expected = null_expected(frame, covariates=covariates)
    y = frame["y"].to_numpy()
    s_obs = float(adjusted_log_rate_ratio(y, expected, frame["treated"].to_numpy())[0])
    return randomisation_p_value(s_obs, adjusted_log_rate_ratio(y, expected, allocations(frame)))


def prevalence_rr(
    panel: pd.DataFrame,
    *,
    outcome: str = "sv_count",
    alpha: float = 0.05,
    covariates: Sequence[str] = ("place", "day_of_week"),
    allocations: Callable[[pd.DataFrame], np.ndarray] | None = None,
) -> OutcomeResult:
    """Prevalence (any event on the place-day): risk ratio by modified Poisson (module docstring)."""
    frame, notes = prepare_panel(panel, outcome=outcome)
    frame["y"] = (frame["y"] > 0).astype(float)
    n_all = len(frame)
    mt, mc = _means(frame)
    frame, dropped = _drop_eventless_places(frame)
    notes += dropped
    if frame.empty:
        return OutcomeResult(
            "sv_any",
            "RR",
            None,
            None,
            None,
            None,
            None,
            n_all,
            "modified Poisson",
            mean_treatment=mt,
            mean_control=mc,
            notes=(*notes, "no events."),
        )
    fit = fit_modified_poisson(frame, covariates=covariates)
    rr, lo, hi = fit.ratio_ci(alpha)
    p_ri = _randomisation_p(frame, covariates=covariates, allocations=allocations)
    return OutcomeResult(
        "sv_any",
        "RR",
        rr,
        lo,
        hi,
        fit.p_value,
        p_ri,
        n_all,
        "modified Poisson (log-link GLM on 0/1), SEs clustered by place",
        mean_treatment=mt,
        mean_control=mc,
        notes=tuple(notes),
    )


def harm_ratio_of_means(
    panel: pd.DataFrame,
    *,
    outcome: str = "harm_days",
    alpha: float = 0.05,
    bootstrap: int = 999,
    seed: int = 20261201,
    allocations: Callable[[pd.DataFrame], np.ndarray] | None = None,
) -> OutcomeResult:
    """Harm: ratio of means ``ȳ_T / ȳ_C`` with a place-cluster bootstrap percentile CI (places drawn
    with replacement, ``bootstrap`` times, ``numpy.random.default_rng(seed)``), and the randomisation
    p-value of ``ȳ_T − ȳ_C`` (module docstring)."""
    frame, notes = prepare_panel(panel, outcome=outcome)
    mt, mc = _means(frame)
    n = len(frame)
    if not (mc > 0):
        return OutcomeResult(
            outcome,
            "RoM",
            None,
            None,
            None,
            None,
            None,
            n,
            "ratio of means",
            mean_treatment=mt,
            mean_control=mc,
            notes=(*notes, "no harm in control place-days."),
        )
    places = frame["place"].to_numpy()
    codes, uniques = pd.factorize(places)
    sums = np.zeros((len(uniques), 2))
    counts = np.zeros((len(uniques), 2))
    arm = frame["treated"].to_numpy().astype(int)
    np.add.at(sums, (codes, arm), frame["y"].to_numpy())
    np.add.at(counts, (codes, arm), 1.0)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(uniques), size=(bootstrap, len(uniques)))
    with np.errstate(divide="ignore", invalid="ignore"):
        s, c = sums[pick].sum(axis=1), counts[pick].sum(axis=1)
        ratios = (s[:, 1] / c[:, 1]) / (s[:, 0] / c[:, 0])
    ratios = ratios[np.isfinite(ratios)]
    lo, hi = np.quantile(ratios, [alpha / 2, 1 - alpha / 2]) if ratios.size else (np.nan, np.nan)
    p_ri = None
    if allocations is not None:
        y = frame["y"].to_numpy()
        obs = float(difference_of_means(y, frame["treated"].to_numpy())[0])
        p_ri = randomisation_p_value(obs, difference_of_means(y, allocations(frame)))
    return OutcomeResult(
        outcome,
        "RoM",
        mt / mc,
        float(lo),
        float(hi),
        None,
        p_ri,
        n,
        f"ratio of means, place-cluster bootstrap ({bootstrap}) percentile CI",
        mean_treatment=mt,
        mean_control=mc,
        notes=tuple(notes),
    )


def add_lagged_treatment(frame: pd.DataFrame, lag: int) -> pd.DataFrame:
    """``frame`` with ``treated_lag<lag>`` = the unit's arm ``lag`` days earlier; rows without that day dropped."""
    key = _unit_columns(frame)
    prior = frame[[*key, "trial_day", "treated"]].copy()
    prior["trial_day"] = [d + pd.Timedelta(days=lag).to_pytimedelta() for d in prior["trial_day"]]
    name = f"treated_lag{lag}"
    merged = frame.merge(prior.rename(columns={"treated": name}), on=[*key, "trial_day"], how="inner")
    return merged


def carryover_irr(
    panel: pd.DataFrame,
    *,
    lag: int = 1,
    outcome: str = "sv_count",
    alpha: float = 0.05,
    covariates: Sequence[str] = ("place", "day_of_week"),
) -> OutcomeResult:
    """Carry-over: IRR of having been treated ``lag`` days before, in the primary model with the
    lagged term added (docs/methods.md §5.3)."""
    frame, notes = prepare_panel(panel, outcome=outcome)
    frame = add_lagged_treatment(frame, lag)
    frame, dropped = _drop_eventless_places(frame)
    notes += dropped
    name = f"carryover_lag{lag}"
    if frame.empty or frame[f"treated_lag{lag}"].nunique() < 2:
        return OutcomeResult(
            name,
            "IRR",
            None,
            None,
            None,
            None,
            None,
            len(frame),
            "NB2",
            notes=(*notes, "no days with a lagged arm to compare."),
        )
    fit = fit_nb(frame, covariates=covariates, term=f"treated_lag{lag}", extra=[f"treated_lag{lag}"])
    irr, lo, hi = fit.ratio_ci(alpha)
    return OutcomeResult(
        name,
        "IRR",
        irr,
        lo,
        hi,
        fit.p_value,
        None,
        len(frame),
        f"NB2 regression as the primary plus treated {lag} day(s) before",
        notes=tuple(notes),
    )


#: police.uk "Last outcome category" values counted as a positive outcome [U]: a charge or summons
#: (with or without a court result yet), a court disposal, or an out-of-court disposal.
POSITIVE_OUTCOMES = frozenset(
    {
        "Suspect charged",
        "Suspect charged as part of another case",
        "Awaiting court outcome",
        "Offender sent to prison",
        "Offender given suspended prison sentence",
        "Offender given community sentence",
        "Offender fined",
        "Offender given conditional discharge",
        "Offender given absolute discharge",
        "Offender otherwise dealt with",
        "Offender deprived of property",
        "Offender ordered to pay compensation",
        "Defendant sent to Crown Court",
        "Offender given a caution",
        "Offender given a drugs possession warning",
        "Offender given penalty notice",
        "Local resolution",
        "Suspect charged - awaiting court outcome",
    }
)
#: Not yet final: the crime leaves the denominator of the positive-outcome rate.
PENDING_OUTCOMES = frozenset({"", "Under investigation", "Status update unavailable"})


def outcome_kind(last_outcome: str | None) -> str:
    """``"positive"``, ``"pending"`` (none yet, under investigation, status unavailable) or ``"other"``.

    >>> outcome_kind("Offender fined"), outcome_kind(None), outcome_kind("Unable to prosecute suspect")
    ('positive', 'pending', 'other')
    """
    text = (last_outcome or "").strip()
    if text in PENDING_OUTCOMES:
        return "pending"
    return "positive" if text in POSITIVE_OUTCOMES else "other"


def positive_outcome_ratio(
    panel: pd.DataFrame, *, alpha: float = 0.05, bootstrap: int = 999, seed: int = 20261201
) -> OutcomeResult:
    """Positive-outcome rate of serious-violence crimes, treated vs control place-days:
    ``(Σ_T positive / Σ_T final) / (Σ_C positive / Σ_C final)`` over crimes with a final outcome
    (columns ``sv_positive_outcome`` and ``sv_final_outcome``), with a place-cluster bootstrap
    percentile CI. A ratio above 1 means crimes on treated place-days more often end in a charge or
    disposal."""
    need = ["sv_positive_outcome", "sv_final_outcome"]
    missing = [c for c in need if c not in panel.columns]
    if missing:
        raise EvaluationError(f"the panel lacks columns {missing} for the positive-outcome rate.")
    frame, notes = prepare_panel(panel, outcome="sv_final_outcome")
    frame["pos"] = pd.to_numeric(frame["sv_positive_outcome"], errors="coerce").fillna(0).to_numpy(float)
    codes, uniques = pd.factorize(frame["place"])
    arm = frame["treated"].to_numpy().astype(int)
    pos = np.zeros((len(uniques), 2))
    fin = np.zeros((len(uniques), 2))
    np.add.at(pos, (codes, arm), frame["pos"].to_numpy())
    np.add.at(fin, (codes, arm), frame["y"].to_numpy())

    def ratio(p: np.ndarray, f: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray((p[..., 1] / f[..., 1]) / (p[..., 0] / f[..., 0]))

    rate_t = pos[:, 1].sum() / fin[:, 1].sum() if fin[:, 1].sum() else float("nan")
    rate_c = pos[:, 0].sum() / fin[:, 0].sum() if fin[:, 0].sum() else float("nan")
    n = len(frame)
    method = f"ratio of positive-outcome rates, place-cluster bootstrap ({bootstrap}) percentile CI"
    if not (rate_c > 0) or not math.isfinite(rate_t):
        return OutcomeResult(
            "positive_outcome_rate",
            "RoR",
            None,
            None,
            None,
            None,
            None,
            n,
            method,
            mean_treatment=None if math.isnan(rate_t) else rate_t,
            mean_control=None if math.isnan(rate_c) else rate_c,
            notes=(*notes, "no positive outcome among control crimes with a final outcome."),
        )
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(uniques), size=(bootstrap, len(uniques)))
    draws = ratio(pos[pick].sum(axis=1), fin[pick].sum(axis=1))
    draws = draws[np.isfinite(draws)]
    lo, hi = np.quantile(draws, [alpha / 2, 1 - alpha / 2]) if draws.size else (np.nan, np.nan)
    notes.append(
        f"{int(fin.sum()):,} crimes with a final outcome ({rate_t:.1%} positive on treated, {rate_c:.1%} on "
        "control place-days); crimes still under investigation are not counted."
    )
    return OutcomeResult(
        "positive_outcome_rate",
        "RoR",
        rate_t / rate_c,
        float(lo),
        float(hi),
        None,
        None,
        n,
        method,
        mean_treatment=rate_t,
        mean_control=rate_c,
        notes=tuple(notes),
    )


def consort_counts(panel: pd.DataFrame, *, target_minutes: float) -> dict[str, Any]:
    """CONSORT-style flow of place-days (docs/methods.md §5.3): allocated per arm; with a known outcome;
    treated place-days that got the target dose (``dose_minutes ≥ target_minutes``), got some but less,
    or none; control place-days with a recorded visit (contamination). Dose figures are ``None`` when
    the panel has no dose (no patrol data).

    Business-as-usual presence (``bau``), when the panel has radio/AVLS columns (``bau_minutes``,
    ``bau_visits``): per arm, the place-days with any such presence and the mean minutes per place-day,
    ``Σ bau_minutes / place-days`` (every officer's radio, tasked or not: the background both arms get).
    ``None`` without those columns, or when no place-day has any (no AVLS file was imported)."""
    arm = panel["arm"].astype(str)
    out: dict[str, Any] = {
        "allocated": {"treatment": int((arm == TREATMENT).sum()), "control": int((arm != TREATMENT).sum())},
        "target_minutes": target_minutes,
        "bau": _bau_presence(panel, arm == TREATMENT),
    }
    if "sv_count" in panel.columns:
        known = pd.to_numeric(panel["sv_count"], errors="coerce").notna()
        out["outcome_known"] = {
            "treatment": int((known & (arm == TREATMENT)).sum()),
            "control": int((known & (arm != TREATMENT)).sum()),
        }
    dose = pd.to_numeric(panel["dose_minutes"], errors="coerce") if "dose_minutes" in panel.columns else None
    if dose is None or dose.isna().all():
        out.update(
            treated_full_dose=None, treated_partial_dose=None, treated_no_dose=None, control_visited=None
        )
        return out
    d = dose.fillna(0.0)
    t = arm == TREATMENT
    out.update(
        treated_full_dose=int((t & (d >= target_minutes)).sum()),
        treated_partial_dose=int((t & (d > 0) & (d < target_minutes)).sum()),
        treated_no_dose=int((t & (d <= 0)).sum()),
        control_visited=int((~t & (d > 0)).sum()),
        mean_dose_minutes={"treatment": float(d[t].mean()), "control": float(d[~t].mean())},
    )
    return out


def _bau_presence(panel: pd.DataFrame, treated: pd.Series) -> dict[str, Any] | None:
    """Radio/AVLS presence per arm (see :func:`consort_counts`)."""
    if "bau_minutes" not in panel.columns:
        return None
    minutes = pd.to_numeric(panel["bau_minutes"], errors="coerce").fillna(0.0)
    visits = (
        pd.to_numeric(panel["bau_visits"], errors="coerce").fillna(0)
        if "bau_visits" in panel.columns
        else (minutes > 0).astype(int)
    )
    present = (minutes > 0) | (visits > 0)
    if not present.any():
        return None
    out: dict[str, Any] = {"place_days_present": {}, "mean_minutes": {}}
    for name, mask in (("treatment", treated), ("control", ~treated)):
        n = int(mask.sum())
        out["place_days_present"][name] = int((present & mask).sum())
        out["mean_minutes"][name] = float(minutes[mask].sum() / n) if n else None
    return out


def buffer_displacement(
    panel: pd.DataFrame,
    *,
    rings: Sequence[tuple[int, int]],
    outcome: str = "sv_count",
    alpha: float = 0.05,
    covariates: Sequence[str] = ("place", "day_of_week"),
    allocations: Callable[[pd.DataFrame], np.ndarray] | None = None,
) -> list[dict[str, Any]]:
    """Crime in each catchment ring on treated vs control place-days, and the WDQ (issue 12, part 5).

    For ring column ``B`` (:func:`rasure.trial.displacement.buffer_column`), on the place-days where
    both ``outcome`` and ``B`` are known:

    * the buffer incidence-rate ratio, treated vs control days: :func:`nb_itt` on ``B`` (the primary
      model, so a buffer IRR below 1 is diffusion of benefit, above 1 displacement);
    * the Weighted Displacement Quotient (Bowers & Johnson 2003) adapted to a crossover trial: "before"
      is the control place-days and "after" the treated ones of the same places; the control area's
      role (background change) is taken by exposure, the number of place-days in each arm, because
      randomisation makes the two arms alike in calendar time. So with ``R``/``B`` hot-spot/buffer
      crimes and ``n`` place-days, ``SM = R_T/n_T − R_C/n_C``, ``BDM = B_T/n_T − B_C/n_C``,
      ``WDQ = BDM/SM`` (``None`` unless ``SM < 0``) and ``TNE = (R_C·n_T/n_C − R_T) + (B_C·n_T/n_C − B_T)``, the net crimes
      prevented on treated place-days in hot spots and rings together.

    Rings whose column is not in the panel are returned with ``"computed": False`` and the reason.
    """
    out: list[dict[str, Any]] = []
    for inner, outer in rings:
        col = buffer_column(inner, outer)
        entry: dict[str, Any] = {"ring_m": [inner, outer], "column": col}
        if col not in panel.columns or outcome not in panel.columns:
            out.append({**entry, "computed": False, "reason": f"the panel has no {col} column."})
            continue
        b = pd.to_numeric(panel[col], errors="coerce")
        r = pd.to_numeric(panel[outcome], errors="coerce")
        known = b.notna() & r.notna()
        treated = (panel["arm"] == TREATMENT) & known
        control = (panel["arm"] != TREATMENT) & known
        n_t, n_c = int(treated.sum()), int(control.sum())
        r_t, r_c = float(r[treated].sum()), float(r[control].sum())
        b_t, b_c = float(b[treated].sum()), float(b[control].sum())
        entry.update(
            computed=True,
            place_days={"treatment": n_t, "control": n_c},
            hotspot_crimes={"treatment": r_t, "control": r_c},
            buffer_crimes={"treatment": b_t, "control": b_c},
            buffer_mean={"treatment": b_t / n_t if n_t else None, "control": b_c / n_c if n_c else None},
        )
        try:
            wdq = weighted_displacement_quotient(
                r_before=r_c, r_after=r_t, b_before=b_c, b_after=b_t, c_before=n_c, c_after=n_t
            )
        except DisplacementError as exc:
            entry.update(
                wdq=None, success_measure=None, buffer_displacement_measure=None, total_net_effect=None
            )
            entry["interpretation"] = f"WDQ not computed: {exc}"
        else:
            entry.update(
                wdq=wdq.wdq,
                success_measure=wdq.success_measure,
                buffer_displacement_measure=wdq.buffer_displacement_measure,
                total_net_effect=wdq.total_net_effect,
            )
            if wdq.success_measure >= 0 or wdq.wdq is None:
                entry["wdq"] = None  # Bowers & Johnson: read only when the hot spots improved (SM < 0)
                entry["interpretation"] = (
                    "no less crime in the hot spots on treated days, so the WDQ is not meaningful."
                )
            elif wdq.wdq > 0:
                entry["interpretation"] = (
                    "the ring also had less crime on treated days (diffusion of benefit)."
                )
            elif wdq.wdq < -1:
                entry["interpretation"] = "the ring gained more crime than the hot spots lost (displacement)."
            elif wdq.wdq < 0:
                entry["interpretation"] = (
                    "the ring gained some crime, less than the hot spots lost (displacement)."
                )
            else:
                entry["interpretation"] = "no change in the ring."
            if entry["wdq"] is not None:
                entry["interpretation"] += " More than chance? See the buffer IRR's interval."
        try:
            irr = nb_itt(
                panel.loc[known], outcome=col, alpha=alpha, covariates=covariates, allocations=allocations
            )
            entry["buffer_irr"] = irr.to_json_dict()
        except EvaluationError as exc:
            entry["buffer_irr"] = None
            entry["interpretation"] += f" Buffer IRR not computed: {exc}"
        out.append(entry)
    return out


#: Dose bands (minutes of recorded presence on the place-day) for the dose–response table.
DOSE_BANDS: tuple[tuple[float, float | None], ...] = ((0, 0), (0, 15), (15, 30), (30, None))


def dose_response(
    panel: pd.DataFrame,
    *,
    dose_column: str = "dose_minutes",
    outcome: str = "sv_count",
    per_minutes: float = 15.0,
    alpha: float = 0.05,
    covariates: Sequence[str] = ("place", "day_of_week"),
) -> dict[str, Any]:
    """Minutes of presence vs crime: OBSERVATIONAL, not a randomised comparison (issue 12, part 4).

    Dose is not randomised (officers may stay longer where trouble is brewing, or patrol less on busy
    days), so these figures are associations. Two parts, on place-days with a known outcome:

    * a table by dose band (:data:`DOSE_BANDS`: none, under 15, 15 to under 30, 30 minutes or more):
      place-days and mean ``outcome`` per place-day, in each arm;
    * the NB2 model of the primary analysis with the dose added, in units of ``per_minutes``:
      ``log μ_id = α_i + β·T_id + δ·(dose_id / per_minutes) + γ_dow(d)``; reported ``e^δ``, the rate
      ratio per ``per_minutes`` extra minutes at the same place, weekday and arm, with its
      place-clustered 95 % CI and Wald p (:func:`fit_nb`, checked against statsmodels).

    ``{"computed": False, "reason": ...}`` when the panel has no dose or no recorded presence.
    """
    base: dict[str, Any] = {
        "observational": True,
        "pre_specified": False,
        "dose_column": dose_column,
        "label": "exploratory and observational: presence was not randomised and this analysis is not in "
        "the plan, so it shows association, not effect",
    }
    if dose_column not in panel.columns:
        return {**base, "computed": False, "reason": f"the panel has no {dose_column} column."}
    frame, notes = prepare_panel(panel, outcome=outcome)
    dose = pd.to_numeric(frame[dose_column], errors="coerce")
    if dose.isna().all() or float(dose.fillna(0).sum()) <= 0:
        return {**base, "computed": False, "reason": f"no presence recorded in {dose_column}."}
    if dose.isna().any():
        notes.append(f"{int(dose.isna().sum()):,} place-days without {dose_column} left out.")
    frame = frame.loc[dose.notna()].copy()
    frame["dose"] = dose[dose.notna()].astype(float).to_numpy()
    bands = []
    for lo, hi in DOSE_BANDS:
        if hi is None:
            mask, label = frame["dose"] >= lo, f"{lo:g} min or more"
        elif lo == hi:
            mask, label = frame["dose"] <= lo, "none"
        else:
            # half-open bands: a dose of exactly 15 minutes is in "15 to under 30", never in no band
            above = frame["dose"] > lo if lo == 0 else frame["dose"] >= lo
            mask = above & (frame["dose"] < hi)
            label = f"under {hi:g} min" if lo == 0 else f"{lo:g} to under {hi:g} min"
        row: dict[str, Any] = {"band": label}
        for arm_name, t in (("treatment", 1.0), ("control", 0.0)):
            sel = mask & (frame["treated"] == t)
            n = int(sel.sum())
            row[arm_name] = {"place_days": n, "mean": float(frame.loc[sel, "y"].mean()) if n else None}
        bands.append(row)
    out = {**base, "computed": True, "per_minutes": per_minutes, "bands": bands}
    fitted, dropped = _drop_eventless_places(frame)
    notes += dropped
    fitted["dose_per"] = fitted["dose"] / per_minutes
    if fitted.empty or fitted["dose_per"].nunique() < 2 or fitted["place"].nunique() < 2:
        out.update(rate_ratio=None, ci_low=None, ci_high=None, p_value=None, n_place_days=len(fitted))
        notes.append("too few places or too little variation in presence to fit the model.")
    else:
        fit = fit_nb(fitted, covariates=covariates, term="dose_per", extra=["dose_per"])
        rr, lo_ci, hi_ci = fit.ratio_ci(alpha)
        out.update(rate_ratio=rr, ci_low=lo_ci, ci_high=hi_ci, p_value=fit.p_value, n_place_days=fit.n)
    out["notes"] = notes
    return out


@dataclass(frozen=True)
class EvaluationReport:
    """Every outcome of a plan, with the plan and whether it was pre-registered (committed)."""

    outcomes: tuple[OutcomeResult, ...]
    plan: dict[str, Any]
    pre_registered: bool
    notes: tuple[str, ...]
    cost_benefit: dict[str, Any] | None = None
    consort: dict[str, Any] | None = None
    displacement: list[dict[str, Any]] | None = None
    dose_response: dict[str, Any] | None = None
    #: the Koper curve (:func:`rasure.trial.koper.koper_curve`; needs visit-level data, so the database)
    koper: dict[str, Any] | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "outcomes": [o.to_json_dict() for o in self.outcomes],
            "plan": self.plan,
            "pre_registered": self.pre_registered,
            "notes": list(self.notes),
            "cost_benefit": self.cost_benefit,
            "consort": self.consort,
            "displacement": self.displacement,
            "dose_response": self.dose_response,
            "koper": self.koper,
        }


def evaluate(
    panel: pd.DataFrame,
    *,
    plan: AnalysisPlan,
    pre_registered: bool,
    entries: Sequence[tuple[str, str, str | None]] | None = None,
    design: TrialDesign | None = None,
    bootstrap_seed: int = 20261201,
    schedule_algorithm: str = SCHEDULE_ALGORITHM,
) -> EvaluationReport:
    """Run ``plan`` on the panel: the primary outcome, then each secondary outcome it names.

    With the committed frozen set (``entries``: hot spot id, stratum, pair or block) and ``design``,
    randomisation p-values re-draw ``plan.randomisation_draws`` schedules (with the trial's committed
    ``schedule_algorithm``); without them they are
    ``None`` and a note says why. Outcomes the panel cannot give are reported with a reason, never
    silently dropped. Every figure here follows the plan; nothing exploratory is added.
    """
    alpha = plan.alpha_value
    covariates = tuple(plan.covariates)
    notes: list[str] = []
    if not pre_registered:
        notes.append(
            "the analysis plan was NOT pre-registered: the trial was committed before plans were part of "
            "the commitment, so Rasure's default plan was applied at evaluation time."
        )
    allocations: Callable[[pd.DataFrame], np.ndarray] | None = None
    if entries is not None and design is not None and plan.randomisation_draws > 0:
        cache: dict[int, np.ndarray] = {}

        def allocations(frame: pd.DataFrame) -> np.ndarray:
            # the same rows give the same re-draws: key on the place-days themselves
            key = hash(tuple(zip(frame["trial_day"], frame["place"], strict=True)))
            if key not in cache:
                cache[key] = redrawn_allocations(
                    frame,
                    entries=entries,
                    design=design,
                    draws=plan.randomisation_draws,
                    schedule_algorithm=schedule_algorithm,
                )
            return cache[key]
    else:
        notes.append("randomisation p-values not computed: the committed design was not given.")
    outcomes = [
        nb_itt(
            panel, outcome=plan.primary_outcome, alpha=alpha, covariates=covariates, allocations=allocations
        )
    ]
    for name in plan.secondary_outcomes:
        if name == "sv_any":
            outcomes.append(prevalence_rr(panel, alpha=alpha, covariates=covariates, allocations=allocations))
        elif name == "harm_days":
            if "harm_days" in panel.columns:
                outcomes.append(
                    harm_ratio_of_means(panel, alpha=alpha, seed=bootstrap_seed, allocations=allocations)
                )
            else:
                notes.append("harm_days: not in the panel, not computed.")
        elif name == "carryover":
            for lag in plan.carryover_lags:
                outcomes.append(carryover_irr(panel, lag=lag, alpha=alpha, covariates=covariates))
        elif name == "positive_outcome_rate":
            if {"sv_positive_outcome", "sv_final_outcome"} <= set(panel.columns):
                outcomes.append(positive_outcome_ratio(panel, alpha=alpha, seed=bootstrap_seed))
            else:
                notes.append(
                    "positive_outcome_rate: the panel has no sv_positive_outcome/sv_final_outcome columns "
                    "(exported before they existed); not computed."
                )
    displacement = buffer_displacement(
        panel,
        rings=plan.buffers_m,
        outcome=plan.primary_outcome,
        alpha=alpha,
        covariates=covariates,
        allocations=allocations,
    )
    for ring in displacement:
        if not ring["computed"]:
            notes.append(f"displacement ring {ring['ring_m'][0]}–{ring['ring_m'][1]} m: {ring['reason']}")
    return EvaluationReport(
        tuple(outcomes),
        plan.to_json_dict(),
        pre_registered,
        tuple(notes),
        displacement=displacement,
        dose_response=dose_response(panel, outcome=plan.primary_outcome, alpha=alpha, covariates=covariates),
    )
