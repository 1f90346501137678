"""The columnar police.uk path of ``rasure hotspots analyse`` (``read_street_files``: pyarrow columns
from the parse to the frame, checks and conversions per distinct value) gives what the record path
gives (each file read whole by ``read_policeuk``, joined, later file wins), down to the analysis
output; and bad input is refused by both with the same file, line and field."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rasure import classify as sv
from rasure import harm as harm_mod
from rasure.errors import InvalidRowsError
from rasure.hotspots.analysis import HotspotParams, analyse, to_csv_frame, to_geojson
from rasure.ingest.policeuk import STREET_COLUMNS, read_policeuk, read_street_files
from tests.city import city

_UNREAD = ["lsoa_name", "last_outcome", "last_outcome_month"]


def _record_path(files: list[Path]) -> pd.DataFrame:
    """Each file read whole and validated row by row, joined; a later file's row wins."""
    parsed = [p for p in (read_policeuk(f) for f in files) if p.kind == "street"]
    recs = pd.concat([p.records for p in parsed], ignore_index=True)
    return recs.drop_duplicates(subset=["source", "reference"], keep="last").reset_index(drop=True)


def _city_files(folder: Path) -> list[Path]:
    """The synthetic city as monthly police.uk street files, with what real files hold: anti-social
    behaviour rows without a Crime ID (some identical, so their repeat number matters), a Crime ID
    listed twice in a file and re-published in a later month, No Location rows, values padded with
    spaces, and a few crimes recorded far outside the force's area (still in the UK)."""
    r = city(0.3).records
    month = r["occurred_from"].dt.strftime("%Y-%m")
    frame = pd.DataFrame(
        {
            "Crime ID": r["reference"].astype(str),
            "Month": month,
            "Reported by": "Synthetic Constabulary",
            "Falls within": "Synthetic Constabulary",
            "Longitude": r["lon"].round(6).astype(str),
            "Latitude": r["lat"].round(6).astype(str),
            "Location": r["location_text"].fillna("On or near High Street"),
            "LSOA code": r["lsoa_code"].fillna(""),
            "LSOA name": r["lsoa_name"].fillna(""),
            "Crime type": r["category"],
            "Last outcome category": r["last_outcome"].fillna(""),
            "Context": "",
        }
    )
    rng = np.random.default_rng(7)
    asb = frame.sample(n=len(frame) // 5, random_state=1).assign(
        **{"Crime ID": "", "Crime type": "Anti-social behaviour", "Last outcome category": ""}
    )
    twins = asb.iloc[:50]  # the same ASB incident text twice in its month: two records, two keys
    relisted = frame.iloc[:30]  # a crime listed twice in its file (the first row is kept)
    no_location = frame.sample(n=40, random_state=2).assign(
        **{
            "Crime ID": lambda f: f["Crime ID"] + "-nl",
            "Longitude": "",
            "Latitude": "",
            "Location": "No Location",
        }
    )
    far = frame.sample(n=12, random_state=3).assign(  # recorded by the force in London
        **{"Crime ID": lambda f: f["Crime ID"] + "-far", "Longitude": "-0.1276", "Latitude": "51.5072"}
    )
    rows = pd.concat([frame, asb, twins, relisted, no_location, far], ignore_index=True)
    pad = rng.random(len(rows)) < 0.05
    rows.loc[pad, "Location"] = "  " + rows.loc[pad, "Location"] + " "
    rows.loc[pad, "Month"] = " " + rows.loc[pad, "Month"]
    files = []
    months = sorted(rows["Month"].str.strip().unique())
    for i, m in enumerate(months):
        part = rows[rows["Month"].str.strip() == m]
        if i:  # the previous month's first crimes re-published in this file: the later row wins
            again = rows[rows["Month"].str.strip() == months[i - 1]].iloc[:3].assign(Month=m)
            again = again[again["Crime ID"] != ""]
            part = pd.concat([part, again.assign(Location="On or near Moved Street")])
        path = folder / f"{m}-synthetic-street.csv{'.gz' if i % 2 else ''}"
        part[STREET_COLUMNS].to_csv(path, index=False)
        files.append(path)
    return files


def _analysed(records: pd.DataFrame) -> tuple[dict[str, object], pd.DataFrame]:
    table = harm_mod.default_harm_table()
    recs = pd.concat([records, sv.classify(records), harm_mod.harm_days(records, table=table)], axis=1)
    result = analyse(recs, params=HotspotParams(top=10, gi_permutations=99))
    return to_geojson(result), to_csv_frame(result)


def test_columnar_path_equals_record_path_on_a_synthetic_city(tmp_path: Path) -> None:
    files = _city_files(tmp_path)
    got, want = read_street_files(files), _record_path(files)
    assert (got["reference"].str.startswith("asb-")).sum() > 100  # the ASB rows are there, keyed
    assert got["easting"].isna().sum() == 40  # No Location rows kept, without a point
    pd.testing.assert_frame_equal(got.drop(columns=_UNREAD), want.drop(columns=_UNREAD))
    assert got[_UNREAD].isna().all().all()
    got_json, got_csv = _analysed(got)
    want_json, want_csv = _analysed(want)
    assert got_json == want_json  # input hash, hot spots, held-out places and notes alike
    assert "far outside the main study area" in " ".join(got_json["properties"]["notes"])  # type: ignore[index]
    pd.testing.assert_frame_equal(got_csv, want_csv)


def _bad_files(folder: Path, **values: str) -> list[Path]:
    """Three monthly files, the third (plain CSV) with ``values`` on its line 6."""
    files = _city_files(folder)[:3]
    frame = pd.read_csv(files[2], dtype=str, keep_default_na=False)
    for field, value in values.items():
        frame.loc[4, field] = value  # row 4 is on line 6 (the header is line 1)
    frame.to_csv(files[2], index=False)
    return files


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({"Latitude": "91.5"}, "Latitude", "is not a latitude"),
        ({"Month": "2024-13"}, "Month", "is not a month"),
        ({"Latitude": ""}, "Latitude", "only one of Longitude/Latitude"),
        ({"Location": "x" * 301}, "Location", "longer than 300"),
    ],
)
def test_bad_row_refused_by_both_paths_with_file_line_and_field(
    tmp_path: Path, values: dict[str, str], field: str, reason: str
) -> None:
    files = _bad_files(tmp_path, **values)
    with pytest.raises(InvalidRowsError) as columnar:
        read_street_files(files)
    with pytest.raises(InvalidRowsError) as record:
        _record_path(files)
    assert columnar.value.file == record.value.file == str(files[2])
    assert [(p.line, p.field, p.reason) for p in columnar.value.problems] == [
        (p.line, p.field, p.reason) for p in record.value.problems
    ]
    first = columnar.value.problems[0]
    assert (first.line, first.field) == (6, field) and reason in first.reason


def test_point_outside_the_crs_area_refused_by_both_paths(tmp_path: Path) -> None:
    """A Welsh point is outside the area of use of UTM zone 18N (New York): refused, by line."""
    files = _city_files(tmp_path)[:2]
    with pytest.raises(InvalidRowsError) as columnar:
        read_street_files(files, crs="EPSG:32618")
    with pytest.raises(InvalidRowsError) as record:
        read_policeuk(files[0], crs="EPSG:32618")
    assert columnar.value.file == str(files[0])
    assert [(p.line, p.field) for p in columnar.value.problems] == [
        (p.line, p.field) for p in record.value.problems
    ]
    assert "outside the area of use" in columnar.value.problems[0].reason


@pytest.mark.realdata
def test_stability_on_real_gwent_files_is_scipy_spearman_to_the_bit(shared_data: Path) -> None:
    """Spearman's ρ between years of the real Gwent street files' cell counts (36 months, every cell
    of the grid, zeros and ties included), as the hot-spot stability gives it, is to the last bit
    ``scipy.stats.spearmanr``: the analysis computes it without importing ``scipy.stats`` (most of a
    second of every run), and its output must not move."""
    from scipy.stats import spearmanr

    from rasure.hotspots.endurance import place_window_counts, stability
    from rasure.hotspots.places import all_cells, assign_cells, grid_for

    files = sorted((shared_data / "policeuk" / "gwent").glob("*-street.csv.gz"))
    recs = read_street_files(files)
    recs = recs[sv.classify(recs)["serious_violence"].to_numpy() & recs["easting"].notna().to_numpy()]
    x, y = recs["easting"], recs["northing"]
    core = x.between(*x.quantile([0.005, 0.995])) & y.between(*y.quantile([0.005, 0.995]))
    recs = recs[core.to_numpy()]  # the force's area, not the crimes it recorded far away
    grid = grid_for(recs["easting"], recs["northing"], cell_size_m=150.0)
    cells = assign_cells(grid, recs["easting"], recs["northing"])
    year = recs["occurred_from"].dt.year.astype(str).to_numpy(dtype=object)
    order = sorted(set(year))
    counts = place_window_counts(cells, year, places=all_cells(grid), window_order=order)
    assert len(order) >= 3 and (counts.to_numpy() == 0).mean() > 0.5  # many tied zeros
    got = stability(counts, top_k=40)["spearman_rho"].tolist()
    want = [
        float(spearmanr(counts[a].to_numpy(dtype=float), counts[b].to_numpy(dtype=float)).statistic)
        for a, b in itertools.pairwise(order)
    ]
    assert got == want  # exact, not approximate
