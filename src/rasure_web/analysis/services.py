"""Services (writes) for hot-spot analysis: build and store a run from the database."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import pandas as pd
import shapely
from django.db import transaction

from rasure import classify as sv
from rasure.hotspots.analysis import HotspotAnalysis, HotspotParams, analyse, summary_json, to_geojson
from rasure.institutions import InstitutionRegister, make_register
from rasure_web.analysis.models import AnalysisRun, HotSpot, Institution
from rasure_web.crimes.models import Area, CrimeRecord
from rasure_web.crimes.selectors import local_naive

_FRAME_COLUMNS = [
    "source",
    "reference",
    "offence_code",
    "offence_description",
    "category",
    "occurred_from",
    "occurred_to",
    "time_precision",
    "easting",
    "northing",
    "location_text",
    "lsoa_code",
    "weapon",
    "serious_violence",
    "sv_basis",
    "harm_days",
]


def records_frame(*, serious_violence_only: bool = True) -> pd.DataFrame:
    """Records from the database as a frame for the core (times in the force's local time, naive)."""

    qs = CrimeRecord.objects.all()
    if serious_violence_only:
        qs = qs.filter(serious_violence=True)
    df = pd.DataFrame.from_records(list(qs.values_list(*_FRAME_COLUMNS)), columns=_FRAME_COLUMNS)
    for c in ("occurred_from", "occurred_to"):
        df[c] = local_naive(df[c])
    for c in ("easting", "northing", "harm_days"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    df["serious_violence"] = df["serious_violence"].astype(bool)
    return df


def institutions_register() -> InstitutionRegister | None:
    rows = list(Institution.objects.values("name", "type", "easting", "northing", "radius_m"))
    if not rows:
        return None
    return make_register(pd.DataFrame(rows), source="database")


def _lpa_for(x: float, y: float, lpas: list[tuple[str, Any]]) -> str:
    pt = shapely.Point(x, y)
    for code, geom in lpas:
        if geom.contains(pt):
            return code
    return ""


def hotspots_store(
    result: HotspotAnalysis, *, username: str = "", labels: dict[str, str] | None = None
) -> AnalysisRun:
    """Store a result as the current run (older runs stay, marked not current)."""
    gj = to_geojson(result)
    lon_geoms = {f["properties"]["hotspot_id"]: f["geometry"] for f in gj["features"]}
    lpas = [
        (a.code, shapely.from_geojson(a.geometry_geojson))
        for a in Area.objects.filter(kind=Area.Kind.LPA).exclude(geometry_geojson="")
    ]
    with transaction.atomic():
        AnalysisRun.objects.filter(is_current=True).update(is_current=False)
        run = AnalysisRun.objects.create(
            username=username,
            params=asdict(result.params),
            seed=result.params.seed,
            version=result.version,
            input_sha256=result.input_hash,
            records_in_window=result.n_records,
            window_start=result.window_start,
            window_end=result.window_end,
            notes=list(result.notes),
            labels=labels or {},
            summary=json.loads(summary_json(result)),
            held_out=gj["properties"]["held_out_institutional"],
            is_current=True,
        )
        HotSpot.objects.bulk_create(
            [
                HotSpot(
                    run=run,
                    code=h["hotspot_id"],
                    period=h["period"],
                    rank=h["rank"],
                    name=h.get("name", "")[:200],
                    count=h["count"],
                    harm=h["harm"],
                    prev_count=h["prev_count"],
                    prev_harm=h["prev_harm"],
                    gi_z=h["gi_z"],
                    gi_q=h["gi_q"],
                    persistence=h["persistence"],
                    institution_share=h["institution_share"],
                    patrol_areas=h["patrol_areas"],
                    easting=h["easting"],
                    northing=h["northing"],
                    lon=h["lon"],
                    lat=h["lat"],
                    geofence_geojson=shapely.to_geojson(h["geometry"]),
                    geofence_lonlat_geojson=json.dumps(lon_geoms[h["hotspot_id"]]),
                    facts=h["facts"],
                    officer_facts=h["officer_facts"],
                    main_offences=h["main_offences"],
                    lpa_code=_lpa_for(h["easting"], h["northing"], lpas),
                )
                for h in result.hotspots.to_dict("records")
            ]
        )
    return run


def hotspots_build(
    *,
    username: str = "",
    params: HotspotParams | None = None,
    include_partner_data: bool = False,
    partner_harm_code: str = "8N",
) -> AnalysisRun:
    """Analyse the serious violence in the database and store the hot spots.

    ``include_partner_data`` (the analyst's choice) counts partners' located emergency-department
    assaults too, and labels the run "includes partner data". A hospital does not know the offence,
    so each is weighted as the offence ``partner_harm_code`` in the harm table in force (default 8N,
    assault with injury: an injury treated in hospital is at least that; a Rasure default [U])."""
    from rasure_web.crimes.services import harm_table_current

    frame = records_frame()
    labels = {
        "serious_violence": sv.basis_label(frame["sv_basis"].astype("string")),
        "harm": harm_table_current().label,
    }
    if include_partner_data:
        from rasure.harm import harm_days
        from rasure_web.partners.selectors import partner_records_frame

        partner = partner_records_frame(columns=_FRAME_COLUMNS)
        weights = harm_days(partner.assign(offence_code=partner_harm_code), table=harm_table_current())
        partner["harm_days"] = weights["harm_days"]
        if not partner.empty:
            frame = pd.concat(
                [frame, partner.astype(frame.dtypes.to_dict(), errors="ignore")], ignore_index=True
            )
        labels["partner_data"] = (
            f"includes partner data: {len(partner):,} emergency-department assaults, each weighted as "
            f"offence {partner_harm_code}"
        )
    result = analyse(frame, params=params, register=institutions_register())
    return hotspots_store(result, username=username, labels=labels)


def hotspots_build_demo() -> str:
    run = hotspots_build(username="demo", params=HotspotParams(top=20))
    n = run.hotspots.count()
    return (
        f"{n} hot spots ({run.hotspots.filter(period='day').count()} day, "
        f"{run.hotspots.filter(period='night').count()} night), {len(run.held_out)} institutional places "
        f"held apart; window {run.window_start} to {run.window_end}"
    )
