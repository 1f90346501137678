"""Tests for rasure.synth: the synthetic city (SYNTHETIC DATA) has the features it promises."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import shapely
from numpy.typing import NDArray

from rasure import synth
from rasure.records import LINK_COLUMNS, RECORD_COLUMNS, LinkRole, TimePrecision, Weapon
from rasure.synth import SERIOUS_VIOLENCE_CODES, SYNTHETIC_NOTICE, SyntheticCity, generate_city

END = date(2026, 2, 28)
CELL_M = 150.0


@pytest.fixture(scope="module")
def city() -> SyntheticCity:
    return generate_city(seed=20260401, years=3, end=END)


def _serious(records: pd.DataFrame) -> pd.DataFrame:
    return records[records["offence_code"].isin(SERIOUS_VIOLENCE_CODES)]


def _cells(frame: pd.DataFrame) -> pd.Series:
    cx = np.floor(frame["easting"].to_numpy() / CELL_M).astype(np.int64)
    cy = np.floor(frame["northing"].to_numpy() / CELL_M).astype(np.int64)
    return pd.Series(cx * 100_000 + cy, index=frame.index)


def _in_geometry(frame: pd.DataFrame, geometry: shapely.Geometry) -> NDArray[np.bool_]:
    points = shapely.points(frame["easting"].to_numpy(), frame["northing"].to_numpy())
    return np.asarray(shapely.covers(geometry, points), dtype=bool)


def test_records_conform_to_the_canonical_schema(city: SyntheticCity) -> None:
    r = city.records
    assert list(r.columns) == list(RECORD_COLUMNS)
    assert {c: str(t) for c, t in r.dtypes.items()} == {
        c: str(pd.Series(dtype=t).dtype) for c, t in RECORD_COLUMNS.items()
    }
    assert 15_000 <= len(r) <= 30_000
    assert not r.duplicated(["source", "reference"]).any()
    assert r["reference"].str.fullmatch(r"SYN-\d{4}-\d{6}").all()
    assert (r["time_precision"] == TimePrecision.MINUTE.value).all()
    assert (r["occurred_to"] >= r["occurred_from"]).all()
    assert (r["reported_date"] >= r["occurred_to"]).all()
    assert r["occurred_from"].min() >= pd.Timestamp(city.start)
    assert r["reported_date"].max() < pd.Timestamp(END) + pd.Timedelta(days=1)
    assert (r["occurred_from"].dt.second == 0).all()
    assert set(r["weapon"]) <= {w.value for w in Weapon}
    assert r["domestic"].notna().all()
    assert "Anti-social behaviour" not in set(r["category"])
    assert r[["lon", "lat", "easting", "northing", "lsoa_code", "last_outcome"]].notna().all().all()
    assert r["last_outcome_month"].str.fullmatch(r"\d{4}-\d{2}").all()
    assert (r["last_outcome_month"] <= END.strftime("%Y-%m")).all()


def test_offence_codes_carry_their_descriptions_and_categories(city: SyntheticCity) -> None:
    r = city.records
    pairs = r[["offence_code", "offence_description", "category"]].drop_duplicates()
    for code, desc, cat in pairs.itertuples(index=False):
        assert synth.OFFENCES[code] == (desc, cat)
    assert set(SERIOUS_VIOLENCE_CODES) - {"1", "2"} <= set(r["offence_code"])
    assert {
        "Violence and sexual offences",
        "Public order",
        "Robbery",
        "Possession of weapons",
        "Criminal damage and arson",
        "Shoplifting",
        "Burglary",
        "Other theft",
        "Vehicle crime",
    } == set(r["category"])


def test_lon_lat_agree_with_easting_northing(city: SyntheticCity) -> None:
    from rasure.geo import lonlat_to_projected

    r = city.records.sample(500, random_state=0)
    e, n = lonlat_to_projected(r["lon"].to_numpy(), r["lat"].to_numpy())
    assert np.allclose(e, r["easting"], atol=0.01) and np.allclose(n, r["northing"], atol=0.01)
    x0, y0, x1, y1 = city.bounds
    assert r["easting"].between(x0, x1).all() and r["northing"].between(y0, y1).all()


def test_same_seed_gives_identical_frames() -> None:
    a = generate_city(seed=7, years=1, end=END, scale=0.3)
    b = generate_city(seed=7, years=1, end=END, scale=0.3)
    for name in ("records", "links", "persons", "institutions", "officers"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    pd.testing.assert_frame_equal(a.areas.drop(columns="geometry"), b.areas.drop(columns="geometry"))
    c = generate_city(seed=8, years=1, end=END, scale=0.3)
    assert not a.records["easting"].equals(c.records["easting"])


def test_period_and_scale() -> None:
    small = generate_city(seed=1, years=1, end=date(2024, 12, 31), scale=0.25)
    assert small.start == date(2024, 1, 1) and small.end == date(2024, 12, 31)
    assert 1_000 < len(small.records) < 3_000
    with pytest.raises(ValueError, match="years"):
        generate_city(years=0, end=END)
    with pytest.raises(ValueError, match="scale"):
        generate_city(scale=0.0, end=END)
    assert synth.default_end(date(2026, 3, 15)) == date(2026, 2, 28)


def test_about_half_of_serious_violence_is_in_five_percent_of_cells(city: SyntheticCity) -> None:
    """Denominator: ALL 150 m cells of the town's extent (the definition in generate_city's docstring)."""
    sv = _serious(city.records)
    counts = _cells(sv).value_counts()
    x0, y0, x1, y1 = city.bounds
    n_cells = (int((x1 - 1e-6) // CELL_M) - int(x0 // CELL_M) + 1) * (
        int((y1 - 1e-6) // CELL_M) - int(y0 // CELL_M) + 1
    )
    top = int(np.ceil(0.05 * n_cells))
    share = counts.iloc[:top].sum() / len(sv)
    assert 0.40 <= share <= 0.60, share
    # Residential burglary follows where people live: far less concentrated.
    burglary = city.records[city.records["offence_code"] == "28E"]
    b_counts = _cells(burglary).value_counts()
    assert b_counts.iloc[:top].sum() / len(burglary) < share - 0.15


def test_night_time_economy_peaks_on_friday_and_saturday_nights(city: SyntheticCity) -> None:
    nte = city.hotspots.loc[city.hotspots["kind"] == "nte", "geometry"].iloc[0]
    r = city.records
    violence = r[(r["category"] == "Violence and sexual offences") & _in_geometry(r, nte)]
    assert len(violence) > 500
    hour = violence["occurred_from"].dt.hour
    night = (hour >= 18) | (hour < 6)
    assert night.mean() > 0.60
    late = (hour >= 22) | (hour < 3)
    assert late.mean() > 0.5
    # Weekday of the night: 01:00 on a Saturday belongs to Friday night.
    night_of = (violence["occurred_from"] - pd.Timedelta(hours=6)).dt.day_of_week
    assert night_of.isin([4, 5]).mean() > 0.5  # 2/7 ≈ 0.29 if flat
    # Elsewhere, violence is spread more evenly through the day and the week.
    rest = r[(r["category"] == "Violence and sexual offences") & ~_in_geometry(r, nte)]
    rest_hour = rest["occurred_from"].dt.hour
    assert ((rest_hour >= 18) | (rest_hour < 6)).mean() < night.mean() - 0.2


def test_institutions_top_a_naive_ranking(city: SyntheticCity) -> None:
    r = city.records
    sv = _serious(r)
    counts = _cells(sv).value_counts()
    inst = city.institutions
    assert set(inst["type"]) == {"prison", "hospital"}
    inst_cells = set(_cells(inst).tolist())
    assert set(counts.index[:2]) == inst_cells
    e, n = r["easting"].to_numpy(), r["northing"].to_numpy()
    for row in inst.to_dict("records"):
        near = np.hypot(e - row["easting"], n - row["northing"]) <= row["radius_m"]
        at_point = (e == row["easting"]) & (n == row["northing"])
        assert near.sum() >= 500
        assert at_point.sum() > 0.7 * near.sum()  # recorded at the institution's address point
        assert (r.loc[at_point, "location_text"] == row["location_text"]).all()
    # Outsized: each beats the busiest cell that is not an institution by a clear margin.
    street_best = counts[~counts.index.isin(inst_cells)].iloc[0]
    assert counts[list(inst_cells)].min() > 1.3 * street_best


def test_emerging_and_cooling_hot_spots(city: SyntheticCity) -> None:
    r = city.records
    last_year = r["occurred_from"] >= pd.Timestamp(END) - pd.Timedelta(days=364)
    first_year = r["occurred_from"] < pd.Timestamp(city.start) + pd.Timedelta(days=365)
    for kind in ("emerging", "cooling", "persistent"):
        for spot in city.hotspots[city.hotspots["kind"] == kind].itertuples(index=False):
            inside = _in_geometry(r, spot.geometry)
            early, late = int((inside & first_year).sum()), int((inside & last_year).sum())
            if kind == "emerging":
                assert late > 80 and early < 0.2 * late, (spot.name, early, late)
            elif kind == "cooling":
                assert early > 80 and late < 0.4 * early, (spot.name, early, late)
            else:
                assert early > 20 and 0.5 < late / early < 2, (spot.name, early, late)


def test_every_record_lies_in_its_neighbourhood(city: SyntheticCity) -> None:
    r = city.records
    areas = city.areas
    nb = areas[areas["kind"] == "neighbourhood"].set_index("code")
    assert len(nb) == 40
    geoms = nb.loc[r["lsoa_code"].to_numpy(), "geometry"].to_numpy()
    points = shapely.points(r["easting"].to_numpy(), r["northing"].to_numpy())
    assert shapely.covers(geoms, points).all()
    assert (nb.loc[r["lsoa_code"].to_numpy(), "name"].to_numpy() == r["lsoa_name"].to_numpy()).all()


def test_areas_nest_and_tile_the_town(city: SyntheticCity) -> None:
    a = city.areas
    force = a[a["kind"] == "force"]
    lpas = a[a["kind"] == "lpa"]
    nbs = a[a["kind"] == "neighbourhood"]
    assert force["name"].tolist() == ["Synthetic Constabulary"]
    assert sorted(lpas["name"]) == ["Central LPA", "North LPA", "South LPA"]
    assert (lpas["parent_code"] == force["code"].iloc[0]).all()
    town = force["geometry"].iloc[0]
    assert shapely.union_all(lpas["geometry"].to_numpy()).equals(town)
    assert abs(sum(g.area for g in nbs["geometry"]) - town.area) < 1.0
    for lpa in lpas.itertuples(index=False):
        children = nbs[nbs["parent_code"] == lpa.code]
        assert len(children) >= 5
        assert shapely.union_all(children["geometry"].to_numpy()).equals(lpa.geometry)


def test_links_and_repeat_offenders(city: SyntheticCity) -> None:
    links, persons, r = city.links, city.persons, city.records
    assert list(links.columns) == list(LINK_COLUMNS)
    assert set(links["role"]) == {role.value for role in LinkRole}
    assert links["reference"].isin(r["reference"]).all()
    assert set(links["person_id"]) == set(persons["person_id"])
    assert not links.duplicated().any()
    offenders = links[links["role"] != LinkRole.VICTIM.value]["person_id"].value_counts()
    top = int(np.ceil(0.05 * len(offenders)))
    assert offenders.iloc[:top].sum() >= 0.25 * offenders.sum()
    # Habitual knife carriers: several people with at least two knife offences.
    knife_refs = r.loc[r["weapon"] == Weapon.KNIFE.value, "reference"]
    knife = links[(links["role"] != LinkRole.VICTIM.value) & links["reference"].isin(knife_refs)]
    assert (knife["person_id"].value_counts() >= 2).sum() >= 20
    # Repeat victims exist, and histories span the years.
    victims = links[links["role"] == LinkRole.VICTIM.value]["person_id"].value_counts()
    assert (victims >= 5).sum() >= 20
    years = links.merge(r[["reference", "occurred_from"]], on="reference")
    span = years.groupby("person_id")["occurred_from"].agg(lambda s: s.dt.year.nunique())
    assert (span[offenders.index[:top]] >= 2).mean() > 0.8
    # Offender links only where a suspect was identified.
    no_suspect = r.loc[r["last_outcome"] == "Investigation complete; no suspect identified", "reference"]
    assert not links[links["role"] != LinkRole.VICTIM.value]["reference"].isin(no_suspect).any()


def test_weapons_and_domestic_flags_are_plausible(city: SyntheticCity) -> None:
    r = city.records
    violence = r[r["category"] == "Violence and sexual offences"]
    knife_share = (violence["weapon"] == Weapon.KNIFE.value).mean()
    assert 0.01 < knife_share < 0.08
    assert (r.loc[r["offence_code"] == "10D", "weapon"] == Weapon.KNIFE.value).all()
    domestic_share = violence["domestic"].mean()
    assert 0.2 < domestic_share < 0.45
    assert not r.loc[r["domestic"], "location_text"].str.contains("High Street|HMP|Hospital").any()
    intervals = r["occurred_to"] > r["occurred_from"]
    assert intervals[r["category"] == "Burglary"].mean() > 0.6
    assert not intervals[r["category"] == "Violence and sexual offences"].any()


def test_every_synthetic_label_is_present(city: SyntheticCity) -> None:
    r = city.records
    assert "SYNTHETIC" in SYNTHETIC_NOTICE and city.notice == SYNTHETIC_NOTICE
    assert synth.__doc__ is not None and "SYNTHETIC DATA" in synth.__doc__
    assert "SYNTHETIC DATA" in city.name
    assert (r["source"] == "synthetic").all() and (r["force"] == "Synthetic Constabulary").all()
    assert r["location_text"].str.endswith(")").all()
    assert r["location_text"].str.contains("(synthetic", regex=False).all()
    assert r["lsoa_code"].str.startswith("SYN").all() and r["lsoa_name"].str.contains("synthetic").all()
    assert city.links["person_id"].str.fullmatch(r"SYN-P\d{6}").all()
    assert (city.links["source"] == "synthetic").all()
    p = city.persons
    assert p["display_name"].str.startswith("Synthetic Person ").all() and p["synthetic"].all()
    assert p["year_of_birth"].between(1930, END.year - 15).all()
    o = city.officers
    assert 30 <= len(o) <= 50 and o["synthetic"].all()
    assert o["display_name"].str.contains("Synthetic").all()
    assert not o["collar_number"].duplicated().any()
    assert set(o["lpa_name"]) == {"North LPA", "Central LPA", "South LPA"}
    assert city.institutions["name"].str.contains("synthetic").all() and city.institutions["synthetic"].all()
    assert city.areas["synthetic"].all() and city.areas["code"].str.startswith("SYN").all()
    assert city.hotspots["name"].str.contains("synthetic").all()
