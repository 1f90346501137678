r"""From serious-violence records to a list of hot spots, each explaining why it is hot.

:func:`analyse` is the whole hot-spot build (docs/methods.md §1, §3; requirements D3, D5, D6, D7):

1. **Scope and window.** Serious-violence records with a location, in the window of
   ``window_months`` ending at ``end`` (default: the last date in the data). The previous
   window of the same length gives the trend.
2. **Periods.** Day (``day_start_hour``–``night_start_hour``) and night, ranked separately
   (TVP's 2 × 12 h split). A record's weight is split between day and night by the aoristic
   share of its from/to interval (Ratcliffe 2002); a day-precision record counts half to each.
   Records known only to the month (police.uk) cannot be placed in a period: if most records in
   the window are month-only the analysis ranks "all hours" and says so.
3. **Places.** Square cells (default 150 m) or hexagons (default 0.04 km²) in metres.
4. **Ranking.** By harm (CCHI days), ties by count; count is always reported beside harm. So
   that one homicide does not make a hot spot, each crime's harm is capped at the
   ``harm_cap_quantile`` (default p99) of the window's harm for ranking only (docs/methods.md §1.3),
   and a place needs at least ``min_count`` crimes in the window. Reported harm is uncapped.
5. **Gi\*.** Getis-Ord Gi* over every cell of the study grid (zeros included), queen
   contiguity with the cell itself (:func:`rasure.hotspots.gistar.gi_star`). ``gi_q`` is the
   Benjamini–Hochberg q-value of the two-sided normal p-value; the conditional-permutation
   p-value is reported beside it as ``gi_p_perm``, computed for the cells with at least
   ``min_count`` crimes only (the ones ranked and reported; the z-scores cover every cell). (With thousands of cells, permutation
   p-values bottom out at 1/(R+1) and no cell survives BH on them, so the analytic p is the
   one corrected for false discoveries.)
6. **Institutions (D5).** Places where one registered institution holds ≥ ``institution_share``
   of the harm, or whose centre is inside a prison/custody/hospital footprint, are held out of
   the patrol list and reported separately with their own figures; the next place moves up.
7. **Endurance.** With enough history, the place's top-K membership in each of the last
   ``endurance_windows`` windows gives a class: persistent, emerging, intermittent, cooling.
8. **Hot spots.** Walk the ranked cells: a cell touching a chosen hot spot joins it as another
   patrol area (up to ``max_patrol_areas``); a cell within ``min_spacing_m`` of a chosen hot
   spot is skipped; otherwise it starts a new hot spot, until ``top`` hot spots are chosen.
   The geofence is the union of the hot spot's cells.
9. **Why it is hot.** Facts from the data: count and harm, main offence types, peak days and
   hours (when times are known), trend against the previous window, Gi*, endurance.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from numpy.typing import NDArray

import rasure
from rasure.classify import basis_label
from rasure.geo import BNG, projected_to_lonlat
from rasure.hotspots.concentration import Concentration, concentration
from rasure.hotspots.endurance import classify_places, hot_places, place_window_counts, stability
from rasure.hotspots.gistar import gi_star
from rasure.hotspots.places import (
    Grid,
    HotspotInputError,
    all_cells,
    assign_cells,
    cell_centres,
    cell_polygons,
    cell_weights,
    grid_for,
)
from rasure.hotspots.wording import officer_facts
from rasure.hottimes import PeakSummary, day_night_shares, hot_times, peak_times
from rasure.institutions import InstitutionRegister, screen_places

Period = Literal["day", "night", "all"]
_RECORDING_ADDRESS = re.compile(r"police station|custody|magistrates|court", re.IGNORECASE)
ALGORITHM_VERSION = "hotspots-1"


@dataclass(frozen=True)
class HotspotParams:
    """Every choice the build makes, stored with its result so it can be reproduced."""

    cell_size_m: float = 150.0
    shape: Literal["square", "hex"] = "square"
    hex_area_m2: float = 40_000.0
    top: int = 40
    window_months: int = 12
    end: str | None = None  # ISO date; None = last date in the data
    day_start_hour: int = 6
    night_start_hour: int = 18
    periods: Literal["auto", "day-night", "all"] = "auto"
    min_spacing_m: float = 500.0
    max_patrol_areas: int = 3
    institution_share: float = 0.5
    gi_permutations: int = 999
    fdr_q: float = 0.05
    endurance_windows: int = 3
    endurance_m: int = 2
    min_count: float = 5.0  # a place needs at least this many crimes in the window to be a hot spot [U]
    harm_cap_quantile: float | None = 0.99  # cap each crime's harm for ranking (docs/methods.md §1.3)
    outlier_quantile: float = 0.005  # study area = this quantile box of the points plus outlier_margin_m
    outlier_margin_m: float = 2_000.0
    detect_institutions_by_name: bool = True  # hold out places dominated by e.g. "On or near Prison"
    hold_recording_addresses: bool = True  # hold out places dominated by e.g. "Police Station" (D5)
    recording_address_share: float = 0.3  # share of a place's crimes at that one address [U]
    crs: str = BNG  # the projected CRS (metres) of easting/northing
    seed: int = 20260401


@dataclass(frozen=True)
class HotspotAnalysis:
    """The result of :func:`analyse`.

    ``hotspots``: one row per hot spot (``rank`` within its ``period``), with ``geometry``
    (shapely, metres), ``count``, ``harm``, ``gi_z``, ``gi_q``, ``persistence``,
    ``institution_share``, ``facts`` (list of sentences) and more.
    ``held_out``: places kept off the patrol list as institutional, with their figures.
    ``concentration``: per period, how concentrated serious violence is across cells.
    ``stability``: rank correlation and overlap between consecutive windows.
    """

    hotspots: pd.DataFrame
    held_out: pd.DataFrame
    cells: pd.DataFrame
    concentration: dict[str, Concentration]
    stability: pd.DataFrame
    params: HotspotParams
    window_start: date
    window_end: date
    input_hash: str
    n_records: int
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: how serious violence was decided for the records ranked (says "police.uk approximation" when so)
    basis: str = ""
    version: str = f"{rasure.__version__}/{ALGORITHM_VERSION}"


#: The record columns :func:`analyse` reads after choosing the serious-violence rows (the hash reads more).
_USED_COLUMNS = frozenset(
    {
        "easting",
        "northing",
        "occurred_from",
        "occurred_to",
        "time_precision",
        "serious_violence",
        "harm_days",
        "location_text",
        "offence_description",
        "category",
        "sv_basis",
        "institution",
    }
)


def input_hash(records: pd.DataFrame) -> str:
    """SHA-256 over the records' identity and analysed values, independent of row order."""
    cols = [
        c
        for c in (
            "source",
            "reference",
            "easting",
            "northing",
            "occurred_from",
            "occurred_to",
            "harm_days",
            "serious_violence",
        )
        if c in records.columns
    ]
    # categorize=False: the same hashes (pandas documents it as a speed choice only), without first
    # factorizing the references, which are nearly all distinct. The source (a few distinct values) is
    # hashed as a categorical, its values once each: the same hashes when no value is missing.
    # A row's hash depends on that row only, so the rows are hashed a slice at a time (the same
    # hashes; only a slice of the references is ever held as Python strings).
    # The references (nearly all distinct) are hashed from their UTF-8 bytes: pandas hashes a text
    # by first encoding it to exactly those bytes, so the hashes are the same without one encode per
    # row (a missing reference is hashed by its text, so a column with any is hashed as it is).
    frame = records[cols]
    if "source" in cols and not frame["source"].isna().any():
        frame = frame.assign(source=frame["source"].astype("category"))
    as_bytes = (
        "reference" in cols
        and isinstance(frame["reference"].array, pd.arrays.ArrowStringArray)
        and not frame["reference"].hasnans
    )
    h = np.empty(len(frame), dtype=np.uint64)
    for start in range(0, len(frame), _HASH_ROWS):
        part = frame.iloc[start : start + _HASH_ROWS]
        if as_bytes:
            text = part["reference"].array.__arrow_array__()
            part = part.assign(reference=text.cast(pa.binary()).to_numpy(zero_copy_only=False))
        h[start : start + len(part)] = pd.util.hash_pandas_object(part, index=False, categorize=False)
    return hashlib.sha256(np.sort(h).tobytes()).hexdigest()


_HASH_ROWS = 200_000


def _window(records: pd.DataFrame, p: HotspotParams) -> tuple[pd.Timestamp, pd.Timestamp]:
    end = pd.Timestamp(p.end) + pd.Timedelta(days=1) if p.end else pd.Timestamp(records["occurred_to"].max())
    end = end.ceil("D") if end != end.normalize() else end
    start = end - pd.DateOffset(months=p.window_months)
    return pd.Timestamp(start), pd.Timestamp(end)


def _period_weights(recs: pd.DataFrame, p: HotspotParams) -> pd.DataFrame:
    """Day and night weight of each record (aoristic); NaN when only the month is known."""
    prec = recs["time_precision"].astype("string").fillna("month").to_numpy()
    shares = day_night_shares(
        recs["occurred_from"],
        recs["occurred_to"],
        day_start_hour=p.day_start_hour,
        night_start_hour=p.night_start_hour,
    )
    day = shares["day_share"].to_numpy(dtype=float).copy()
    day[prec == "day"] = 0.5
    day[prec == "month"] = np.nan
    return pd.DataFrame({"day": day, "night": 1.0 - day, "all": np.ones(len(recs))}, index=recs.index)


def analyse(
    records: pd.DataFrame,
    *,
    params: HotspotParams | None = None,
    register: InstitutionRegister | None = None,
    study_area: shapely.Geometry | None = None,
    decisions: pd.DataFrame | None = None,
) -> HotspotAnalysis:
    """Build hot spots from classified, harm-weighted records.

    ``records`` needs the canonical columns (:mod:`rasure.records`) plus ``serious_violence`` and
    ``harm_days`` (:func:`rasure.classify.classify`, :func:`rasure.harm.harm_days`). Without
    ``occurred_to`` a record's interval is its start. ``study_area`` (the force's area, metres) makes
    concentration count the cells of the force, not of the points' bounding box. ``decisions``
    (``location``, ``easting``, ``northing``, ``decision`` = ``keep_out`` | ``hot_spot``) are an
    analyst's earlier answers on held-apart places, reused here (see :func:`apply_decisions`).
    """
    p = params or HotspotParams()
    need = [
        c
        for c in ("easting", "northing", "occurred_from", "serious_violence", "harm_days")
        if c not in records.columns
    ]
    if need:
        raise HotspotInputError(f"records lack column(s) {need}; classify them and add harm first")
    if "occurred_to" not in records.columns:
        records = records.assign(occurred_to=records["occurred_from"])
    if "time_precision" not in records.columns:
        records = records.assign(time_precision="minute")
    east = pd.to_numeric(records["easting"], errors="coerce").to_numpy(dtype=float)
    north = pd.to_numeric(records["northing"], errors="coerce").to_numpy(dtype=float)
    located = np.isfinite(east) & np.isfinite(north)  # inf from a broken projection is not a location
    # Only the serious-violence rows, and only the columns the steps below read (every other column
    # would be copied by each row selection that follows).
    sv = records.loc[
        records["serious_violence"].astype(bool).to_numpy()
        & located
        & records["occurred_from"].notna().to_numpy(),
        [c for c in records.columns if c in _USED_COLUMNS],
    ]
    sv = sv.reset_index(drop=True)
    sv["occurred_to"] = sv["occurred_to"].fillna(sv["occurred_from"])
    if sv.empty:
        raise HotspotInputError("no serious-violence records with a location: nothing to rank")
    notes: list[str] = []
    sv = _study_area(sv, p, notes)
    start, end = _window(sv, p)
    span_months = (
        pd.Timestamp(sv["occurred_to"].max()) - pd.Timestamp(sv["occurred_from"].min())
    ).days / 30.44
    if span_months < p.window_months - 0.5:
        notes.append(
            f"the data cover about {span_months:.0f} months, less than the {p.window_months}-month window"
        )
    in_window = (sv["occurred_from"] >= start) & (sv["occurred_from"] < end)
    prev = (sv["occurred_from"] >= start - pd.DateOffset(months=p.window_months)) & (
        sv["occurred_from"] < start
    )
    span = _span(sv, start, end, p)
    cur = sv[in_window].reset_index(drop=True)
    if cur.empty:
        raise HotspotInputError(f"no serious-violence records between {start.date()} and {end.date()}")
    month_only = float((cur["time_precision"].astype("string") == "month").mean())
    periods: list[Period]
    if p.periods == "all" or (p.periods == "auto" and month_only > 0.5):
        periods = ["all"]
        if month_only > 0.5:
            notes.append(
                f"{month_only:.0%} of records are known only to the month (police.uk), so hot spots are "
                "ranked over all hours, not separately for day and night"
            )
    else:
        periods = ["day", "night"]
        if month_only > 0:
            notes.append(
                f"{month_only:.1%} of records are known only to the month and are left out of the "
                "day and night rankings"
            )

    grid = grid_for(
        sv["easting"],
        sv["northing"],
        cell_size_m=p.cell_size_m,
        shape=p.shape,
        hex_area_m2=p.hex_area_m2 if p.shape == "hex" else None,
    )
    sv = sv.assign(cell=assign_cells(grid, sv["easting"], sv["northing"]))
    cur = sv[in_window].reset_index(drop=True)
    prv = sv[prev].reset_index(drop=True)
    weights_cur = _period_weights(cur, p)
    weights_prv = _period_weights(prv, p)
    cells = all_cells(grid)
    w = cell_weights(grid, cells, include_self=True)

    endurance = _endurance(sv, grid, end=end, p=p, notes=notes)
    conc: dict[str, Concentration] = {}
    all_rows: list[pd.DataFrame] = []
    held: list[pd.DataFrame] = []
    chosen: list[pd.DataFrame] = []
    for period in periods:
        wc = weights_cur[period].fillna(0.0).to_numpy()
        cap = (
            float(np.nanquantile(cur["harm_days"].to_numpy(dtype=float), p.harm_cap_quantile))
            if p.harm_cap_quantile and cur["harm_days"].notna().any()
            else np.inf
        )
        cell_tab = _cell_table(cur, wc, weights_prv[period].fillna(0.0).to_numpy(), prv, cells, cap=cap)
        counts = cell_tab["count"].to_numpy()
        if counts.sum() <= 0:
            notes.append(f"no {period} records in the window")
            continue
        study_counts, n_study = _study_counts(counts, grid, cells, study_area)
        conc[period] = concentration(study_counts, n_places=n_study)
        # no harm weight known for any record (an offence-code system the harm table lacks): Gi* on counts
        gi_on = cell_tab["harm"] if cell_tab["harm"].sum() > 0 else cell_tab["count"]
        if gi_on is cell_tab["count"]:
            notes.append(f"[{period}] no harm weights for these records' offences: Gi* uses counts")
        # Permutation p-values only where they are reported: the cells that can be ranked.
        gi = gi_star(
            gi_on.to_numpy(),
            w,
            permutations=p.gi_permutations,
            seed=p.seed,
            permute_only=counts >= p.min_count,
        )
        cell_tab["gi_z"] = gi.z
        cell_tab["gi_q"] = gi.q_norm
        cell_tab["gi_p_perm"] = gi.p_perm if gi.p_perm is not None else np.nan
        cell_tab["period"] = period
        cell_tab = cell_tab.merge(endurance, on="cell", how="left")
        cell_tab["persistence"] = cell_tab["persistence"].fillna("insufficient history")
        ranked = cell_tab[cell_tab["count"] >= p.min_count].sort_values(
            ["rank_harm", "count"], ascending=False
        )
        ranked = ranked.reset_index(drop=True)
        cx, cy = cell_centres(grid, ranked["cell"].to_numpy())
        ranked["easting"], ranked["northing"] = cx, cy
        period_recs = cur[wc > 0].assign(harm_w=cur["harm_days"].to_numpy()[wc > 0])
        screen = screen_places(
            ranked.rename(columns={"cell": "place_id"}),
            period_recs.rename(columns={"cell": "place_id"}).assign(
                harm_days=period_recs["harm_days"].fillna(0.0)
            ),
            register=register,
            threshold=p.institution_share,
        )
        screened = screen.places.rename(columns={"place_id": "cell"})
        ranked["institution_share"] = screened["top_harm_share"].astype(float).fillna(0.0).to_numpy()
        ranked["institution"] = (
            screened["top_institution_name"].to_numpy() if "top_institution_name" in screened else None
        )
        ranked["review_location"] = screened["review"].to_numpy(dtype=bool)
        ranked["dominant_location"] = screened["dominant_location"].to_numpy()
        ranked["location_harm_share"] = screened["location_harm_share"].astype(float).to_numpy()
        ranked["excluded"] = screened["excluded"].to_numpy()
        ranked["exclusion_reason"] = screened["reason"].to_numpy()
        if p.detect_institutions_by_name:
            _detect_by_name(ranked, screen.review, p)
        if p.hold_recording_addresses:
            _hold_recording_addresses(ranked, cur[wc > 0], wc[wc > 0], p)
        if decisions is not None and len(decisions):
            apply_decisions(ranked, decisions, p)
        all_rows.append(ranked)
        # a boolean mask even when no place reaches min_count (an empty object column would select columns)
        excluded = ranked["excluded"].astype(bool).to_numpy()
        held.append(ranked[excluded].assign(period=period))
        if (~excluded).any():
            chosen.append(
                _select(
                    ranked[~excluded],
                    grid,
                    cur,
                    wc,
                    prv,
                    weights_prv[period].to_numpy(),
                    p,
                    period,
                    span=span,
                )
            )
        else:
            notes.append(
                f"no {period} place reaches {p.min_count:g} crimes in the window: no {period} hot spots"
            )
    hotspots = pd.concat(chosen, ignore_index=True) if chosen else pd.DataFrame()
    stab = (
        stability(endurance.attrs["counts"], top_k=p.top) if "counts" in endurance.attrs else pd.DataFrame()
    )
    return HotspotAnalysis(
        hotspots=hotspots,
        held_out=pd.concat(held, ignore_index=True) if held else pd.DataFrame(),
        cells=pd.concat(all_rows, ignore_index=True) if all_rows else pd.DataFrame(),
        concentration=conc,
        stability=stab,
        params=p,
        window_start=start.date(),
        window_end=(end - pd.Timedelta(seconds=1)).date(),
        input_hash=input_hash(records),
        n_records=len(cur),
        basis=basis_label(cur["sv_basis"].astype("string")) if "sv_basis" in cur else "",
        notes=tuple(notes),
    )


def _study_counts(
    counts: NDArray[np.float64], grid: Grid, cells: NDArray[np.int64], area: shapely.Geometry | None
) -> tuple[NDArray[np.float64], int]:
    """The cells concentration is measured over: every cell of the grid, or with the force's area
    the cells whose centre lies in it plus any cell holding a crime (so no crime is dropped)."""
    if area is None:
        return counts, len(cells)
    cx, cy = cell_centres(grid, cells)
    inside = shapely.contains_xy(area, cx, cy) | (counts > 0)
    return counts[inside], int(inside.sum())


def _hold_recording_addresses(
    ranked: pd.DataFrame, recs: pd.DataFrame, w: NDArray[np.float64], p: HotspotParams
) -> None:
    """Hold out places where one recording address (police station, custody suite, court) holds at
    least ``recording_address_share`` of the crimes: crimes recorded there are often reported at the
    front desk, not committed there (D5). Each is listed with its reason for an analyst to review."""
    if ranked.empty or "location_text" not in recs:
        return
    loc = recs["location_text"].astype("string")
    frame = pd.DataFrame({"cell": recs["cell"].to_numpy(), "loc": loc.to_numpy(), "w": w})
    by = frame.groupby(["cell", "loc"], dropna=True)["w"].sum().reset_index()
    tot = frame.groupby("cell")["w"].sum()
    by["share"] = by["w"].to_numpy() / tot.reindex(by["cell"]).to_numpy()
    by = by[
        by["loc"].astype(str).str.contains(_RECORDING_ADDRESS) & (by["share"] >= p.recording_address_share)
    ]
    top = by.sort_values("share", ascending=False).drop_duplicates("cell").set_index("cell")
    hit = ranked["cell"].isin(top.index) & ~ranked["excluded"].astype(bool)
    for i in ranked.index[hit]:
        row = top.loc[ranked.at[i, "cell"]]  # type: ignore[index]
        ranked.at[i, "excluded"] = True
        ranked.at[i, "dominant_location"] = str(row["loc"])
        ranked.at[i, "exclusion_reason"] = (
            f"recording address: {row['share']:.0%} of the crimes here are recorded at '{row['loc']}', "
            "often where a crime was reported rather than where it happened (review it: keep out, or "
            "mark it a real public-space hot spot)"
        )
        ranked.at[i, "review_location"] = True


def apply_decisions(ranked: pd.DataFrame, decisions: pd.DataFrame, p: HotspotParams) -> None:
    """Reuse an analyst's decisions on held-apart places: a decision matches a place with the same
    dominant location within one cell size of it. ``hot_spot`` puts the place back in the ranking;
    ``keep_out`` holds it apart (even if this build would not) and says it was decided."""
    ranked["decision"] = None
    if ranked.empty:
        return
    dx = decisions["easting"].to_numpy(dtype=float)
    dy = decisions["northing"].to_numpy(dtype=float)
    dloc = decisions["location"].astype(str).to_numpy()
    dec = decisions["decision"].astype(str).to_numpy()
    for i in ranked.index:
        loc = ranked.at[i, "dominant_location"]
        if not isinstance(loc, str):
            continue
        near = (dloc == loc) & (
            np.hypot(dx - ranked.at[i, "easting"], dy - ranked.at[i, "northing"]) <= p.cell_size_m
        )
        if not near.any():
            continue
        d = dec[np.flatnonzero(near)[0]]
        if d == "hot_spot":
            ranked.at[i, "excluded"] = False
            ranked.at[i, "exclusion_reason"] = None
        elif d == "keep_out":
            ranked.at[i, "excluded"] = True
            ranked.at[i, "exclusion_reason"] = f"kept out by an analyst's decision ('{loc}')"
        ranked.at[i, "decision"] = d


_INSTITUTION_WORDS = re.compile(
    r"\b(?:prison|hmp|hmyoi|young offender|hospital|a ?& ?e|accident and emergency|custody|secure unit)\b"
    r"(?!\s+(?:hill|road|street|lane|way|close|avenue|drive|walk|gardens|place|crescent|terrace|row|view|park))",
    re.IGNORECASE,
)


def _detect_by_name(ranked: pd.DataFrame, review: pd.DataFrame, p: HotspotParams) -> None:
    """Automatic D5 detection without a register: a place where one location whose name says it is an
    institution (police.uk map points such as "On or near Prison") holds >= ``institution_share`` of
    the harm is held out, with that reason."""
    if review.empty or "key_type" not in review:
        return
    named = review[
        (review["key_type"] == "location_text")
        & review["location"].astype("string").str.contains(_INSTITUTION_WORDS).fillna(False)
        & (review["harm_share"] >= p.institution_share)
    ]
    named = named.sort_values("harm_share", ascending=False).drop_duplicates("cell_id").set_index("cell_id")
    hit = ranked["cell"].isin(named.index) & ~ranked["excluded"].astype(bool)
    for i in ranked.index[hit]:
        row = named.loc[ranked.at[i, "cell"]]  # type: ignore[index]
        ranked.at[i, "excluded"] = True
        ranked.at[i, "dominant_location"] = str(row["location"])
        ranked.at[i, "exclusion_reason"] = (
            f"one location, '{row['location']}', holds {row['harm_share']:.0%} of the harm and its name says it is "
            "an institution (detected automatically; add it to the institution register to confirm)"
        )
        ranked.at[i, "institution_share"] = row["harm_share"]


def _study_area(sv: pd.DataFrame, p: HotspotParams, notes: list[str]) -> pd.DataFrame:
    """Drop the few far-away points a force records outside its area (police.uk has crimes a
    force recorded anywhere in the country), so the grid covers the force, not Great Britain."""
    q = p.outlier_quantile
    if q <= 0 or len(sv) < 100:
        return sv
    x, y = sv["easting"], sv["northing"]
    m = p.outlier_margin_m
    x0, x1 = x.quantile(q) - m, x.quantile(1 - q) + m
    y0, y1 = y.quantile(q) - m, y.quantile(1 - q) + m
    inside = x.between(x0, x1) & y.between(y0, y1)
    if (~inside).any():
        notes.append(
            f"{int((~inside).sum())} record(s) lie far outside the main study area (crimes recorded "
            f"by the force elsewhere) and are left out"
        )
    return sv[inside].reset_index(drop=True)


def _cell_table(
    cur: pd.DataFrame,
    wc: NDArray[np.float64],
    wp: NDArray[np.float64],
    prv: pd.DataFrame,
    cells: NDArray[np.int64],
    *,
    cap: float = np.inf,
) -> pd.DataFrame:
    """Weighted count and harm per cell, now and in the previous window, for every grid cell."""
    n = int(cells.max()) + 1 if len(cells) else 0
    cur_cell = cur["cell"].to_numpy()
    harm = cur["harm_days"].fillna(0.0).to_numpy()
    capped = np.minimum(harm, cap)
    count = np.bincount(cur_cell, weights=wc, minlength=n)[cells]
    harm_c = np.bincount(cur_cell, weights=wc * harm, minlength=n)[cells]
    rank_harm = np.bincount(cur_cell, weights=wc * capped, minlength=n)[cells]
    pc = prv["cell"].to_numpy() if len(prv) else np.zeros(0, dtype=np.int64)
    prev_count = np.bincount(pc, weights=np.nan_to_num(wp), minlength=n)[cells]
    prev_harm = (
        np.bincount(pc, weights=np.nan_to_num(wp) * prv["harm_days"].fillna(0.0).to_numpy(), minlength=n)[
            cells
        ]
        if len(prv)
        else np.zeros(len(cells))
    )
    return pd.DataFrame(
        {
            "cell": cells,
            "count": count,
            "harm": harm_c,
            "rank_harm": rank_harm,
            "prev_count": prev_count,
            "prev_harm": prev_harm,
        }
    )


def _endurance(
    sv: pd.DataFrame, grid: Grid, *, end: pd.Timestamp, p: HotspotParams, notes: list[str]
) -> pd.DataFrame:
    """Persistence class per cell from top-K membership in the last ``endurance_windows`` windows."""
    k = p.endurance_windows
    edges = [end - pd.DateOffset(months=p.window_months * i) for i in range(k, -1, -1)]
    first = pd.Timestamp(sv["occurred_from"].min())
    usable = [i for i in range(k) if edges[i] >= first - pd.Timedelta(days=1)]
    if len(usable) < 2:
        notes.append(
            f"endurance needs at least 2 windows of {p.window_months} months; the data hold "
            f"{len(usable)}, so persistence is 'insufficient history'"
        )
        return pd.DataFrame({"cell": pd.Series(dtype=np.int64), "persistence": pd.Series(dtype=object)})
    t = sv["occurred_from"]
    label = np.full(len(sv), -1)
    for i in usable:
        label[((t >= edges[i]) & (t < edges[i + 1])).to_numpy()] = i
    keep = label >= 0
    windows = [f"{edges[i].date()}..{(edges[i + 1] - pd.Timedelta(days=1)).date()}" for i in usable]
    counts = place_window_counts(
        sv["cell"].to_numpy()[keep],
        np.array(windows, dtype=object)[np.searchsorted(usable, label[keep])],
        window_order=windows,
    )
    hot = hot_places(counts, top_k=p.top)
    classes = classify_places(hot)
    out = pd.DataFrame({"cell": classes.index.to_numpy(dtype=np.int64), "persistence": classes.to_numpy()})
    hot_n = hot.sum(axis=1)
    out["hot_windows"] = hot_n.reindex(out["cell"]).to_numpy()
    out["n_windows"] = len(windows)
    out.attrs["counts"] = counts
    return out


def _select(
    ranked: pd.DataFrame,
    grid: Grid,
    cur: pd.DataFrame,
    wc: NDArray[np.float64],
    prv: pd.DataFrame,
    wp: NDArray[np.float64],
    p: HotspotParams,
    period: str,
    *,
    span: _Span | None = None,
) -> pd.DataFrame:
    """Top cells into hot spots: touching cells merge, near ones are skipped (see module docstring)."""
    groups: list[list[int]] = []
    centres: list[tuple[float, float]] = []
    touch = p.cell_size_m * 1.5 if p.shape == "square" else np.sqrt(p.hex_area_m2) * 1.2
    rows = ranked.set_index("cell")
    # The chosen cells' centres (a ranked cell's easting/northing is its cell's centre), with the group
    # each belongs to in order of creation, so each ranked cell is one vector test, not one per group.
    cap = p.top * max(p.max_patrol_areas, 1)
    mx, my = np.empty(cap), np.empty(cap)
    mg = np.empty(cap, dtype=np.int64)
    m = 0
    full = np.zeros(p.top, dtype=bool)
    for cell, ex, ny in zip(ranked["cell"], ranked["easting"], ranked["northing"], strict=True):
        if len(groups) >= p.top and full.all():
            break
        if m:
            near = np.hypot(mx[:m] - ex, my[:m] - ny) <= touch
            near &= ~full[mg[:m]]
            if near.any():  # join the first-made group that touches it and still has room
                k = int(mg[:m][near].min())
                groups[k].append(int(cell))
                mx[m], my[m], mg[m] = ex, ny, k
                m += 1
                full[k] = len(groups[k]) >= p.max_patrol_areas
                continue
        if len(groups) >= p.top:
            continue
        if (
            centres
            and (
                np.hypot(np.array([c[0] for c in centres]) - ex, np.array([c[1] for c in centres]) - ny)
                < p.min_spacing_m
            ).any()
        ):
            continue
        groups.append([int(cell)])
        mx[m], my[m], mg[m] = ex, ny, len(groups) - 1
        m += 1
        full[len(groups) - 1] = p.max_patrol_areas <= 1
        centres.append((float(ex), float(ny)))
    # rank hot spots by their own totals (a merged hot spot holds several cells)
    # (each group's cells' values summed as the series' sum adds them: numpy's, in the group's order)
    rank_harm, count = rows["rank_harm"].to_numpy(dtype=float), rows["count"].to_numpy(dtype=float)
    at = {g[0]: rows.index.get_indexer(pd.Index(g)) for g in groups}
    groups.sort(key=lambda g: (-float(np.nansum(rank_harm[at[g[0]]])), -float(np.nansum(count[at[g[0]]]))))
    out = []
    # the period's records, taken once; each hot spot then picks its rows from these (same rows, same order)
    in_period = np.flatnonzero(wc > 0)
    period_cells = cur["cell"].to_numpy()[in_period]
    period_recs = cur.iloc[in_period]
    period_w = wc[in_period]
    # what every hot spot reads of its rows, worked out once for the period's: the offence labels, the
    # location names, and the columns its peak times and facts read (not every column, 40 times over)
    period_labels = _offence_labels(period_recs)
    period_names = (
        period_recs["location_text"].astype("string").str.replace(r"^On or near ", "", regex=True)
        if "location_text" in period_recs
        else None
    )
    period_recs = period_recs[[c for c in _FACT_COLUMNS if c in period_recs.columns]]
    total_count = float(wc.sum())
    for rank, g in enumerate(groups, start=1):
        sub = rows.loc[g]
        geom = shapely.union_all(cell_polygons(grid, np.array(g)))
        c = geom.centroid
        lon, lat = projected_to_lonlat(np.array([c.x]), np.array([c.y]), crs=p.crs)
        mask = np.isin(period_cells, g)
        recs = period_recs[mask]
        rw = period_w[mask]
        loc = period_names[mask].dropna() if period_names is not None else pd.Series([])
        hs: dict[str, Any] = {
            "hotspot_id": f"{period[0].upper()}{rank:02d}",
            "name": str(loc.value_counts().index[0]) if len(loc) else f"Cell {g[0]}",
            "period": period,
            "rank": rank,
            "cells": g,
            "patrol_areas": len(g),
            "count": float(sub["count"].sum()),
            "harm": float(sub["harm"].sum()),
            "prev_count": float(sub["prev_count"].sum()),
            "prev_harm": float(sub["prev_harm"].sum()),
            "share_of_count": float(sub["count"].sum()) / total_count if total_count else 0.0,
            "gi_z": float(sub["gi_z"].max()),
            "gi_q": float(sub["gi_q"].min()),
            "gi_p_perm": float(sub["gi_p_perm"].min()),
            "persistence": _first_class(sub["persistence"]),
            "institution_share": float(sub["institution_share"].max()),
            "review_location": bool(sub["review_location"].any()),
            "dominant_location": next((str(x) for x in sub["dominant_location"] if isinstance(x, str)), None),
            "easting": c.x,
            "northing": c.y,
            "lon": float(lon[0]),
            "lat": float(lat[0]),
            "geometry": geom,
        }
        peak = _peak(recs, p)
        mix = _offence_mix(recs, rw, labels=period_labels[mask])
        hs["facts"] = _facts(hs, recs, rw, peak, period, p, span=span, mix=mix)
        hs["main_offences"] = mix
        hs["officer_facts"] = officer_facts(
            hs,
            peak=peak,
            window_months=p.window_months,
            endurance_windows=p.endurance_windows,
            cell_size_m=p.cell_size_m,
            shape=p.shape,
        )
        out.append(hs)
    return pd.DataFrame(out)


#: The columns of a hot spot's records that its peak times (:func:`_peak`) and facts (:func:`_facts`) read.
_FACT_COLUMNS = ("occurred_from", "occurred_to", "time_precision", "offence_description", "location_text")


@dataclass(frozen=True)
class _Span:
    """What the window's facts may claim: the period the data really cover, and whether the data
    reach back into the previous window (else no trend can be given)."""

    window: str  # e.g. "in the last 12 months" or "in the 4 months of data (2018-10-01 to 2019-01-31)"
    has_previous: bool


def _span(sv: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, p: HotspotParams) -> _Span:
    first = pd.Timestamp(sv["occurred_from"].min())
    if first <= start + pd.Timedelta(days=1):
        return _Span(f"in the last {p.window_months} months", first < start - pd.Timedelta(days=27))
    months = max(1, round((end - first).days / 30.44))
    last = (end - pd.Timedelta(seconds=1)).date()
    return _Span(
        f"in the {months} month{'s' if months != 1 else ''} of data ({first.date()} to {last})", False
    )


def _first_class(classes: pd.Series) -> str:
    present = classes.tolist()  # a hot spot's few cells: compared as Python values
    for c in ("persistent", "emerging", "intermittent", "cooling", "not hot"):
        if c in present:
            return c
    return str(present[0])


def _offence_labels(recs: pd.DataFrame) -> pd.Series:
    """Each record's offence as the mix names it: its description, else its category, else "unknown"."""
    label = recs["offence_description"].astype("string").fillna(recs["category"].astype("string"))
    return label.fillna("unknown")


def _offence_mix(
    recs: pd.DataFrame, w: NDArray[np.float64], *, labels: pd.Series | None = None
) -> list[dict[str, Any]]:
    """The three main offences by weight ``w``; ``labels``: :func:`_offence_labels` of ``recs`` when
    already known (a hot spot's rows of its period's)."""
    label = _offence_labels(recs) if labels is None else labels
    tab = pd.Series(w, index=label.to_numpy()).groupby(level=0).sum().sort_values(ascending=False)
    total = float(tab.sum()) or 1.0
    return [
        {"offence": str(k), "count": round(float(v), 1), "share": round(float(v) / total, 3)}
        for k, v in tab.head(3).items()
    ]


def _peak(recs: pd.DataFrame, p: HotspotParams) -> PeakSummary | None:
    """Peak times of a hot spot's crimes with known times (at least 5), else None."""
    timed = (recs["time_precision"].astype("string") != "month").to_numpy(dtype=bool, na_value=False)
    if timed.sum() < 5:  # counted before any row is taken (police.uk: none is timed)
        return None
    return peak_times(hot_times(recs[timed], day_start_hour=p.day_start_hour))


def _facts(
    hs: dict[str, Any],
    recs: pd.DataFrame,
    w: NDArray[np.float64],
    peak: PeakSummary | None,
    period: str,
    p: HotspotParams,
    *,
    span: _Span | None = None,
    mix: list[dict[str, Any]] | None = None,
) -> list[str]:
    span = span or _Span(f"in the last {p.window_months} months", True)
    when = {"day": " in the day", "night": " at night", "all": ""}[period]
    facts = [
        f"{hs['count']:.0f} serious-violence crimes{when} {span.window} "
        f"({hs['share_of_count']:.1%} of the area's), harm {hs['harm']:,.0f} CCHI days."
    ]
    mix = _offence_mix(recs, w) if mix is None else mix
    if len(mix) == 1 and recs["offence_description"].isna().all():
        # police.uk data: one published category, no offence types, so no "mix" to speak of
        facts.append(
            f"All recorded as \u201c{mix[0]['offence'].lower()}\u201d (the offence type is not published)."
        )
    elif mix:
        facts.append("Mainly " + ", ".join(f"{m['offence'].lower()} ({m['share']:.0%})" for m in mix) + ".")
    if peak is not None:
        facts.append(peak.text)
    elif len(recs):
        facts.append("Times are known only to the month, so no peak hours can be given.")
    if not span.has_previous:
        facts.append(
            f"Trend: no data before this window, so no comparison with the previous {p.window_months} months."
        )
    elif 0 < hs["prev_count"] < 10 or (hs["prev_count"] == 0 and hs["count"] > 0):
        facts.append(
            f"Trend: {hs['count']:.0f} crimes now against {hs['prev_count']:.0f} in the previous "
            f"{p.window_months} months."
        )
    elif hs["prev_count"] > 0:
        change = (hs["count"] - hs["prev_count"]) / hs["prev_count"]
        word = "up" if change > 0.05 else "down" if change < -0.05 else "about the same,"
        facts.append(
            f"Trend: {word} {abs(change):.0%} on the previous {p.window_months} months "
            f"({hs['prev_count']:.0f} crimes)."
        )
    if hs["persistence"] not in ("insufficient history", "not hot"):
        facts.append(f"Endurance: {hs['persistence']} hot spot.")
    if hs["gi_q"] <= p.fdr_q and hs["gi_z"] > 0:
        facts.append(
            f"Statistically significant cluster (Gi* z = {hs['gi_z']:.1f}, FDR q = {hs['gi_q']:.3f})."
        )
    top_loc = (
        recs["location_text"].astype("string").value_counts() if "location_text" in recs else pd.Series([])
    )
    if (
        len(top_loc)
        and _RECORDING_ADDRESS.search(str(top_loc.index[0]))
        and top_loc.iloc[0] >= 0.3 * len(recs)
    ):
        hs["review_location"] = True
        hs["review_place"] = str(top_loc.index[0])
        facts.append(
            f"Check before patrolling: {top_loc.iloc[0] / len(recs):.0%} of these crimes are recorded at "
            f"'{top_loc.index[0]}', often a recording address rather than where the offence happened."
        )
    if hs["patrol_areas"] > 1:
        facts.append(f"{hs['patrol_areas']} neighbouring cells patrolled as one hot spot.")
    return facts


# ----------------------------------------------------------------------------- outputs


def to_geojson(result: HotspotAnalysis, *, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """GeoJSON FeatureCollection in WGS84 lon/lat: one feature per hot spot."""
    feats = []
    for hs in result.hotspots.to_dict("records"):
        geom = shapely.transform(
            hs["geometry"], lambda x, y: projected_to_lonlat(x, y, crs=result.params.crs), interleaved=False
        )
        props = {k: _jsonable(v) for k, v in hs.items() if k not in ("geometry",)}
        feats.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props})
    return {
        "type": "FeatureCollection",
        "features": feats,
        "properties": {
            "window_start": result.window_start.isoformat(),
            "window_end": result.window_end.isoformat(),
            "records_in_window": result.n_records,
            "input_sha256": result.input_hash,
            "version": result.version,
            "params": asdict(result.params),
            "notes": list(result.notes),
            **({"serious_violence": result.basis} if result.basis else {}),
            "held_out_institutional": _jsonable(
                result.held_out.drop(
                    columns=[c for c in ("geometry",) if c in result.held_out.columns]
                ).to_dict("records")
            )
            if not result.held_out.empty
            else [],
            **(labels or {}),
        },
    }


def to_csv_frame(result: HotspotAnalysis) -> pd.DataFrame:
    """The hot spots as a flat table (facts joined with ' | ', geometry as WKT in metres)."""
    df = result.hotspots.copy()
    if df.empty:
        return df
    df["facts"] = df["facts"].map(lambda f: " | ".join(f))
    df["officer_facts"] = df["officer_facts"].map(lambda f: " | ".join(f))
    df["main_offences"] = df["main_offences"].map(
        lambda m: "; ".join(f"{x['offence']} {x['share']:.0%}" for x in m)
    )
    df["cells"] = df["cells"].map(lambda c: " ".join(map(str, c)))
    df["geofence_wkt"] = df.pop("geometry").map(lambda g: g.wkt)
    if result.basis:  # every row says how serious violence was decided (police.uk: an approximation)
        df["serious_violence_basis"] = result.basis
    return df


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return None if np.isnan(v) else round(float(v), 6)
    if isinstance(v, float):
        return None if np.isnan(v) else round(v, 6)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, datetime | date | pd.Timestamp):
        return v.isoformat()
    if v is pd.NA:
        return None
    return v


def summary_json(result: HotspotAnalysis) -> str:
    """Concentration and stability as JSON (for the dashboard tile and the closing report)."""
    conc = {k: asdict(v) for k, v in result.concentration.items()}
    return json.dumps(_jsonable({"concentration": conc, "stability": result.stability.to_dict("records")}))
