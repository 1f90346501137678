"""The pre-registered analysis plan of a trial (issue 12, part 1).

The plan says, before any outcome is seen, how the trial will be analysed: the primary outcome and
model, its covariates and the level the standard errors are clustered at, the significance level,
the number of re-drawn schedules for randomisation inference, the carry-over lags, the secondary
outcomes and the displacement buffers. ``rasure trial commit`` puts it in the public manifest
(protocol ``rasure-commitment-v2``, :mod:`rasure.trial.commitment`), so it is part of the SHA-256
commitment: a plan changed after the commitment no longer verifies. The evaluation
(:mod:`rasure.trial.evaluation`) runs exactly this plan; anything else it reports is labelled
exploratory.

Trials committed before plans existed (protocol ``rasure-commitment-v1``) have none: they are
evaluated with :data:`DEFAULT_PLAN`, recorded in the results and marked *not pre-registered*.

Like the rest of the manifest the plan holds no floats (canonical JSON must be the same in every
language): the significance level is the decimal text ``"0.05"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from rasure.trial.design import TrialError

PLAN_VERSION = "rasure-analysis-plan-v1"

#: Outcomes the evaluation knows: the primary must be a count.
PRIMARY_OUTCOMES = ("sv_count",)
SECONDARY_OUTCOMES = ("harm_days", "sv_any", "positive_outcome_rate", "carryover")
MODELS = ("negative_binomial_glm",)
COVARIATES = ("place", "day_of_week")


class AnalysisPlanError(TrialError):
    """An analysis plan is malformed (unknown outcome or model, a bad alpha, ...)."""


@dataclass(frozen=True)
class AnalysisPlan:
    """What the evaluation will do, fixed before the data are seen (module docstring).

    ``alpha`` is decimal text (``"0.05"``); ``buffers_m`` are ``(inner, outer)`` ring radii in metres
    around each hot spot (docs/methods.md: 0-250 m and 250-500 m by default [U]);
    ``carryover_lags`` are the lags in days of the lagged-treatment terms of the carry-over analysis;
    ``randomisation_draws`` is how many other schedules randomisation inference re-draws.
    """

    primary_outcome: str = "sv_count"
    model: str = "negative_binomial_glm"
    covariates: tuple[str, ...] = ("place", "day_of_week")
    cluster: str = "place"
    alpha: str = "0.05"
    randomisation_draws: int = 999
    carryover_lags: tuple[int, ...] = (1,)
    secondary_outcomes: tuple[str, ...] = SECONDARY_OUTCOMES
    buffers_m: tuple[tuple[int, int], ...] = ((0, 250), (250, 500))
    version: str = field(default=PLAN_VERSION)

    def __post_init__(self) -> None:
        if self.version != PLAN_VERSION:
            raise AnalysisPlanError(f"plan version {self.version!r} is not {PLAN_VERSION!r}.")
        if self.primary_outcome not in PRIMARY_OUTCOMES:
            raise AnalysisPlanError(
                f"primary_outcome {self.primary_outcome!r} is not one of {list(PRIMARY_OUTCOMES)}."
            )
        if self.model not in MODELS:
            raise AnalysisPlanError(f"model {self.model!r} is not one of {list(MODELS)}.")
        bad = [c for c in self.covariates if c not in COVARIATES]
        if bad:
            raise AnalysisPlanError(f"covariates {bad} are not among {list(COVARIATES)}.")
        if self.cluster != "place":
            raise AnalysisPlanError(f"cluster must be 'place' (the unit randomised), got {self.cluster!r}.")
        try:
            a = Decimal(self.alpha)
        except InvalidOperation as exc:
            raise AnalysisPlanError(f"alpha must be decimal text like '0.05', got {self.alpha!r}.") from exc
        if not (Decimal(0) < a < Decimal("0.5")):
            raise AnalysisPlanError(f"alpha must lie between 0 and 0.5, got {self.alpha}.")
        if not isinstance(self.randomisation_draws, int) or not 0 <= self.randomisation_draws <= 100_000:
            raise AnalysisPlanError(
                f"randomisation_draws must be a whole number 0-100000, got {self.randomisation_draws!r}."
            )
        if any((not isinstance(lag, int)) or lag < 1 or lag > 28 for lag in self.carryover_lags):
            raise AnalysisPlanError(f"carryover_lags must be whole days 1-28, got {self.carryover_lags}.")
        bad = [o for o in self.secondary_outcomes if o not in SECONDARY_OUTCOMES]
        if bad:
            raise AnalysisPlanError(f"secondary outcomes {bad} are not among {list(SECONDARY_OUTCOMES)}.")
        for ring in self.buffers_m:
            if len(ring) != 2 or not (0 <= ring[0] < ring[1] <= 5000):
                raise AnalysisPlanError(
                    f"buffer {ring} must be (inner, outer) metres with 0 <= inner < outer <= 5000."
                )

    @property
    def alpha_value(self) -> float:
        return float(Decimal(self.alpha))

    def to_json_dict(self) -> dict[str, Any]:
        """The plan as it goes into the manifest: text, whole numbers and lists only."""
        return {
            "version": self.version,
            "primary_outcome": self.primary_outcome,
            "model": self.model,
            "covariates": list(self.covariates),
            "cluster": self.cluster,
            "alpha": self.alpha,
            "randomisation_draws": self.randomisation_draws,
            "carryover_lags": list(self.carryover_lags),
            "secondary_outcomes": list(self.secondary_outcomes),
            "buffers_m": [list(r) for r in self.buffers_m],
        }

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any], *, where: str = "the analysis plan") -> AnalysisPlan:
        """Read a plan written by :meth:`to_json_dict` (or by hand); unknown fields are refused."""
        if not isinstance(data, Mapping):
            raise AnalysisPlanError(f"{where} must be a JSON object.")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise AnalysisPlanError(f"{where} has unknown fields {unknown}; the fields are {sorted(names)}.")
        kw: dict[str, Any] = dict(data)
        try:
            for name in ("covariates", "secondary_outcomes"):
                if name in kw:
                    kw[name] = tuple(str(x) for x in kw[name])
            if "carryover_lags" in kw:
                kw["carryover_lags"] = tuple(kw["carryover_lags"])
            if "buffers_m" in kw:
                kw["buffers_m"] = tuple(tuple(r) for r in kw["buffers_m"])
            if "alpha" in kw:
                kw["alpha"] = str(kw["alpha"])
        except TypeError as exc:
            raise AnalysisPlanError(f"{where}: {exc}") from exc
        try:
            return cls(**kw)
        except AnalysisPlanError as exc:
            raise AnalysisPlanError(f"{where}: {exc}") from exc


DEFAULT_PLAN = AnalysisPlan()
