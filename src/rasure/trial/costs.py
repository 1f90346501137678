"""Cost–benefit of the patrols (issue 12, R4; docs/methods.md §7).

``prevented = μ_C × (1 − IRR) × N_T``: serious-violence crimes prevented, with ``μ_C`` the control
mean per place-day and ``N_T`` the treated place-days. ``benefit = prevented × cost_per_crime ×
uprating + Σ value lines``; ``cost = patrol_hours × officers_per_patrol × officer_hour_cost``;
``BCR = benefit / cost``. The IRR's confidence limits are carried through (benefit is monotone in the
IRR), so the BCR interval is the BCR at ``IRR_high`` and at ``IRR_low``.

Every default is ``[U]``: configurable and printed with its source, never as fact. The cost per crime
defaults to the Home Office figure for *violence with injury*, £14,050 per offence at 2015/16 prices
(Heeks et al. 2018, *The economic and social costs of crime*, 2nd ed., HO Research Report 99, as quoted
in the press; verify against Table 1 of the report); it is not uprated unless ``uprating`` (the ratio of
GDP deflators, target year / 2015-16) is set. The hourly officer cost defaults to £52 (a 2007
Derbyshire charging rate, as reported): set the force's own rate (NPCC charging guidelines).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rasure.trial.design import TrialError


class CostInputError(TrialError):
    """A cost input is impossible (negative, or no patrol hours)."""


@dataclass(frozen=True)
class ValueLine:
    """Another value per crime prevented that a force adds (health, early intervention, ...), with its source."""

    name: str
    value_per_crime: float
    source: str


@dataclass(frozen=True)
class UnitCosts:
    cost_per_crime: float = 14_050.0
    cost_source: str = "[U] HO RR99 (Heeks et al. 2018) violence with injury, per offence, 2015/16 prices"
    price_year: str = "2015/16"
    uprating: float = 1.0
    officer_hour_cost: float = 52.0
    officer_hour_source: str = (
        "[U] £52 per officer-hour (Derbyshire 2007 charging rate): set the force's rate"
    )
    officers_per_patrol: int = 2
    value_lines: tuple[ValueLine, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for name in ("cost_per_crime", "uprating", "officer_hour_cost"):
            if getattr(self, name) < 0:
                raise CostInputError(f"{name} must not be negative, got {getattr(self, name)}.")
        if self.officers_per_patrol < 1:
            raise CostInputError(f"officers_per_patrol must be at least 1, got {self.officers_per_patrol}.")

    @property
    def value_per_crime(self) -> float:
        return self.cost_per_crime * self.uprating + sum(v.value_per_crime for v in self.value_lines)


@dataclass(frozen=True)
class CostBenefit:
    prevented: float
    prevented_low: float
    prevented_high: float
    benefit: float
    cost: float
    bcr: float
    bcr_low: float
    bcr_high: float
    patrol_hours: float
    sensitivity: tuple[dict[str, float], ...]
    assumptions: tuple[str, ...]

    def to_json_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def cost_benefit(
    *,
    control_rate: float,
    irr: float,
    irr_low: float,
    irr_high: float,
    treated_place_days: int,
    patrol_hours: float,
    costs: UnitCosts,
) -> CostBenefit:
    """The cost–benefit figures (module docstring), with a sensitivity table of the BCR for the hourly
    cost and the cost per crime at half, as given, and double."""
    if patrol_hours <= 0:
        raise CostInputError("patrol_hours must be positive: no patrol time, no cost to compare with.")
    if control_rate < 0 or treated_place_days < 0:
        raise CostInputError("control_rate and treated_place_days must not be negative.")

    def prevented(ratio: float) -> float:
        return control_rate * (1.0 - ratio) * treated_place_days

    value = costs.value_per_crime
    cost = patrol_hours * costs.officers_per_patrol * costs.officer_hour_cost
    n, lo, hi = prevented(irr), prevented(irr_high), prevented(irr_low)
    sensitivity = tuple(
        {
            "hour_cost_factor": h,
            "crime_cost_factor": c,
            "bcr": n * value * c / (cost * h) if cost > 0 else float("inf"),
        }
        for h in (0.5, 1.0, 2.0)
        for c in (0.5, 1.0, 2.0)
    )
    ratio = (lambda b: b / cost) if cost > 0 else (lambda b: float("inf"))
    assumptions = (
        costs.cost_source + (f", uprated × {costs.uprating:g}" if costs.uprating != 1 else ", not uprated"),
        costs.officer_hour_source,
        f"[U] {costs.officers_per_patrol} officers per patrol",
        *(
            f"value line {v.name}: £{v.value_per_crime:,.0f} per crime ({v.source})"
            for v in costs.value_lines
        ),
    )
    return CostBenefit(
        prevented=n,
        prevented_low=lo,
        prevented_high=hi,
        benefit=n * value,
        cost=cost,
        bcr=ratio(n * value),
        bcr_low=ratio(lo * value),
        bcr_high=ratio(hi * value),
        patrol_hours=patrol_hours,
        sensitivity=sensitivity,
        assumptions=assumptions,
    )
