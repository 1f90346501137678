"""AVLS / radio location CSV reader and presence in many hot spots (rasure.patrol.avls)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box
from shapely.geometry.base import BaseGeometry

from rasure.errors import InputFileError, InvalidRowsError
from rasure.geo import projected_to_lonlat
from rasure.patrol.avls import (
    AVLS_PARAMS,
    HotspotsError,
    presence_in_hotspots,
    read_avls,
)
from rasure.patrol.dose import DoseParams, find_visits
from tests.core.test_dose import drive_park_drive, drive_through, walk_in_loiter_out

E0, N0 = 530_000.0, 180_000.0  # central London, British National Grid
HOTSPOT = box(E0 - 100, N0 - 100, E0 + 100, N0 + 100)


def _shift(pings: pd.DataFrame, dx: float = E0, dy: float = N0) -> pd.DataFrame:
    return pings.assign(x=pings["x"] + dx, y=pings["y"] + dy)


def _write(tmp_path: Path, text: str, name: str = "avls.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_lonlat_file_with_call_signs_gives_a_foot_visit(tmp_path: Path) -> None:
    pings = _shift(walk_in_loiter_out(np.random.default_rng(1), interval_s=30.0))
    lon, lat = projected_to_lonlat(pings["x"].to_numpy(), pings["y"].to_numpy())
    rows = [
        f"TV21,{t.strftime('%Y-%m-%dT%H:%M:%SZ')},{la:.7f},{lo:.7f}"
        for t, lo, la in zip(pings["fix_time"], lon, lat, strict=True)
    ]
    path = _write(tmp_path, "Call Sign,Timestamp,Latitude,Longitude\n" + "\n".join(rows) + "\n")
    avls = read_avls(path)
    assert avls.coordinates == "lonlat"
    assert avls.rows_read == len(pings)
    assert dict(avls.columns) == {
        "call_sign": "Call Sign",
        "time": "Timestamp",
        "lat": "Latitude",
        "lon": "Longitude",
    }
    assert np.allclose(avls.pings["x"], pings["x"], atol=0.1)
    presence = presence_in_hotspots(avls.pings, {"H1": HOTSPOT, "far": Point(E0 + 5000, N0).buffer(100)})
    assert list(presence["hotspot_id"]) == ["H1"]
    assert list(presence["officer"]) == ["TV21"]
    assert list(presence["mode"]) == ["foot"]
    assert presence["minutes"].iloc[0] == pytest.approx(17.5, abs=1.0)


def test_grid_file_with_split_date_and_time_in_uk_local_time(tmp_path: Path) -> None:
    text = (
        "Collar No,Date,Time,Easting,Northing,Speed (mph)\n"
        "1234,01/07/2024,14:00:00,530000,180000,0\n"
        "1234,01/07/2024,14:01:00,530010,180000,\n"
    )
    avls = read_avls(_write(tmp_path, text))
    assert avls.coordinates == "grid"
    # 14:00 BST is 13:00 UTC.
    assert avls.pings["fix_time"].iloc[0] == pd.Timestamp("2024-07-01 13:00", tz="UTC")
    assert list(avls.pings["line"]) == [2, 3]
    assert avls.pings["officer"].tolist() == ["1234", "1234"]
    assert avls.pings["speed_mps"].iloc[0] == 0.0
    utc = read_avls(_write(tmp_path, text, "utc.csv"), naive_tz="UTC")
    assert utc.pings["fix_time"].iloc[0] == pd.Timestamp("2024-07-01 14:00", tz="UTC")


def test_offsets_and_formats(tmp_path: Path) -> None:
    text = (
        "officer,datetime,easting,northing\n"
        "A,2024-05-31T14:03:07+01:00,530000,180000\n"
        "A,2024-05-31 13:04:07Z,530000,180000\n"
        "A,31/05/2024 14:05:07,530000,180000\n"
        "A,31/05/2024 14:06,530000,180000\n"
    )
    times = read_avls(_write(tmp_path, text)).pings["fix_time"]
    expected = pd.to_datetime(
        ["2024-05-31 13:03:07", "2024-05-31 13:04:07", "2024-05-31 13:05:07", "2024-05-31 13:06:00"], utc=True
    )
    assert list(times) == list(expected)


def test_every_bad_row_is_reported_and_nothing_imported(tmp_path: Path) -> None:
    text = (
        "officer,time,lat,lon\n"
        "A,2024-05-01 12:00:00,51.5,-0.12\n"
        "A,2024-13-45 12:01:00,51.5,-0.12\n"
        "A,2024-05-01 12:02:00,north,-0.12\n"
        "A,2024-05-01 12:03:00,0,0\n"
        ",2024-05-01 12:04:00,51.5,-0.12\n"
        "A,2024-05-01 12:05:00,-0.12,51.5\n"
        "A,2024-03-31 01:30:00,51.5,-0.12\n"
        "A,2024-05-01,51.5,-0.12\n"
        "A,2024-05-01 12:08:00,151.5,-0.12\n"
    )
    path = _write(tmp_path, text)
    with pytest.raises(InvalidRowsError) as info:
        read_avls(path)
    problems = {(p.line, p.field): p for p in info.value.problems}
    assert set(problems) == {
        (3, "time"),
        (4, "lat"),
        (5, "lat"),
        (6, "officer"),
        (7, "lon"),
        (8, "time"),
        (9, "time"),
        (10, "lat"),
    }
    assert "not a date-time" in problems[(3, "time")].reason
    assert problems[(4, "lat")].reason == "is not a number"
    assert "no fix" in problems[(5, "lat")].reason
    assert "outside Great Britain" in problems[(7, "lon")].reason
    assert "clock change" in problems[(8, "time")].reason
    assert "no time of day" in problems[(9, "time")].reason
    assert str(path) in str(info.value)
    assert "line 3" in str(info.value)
    assert "How to fix" in str(info.value)


def test_swapped_lon_lat_hint(tmp_path: Path) -> None:
    path = _write(tmp_path, "officer,time,lat,lon\nA,2024-05-01 12:00:00,120.0,51.5\n")
    with pytest.raises(InvalidRowsError, match="swapped"):
        read_avls(path)


def test_missing_and_ambiguous_columns(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"missing column\(s\): officer or call sign") as info:
        read_avls(_write(tmp_path, "time,lat,lon\n2024-05-01 12:00:00,51.5,-0.1\n"))
    assert "line 1" in str(info.value)
    with pytest.raises(InputFileError, match="lon and lat, or easting and northing"):
        read_avls(_write(tmp_path, "officer,time,lat\nA,2024-05-01 12:00:00,51.5\n", "b.csv"))
    with pytest.raises(InputFileError, match="both mean 'lon'"):
        read_avls(
            _write(tmp_path, "officer,time,lat,lon,Longitude\nA,2024-05-01 12:00,51.5,-0.1,-0.1\n", "c.csv")
        )


def test_grid_outside_bng_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "officer,time,easting,northing\nA,2024-05-01 12:00:00,180000,5300000\n")
    with pytest.raises(InvalidRowsError, match="outside the British National Grid"):
        read_avls(path)


def _many_hotspots() -> dict[str, BaseGeometry]:
    spots: dict[str, BaseGeometry] = {}
    for i in range(-5, 6):
        for j in range(-5, 6):
            spots[f"H{i:+d}{j:+d}"] = box(
                E0 + 200 * i - 75, N0 + 200 * j - 75, E0 + 200 * i + 75, N0 + 200 * j + 75
            )
    return spots


def test_presence_in_many_hotspots_matches_one_by_one() -> None:
    rng = np.random.default_rng(21)
    officers = {
        "walker": _shift(walk_in_loiter_out(rng, interval_s=30.0), E0 + 20, N0 + 30),
        "driver": _shift(drive_park_drive(rng, interval_s=30.0), E0 + 400, N0 + 400),
        "passer": _shift(drive_through(rng, interval_s=5.0), E0, N0 - 600),
    }
    pings = pd.concat([p.assign(officer=name) for name, p in officers.items()], ignore_index=True)
    spots = _many_hotspots()
    presence = presence_in_hotspots(pings, spots)
    expected = []
    for name, p in officers.items():
        for hid, geom in spots.items():
            v = find_visits(p, geom, params=AVLS_PARAMS)
            if not v.empty:
                expected.append(v.assign(hotspot_id=hid, officer=name))
    want = pd.concat(expected, ignore_index=True)[list(presence.columns)]
    want = want.sort_values(["hotspot_id", "officer", "start"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(presence, want)
    modes = presence.groupby("officer")["mode"].agg(set).to_dict()
    assert modes["walker"] == {"foot"}
    assert "stopped" in modes["driver"]
    assert modes["passer"] == {"drive_through"}
    parked = presence[(presence["officer"] == "driver") & (presence["mode"] == "stopped")]
    assert parked["hotspot_id"].tolist() == ["H+2+2"]


def test_hotspot_frame_input_and_errors() -> None:
    pings = _shift(walk_in_loiter_out(np.random.default_rng(2), interval_s=30.0)).assign(officer="A")
    frame = pd.DataFrame({"hotspot_id": [7], "geometry": [HOTSPOT]})
    assert presence_in_hotspots(pings, frame)["hotspot_id"].tolist() == [7]
    with pytest.raises(HotspotsError, match="'bad' has no usable polygon"):
        presence_in_hotspots(pings, {"bad": Point(E0, N0)})
    with pytest.raises(HotspotsError, match="hotspot_id"):
        presence_in_hotspots(pings, pd.DataFrame({"id": [1], "geometry": [HOTSPOT]}))
    with pytest.raises(HotspotsError, match="repeat"):
        presence_in_hotspots(pings, pd.DataFrame({"hotspot_id": [1, 1], "geometry": [HOTSPOT, HOTSPOT]}))
    assert presence_in_hotspots(pings.iloc[0:0], {"H": HOTSPOT}).empty


def test_five_minute_pings_need_a_longer_carry() -> None:
    """Airwave at 5-minute intervals: the default carry credits 2 of every 5 minutes (module docstring)."""
    times = pd.Timestamp("2024-05-01 12:00", tz="UTC") + pd.to_timedelta(np.arange(0, 31, 5), unit="min")
    x = np.r_[E0 - 500, np.full(5, E0), E0 - 500]
    pings = pd.DataFrame({"officer": "R1", "fix_time": times, "x": x, "y": N0})
    default = presence_in_hotspots(pings, {"H": HOTSPOT})
    assert default["minutes"].iloc[0] == pytest.approx(4 * 2 + 2 * 1)
    sparse = DoseParams(
        vehicle_min_fixes=1,
        carry_gap=timedelta(minutes=5, seconds=30),
        max_gap=timedelta(minutes=5, seconds=30),
    )
    assert presence_in_hotspots(pings, {"H": HOTSPOT}, params=sparse)["minutes"].iloc[0] == pytest.approx(
        25.0
    )


def test_sparse_drive_through_is_missed_or_drive_through() -> None:
    """60 s pings and a car at 30 mph (module docstring): never mistaken for a stop or a foot visit."""
    rng = np.random.default_rng(5)
    modes: list[str] = []
    for offset_s in range(0, 60, 6):
        pings = drive_through(rng, interval_s=1.0).iloc[offset_s::60].assign(officer="V1")
        modes += presence_in_hotspots(_shift(pings), {"H": HOTSPOT})["mode"].tolist()
    assert set(modes) <= {"drive_through"}
    assert len(modes) < 10  # most passes leave no fix inside the 200 m square
