"""The whole hot-spot build on the synthetic city, whose planted hot spots are known."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
import shapely

from rasure.classify import classify
from rasure.harm import harm_days
from rasure.hotspots.analysis import HotspotAnalysis, HotspotParams, analyse, to_csv_frame, to_geojson
from rasure.institutions import make_register
from rasure.synth import SyntheticCity, generate_city


@lru_cache(maxsize=1)
def _city() -> SyntheticCity:
    return generate_city(end=date(2026, 10, 31))


def _records(city: SyntheticCity) -> pd.DataFrame:
    r = city.records
    return pd.concat([r, classify(r), harm_days(r)], axis=1)


@lru_cache(maxsize=3)
def _result(with_register: bool = True, by_name: bool = True) -> HotspotAnalysis:
    city = _city()
    reg = make_register(city.institutions, source="synthetic") if with_register else None
    params = HotspotParams(top=10, gi_permutations=99, detect_institutions_by_name=by_name)
    return analyse(_records(city), params=params, register=reg)


def _nearest_planted(x: float, y: float) -> tuple[str, float]:
    h = _city().hotspots
    d = np.hypot(h["easting"] - x, h["northing"] - y)
    i = int(np.argmin(d))
    return str(h["kind"].iloc[i]), float(d.iloc[i])


def test_night_economy_tops_the_night_list() -> None:
    hs = _result().hotspots
    top_night = hs[(hs["period"] == "night") & (hs["rank"] == 1)].iloc[0]
    kind, dist = _nearest_planted(top_night["easting"], top_night["northing"])
    assert kind == "nte" and dist < 500
    assert top_night["gi_z"] > 5 and top_night["gi_q"] < 0.05
    assert any("night" in f for f in top_night["facts"])


def test_institutions_are_held_out_and_reported() -> None:
    res = _result()
    held = res.held_out
    assert {"day", "night"} <= set(held["period"])
    assert held["exclusion_reason"].str.contains("HMP Rasure Demo").any()
    assert held["exclusion_reason"].str.contains("A&E").any()
    inst = _city().institutions
    for hs in res.hotspots.itertuples():
        for row in inst.itertuples():
            assert not hs.geometry.buffer(-1).contains(shapely.Point(row.easting, row.northing))
    # with no register, the prison is still found by its location name
    by_name = _result(with_register=False).held_out
    assert by_name["exclusion_reason"].str.contains("detected automatically").any()
    # with neither, the prison would top the day list
    naive = _result(with_register=False, by_name=False).hotspots
    top = naive[(naive["period"] == "day") & (naive["rank"] == 1)].iloc[0]
    d = np.hypot(inst["easting"] - top["easting"], inst["northing"] - top["northing"]).min()
    assert d < 200


def test_endurance_classes_match_the_planted_truth() -> None:
    hs = _result().hotspots
    for kind, expected in (("emerging", {"emerging"}), ("cooling", {"cooling", "intermittent"})):
        planted = _city().hotspots.query("kind == @kind").iloc[0]
        d = np.hypot(hs["easting"] - planted["easting"], hs["northing"] - planted["northing"])
        near = hs[d < 300]
        if kind == "emerging":
            assert len(near) and set(near["persistence"]) <= expected
        else:  # a cooling place may have dropped out of the list entirely
            assert near.empty or set(near["persistence"]) <= expected


def test_spacing_geofences_and_ranks() -> None:
    res = _result()
    p = res.params
    for period, group in res.hotspots.groupby("period"):
        assert list(group["rank"]) == list(range(1, len(group) + 1))
        xy = group[["easting", "northing"]].to_numpy()
        for i in range(len(xy)):
            for j in range(i + 1, len(xy)):
                assert np.hypot(*(xy[i] - xy[j])) >= p.min_spacing_m - p.cell_size_m * 2
        for g in group.itertuples():
            assert g.geometry.is_valid and g.geometry.area == pytest.approx(p.cell_size_m**2 * g.patrol_areas)
            assert g.count >= p.min_count and g.harm > 0 and len(g.facts) >= 3
        assert period in ("day", "night")


def test_month_only_data_ranks_all_hours() -> None:
    recs = _records(_city()).copy()
    recs["time_precision"] = "month"
    res = analyse(recs, params=HotspotParams(top=5, gi_permutations=0))
    assert set(res.hotspots["period"]) == {"all"}
    assert any("known only to the month" in n for n in res.notes)
    assert any("no peak hours" in f for f in res.hotspots["facts"].iloc[0])


def test_outputs_and_determinism() -> None:
    res = _result()
    gj = to_geojson(res)
    f = gj["features"][0]
    for key in (
        "rank",
        "count",
        "harm",
        "gi_z",
        "gi_q",
        "period",
        "persistence",
        "institution_share",
        "facts",
    ):
        assert key in f["properties"]
    lon, lat = f["geometry"]["coordinates"][0][0]
    assert -2 < lon < 0 and 51 < lat < 52
    assert len(to_csv_frame(res)) == len(res.hotspots)
    again = analyse(
        _records(_city()), params=res.params, register=make_register(_city().institutions, source="synthetic")
    )
    assert again.input_hash == res.input_hash
    pd.testing.assert_frame_equal(
        again.hotspots.drop(columns=["geometry", "facts", "cells", "main_offences"]),
        res.hotspots.drop(columns=["geometry", "facts", "cells", "main_offences"]),
    )


def test_hexagons() -> None:
    res = analyse(_records(_city()), params=HotspotParams(top=5, shape="hex", gi_permutations=0))
    g = res.hotspots.iloc[0]
    assert g.geometry.area == pytest.approx(40_000 * g.patrol_areas, rel=1e-6)


@pytest.mark.realdata
def test_thames_valley_institutions_detected_by_name(shared_data: object) -> None:
    """Real police.uk data, no register: prisons and Broadmoor are held out automatically."""
    from pathlib import Path

    from rasure.ingest.common import expand_paths
    from rasure.ingest.policeuk import read_policeuk

    files = expand_paths([str(Path(str(shared_data)) / "policeuk" / "thames-valley")])
    recs = pd.concat([read_policeuk(f).records for f in files], ignore_index=True)
    recs = pd.concat([recs, classify(recs), harm_days(recs)], axis=1)
    res = analyse(recs, params=HotspotParams(window_months=5, gi_permutations=0))
    assert set(res.hotspots["period"]) == {"all"}
    reasons = " ".join(res.held_out["exclusion_reason"]).lower()
    assert "broadmoor hospital" in reasons and "woodhill prison" in reasons
    assert "hospital hill" not in reasons
    names = " ".join(res.hotspots["name"]).lower()
    assert "prison" not in names and "broadmoor" not in names
    c = res.concentration["all"]
    assert 0 < c.places_for_shares[0.5] < 0.02  # half of serious violence in under 2% of cells
