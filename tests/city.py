"""The synthetic city the tests share, on a fixed calendar.

Every test that needs Rasure Demo Town uses :data:`CITY_END`, never today's date: the city, its hot
spots and their geometry then do not change on the first of a month. The generated frames are made
once per test process (generation is pure and deterministic); storing them is per test, inside the
test's own database transaction: for real the first time in a test process, then as a copy of the rows
the real store wrote (:mod:`tests.stored_state`).
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import Any

from rasure.synth import SyntheticCity, generate_city
from tests.stored_state import replayed

#: The last day of the synthetic city used by every test.
CITY_END = date(2026, 10, 31)
#: A fixed "now" for tests of today's patrol list, trial day and caps: a Wednesday morning in
#: November 2026, after the city ends (as a live system would be), 10:00 in London (GMT).
TEST_NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
CITY_SEED = 20260401


@functools.cache
def city(scale: float = 0.3, seed: int = CITY_SEED) -> SyntheticCity:
    """The generated city (cached per process; treat it as read-only)."""
    return generate_city(end=CITY_END, scale=scale, seed=seed)


def store_city(scale: float = 0.3) -> dict[str, int]:
    """Store the city in the test database (areas, records, people, officers, institutions).

    The first call in a test process is the real :func:`synthetic_city_store`; later calls on an
    empty database insert the same rows again (:mod:`tests.stored_state`)."""
    from rasure_web.crimes.services import synthetic_city_store

    return replayed(("city", scale), lambda: synthetic_city_store(city(scale)))


def store_city_with_hotspots(scale: float = 0.3, top: int = 6) -> Any:
    """Store the city and build its hot spots (``top`` day and ``top`` night at most, no Gi*
    permutations); returns the analysis run."""
    from rasure.hotspots.analysis import HotspotParams
    from rasure_web.analysis.models import AnalysisRun
    from rasure_web.analysis.services import hotspots_build

    def build() -> Any:
        store_city(scale)
        return hotspots_build(params=HotspotParams(top=top, gi_permutations=0))

    # as store_city: the real build once per test process, the same rows again afterwards
    return replayed(
        ("city with hot spots", scale, top), build, lambda run: AnalysisRun.objects.get(pk=run.pk)
    )


def only_force_id() -> int:
    """The pk of the installation's only force (the synthetic city's), for calls that take a force."""
    from rasure_web.accounts.tenancy import resolve_force

    return resolve_force(None).pk
