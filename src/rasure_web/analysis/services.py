"""Services (writes) for hot-spot analysis: build and store a run from the database."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import numpy as np
import pandas as pd
import shapely
from django.db import transaction

from rasure import classify as sv
from rasure.harm import coverage_label
from rasure.hotspots.analysis import HotspotAnalysis, HotspotParams, analyse, summary_json, to_geojson
from rasure.institutions import InstitutionRegister, make_register, read_institutions
from rasure_web.accounts.tenancy import force_crs, force_pk, resolve_force
from rasure_web.analysis.models import AnalysisRun, HotSpot, Institution, PlaceDecision
from rasure_web.crimes.areas import areas_at, force_area
from rasure_web.crimes.models import CrimeRecord
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


def records_frame(*, serious_violence_only: bool = True, tenant: int | None = None) -> pd.DataFrame:
    """A force's records (``tenant``: its pk; default the only force) as a frame for the core (times in
    the force's local time, naive)."""

    qs = CrimeRecord.objects.filter(tenant_id=force_pk(tenant))
    if serious_violence_only:
        qs = qs.filter(serious_violence=True)
    df = pd.DataFrame.from_records(list(qs.values_list(*_FRAME_COLUMNS)), columns=_FRAME_COLUMNS)
    for c in ("occurred_from", "occurred_to"):
        df[c] = local_naive(df[c])
    for c in ("easting", "northing", "harm_days"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    df["serious_violence"] = df["serious_violence"].astype(bool)
    return df


def place_decisions(*, tenant: int | None = None) -> pd.DataFrame:
    """A force's analysts' decisions on held-apart places, for :func:`rasure.hotspots.analysis.analyse`."""
    cols = ["location", "easting", "northing", "decision"]
    qs = PlaceDecision.objects.filter(tenant_id=force_pk(tenant))
    return pd.DataFrame(list(qs.values_list(*cols)), columns=cols)


def institutions_register(*, tenant: int | None = None) -> InstitutionRegister | None:
    """A force's stored institution register (points with a radius, or footprint polygons)."""
    rows = list(
        Institution.objects.filter(tenant_id=force_pk(tenant)).values(
            "name", "type", "easting", "northing", "radius_m", "geometry_geojson"
        )
    )
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    frame["geometry"] = [shapely.from_geojson(g) if g else None for g in frame.pop("geometry_geojson")]
    return make_register(frame, source="database")


def institutions_load(*, path: str, replace: bool = False, force: str | None = None) -> tuple[int, int]:
    """Store an institution register file (CSV with lon/lat or easting/northing, or GeoJSON points and
    polygons; see :func:`rasure.institutions.read_institutions`), matched on name and type. With
    ``replace`` the force's institutions not in the file are removed. Returns (new, updated)."""
    tenant = resolve_force(force)
    reg = read_institutions(path, crs=force_crs(tenant))
    new = updated = 0
    with transaction.atomic():
        if replace:
            Institution.objects.filter(tenant=tenant).delete()
        for k, row in enumerate(reg.table.itertuples()):
            polygon = row.kind == "polygon"
            _, created = Institution.objects.update_or_create(
                tenant=tenant,
                name=str(row.name)[:200],
                type=str(row.type),
                defaults={
                    "easting": float(row.easting),
                    "northing": float(row.northing),
                    "radius_m": float(row.radius_m) if not polygon else 0.0,
                    "geometry_geojson": shapely.to_geojson(reg.footprints[k]) if polygon else "",
                    "synthetic": False,
                },
            )
            new, updated = new + int(created), updated + int(not created)
    return new, updated


def place_decide(
    *,
    location: str,
    easting: float,
    northing: float,
    decision: str,
    note: str,
    username: str,
    tenant: int | None = None,
) -> PlaceDecision:
    """Store (or change) an analyst's decision on a held-apart place of a force (``tenant``: its pk,
    default the only force); later builds of that force reuse it."""
    PlaceDecision.Decision(decision)  # ValueError on an unknown decision
    obj, _ = PlaceDecision.objects.update_or_create(
        tenant_id=force_pk(tenant),
        location=location,
        easting=round(float(easting), 1),
        northing=round(float(northing), 1),
        defaults={"decision": decision, "note": note, "username": username},
    )
    return obj


def hotspots_store(
    result: HotspotAnalysis,
    *,
    username: str = "",
    labels: dict[str, str] | None = None,
    tenant: int | None = None,
) -> AnalysisRun:
    """Store a result as the force's current run (``tenant``: its pk, default the only force; the
    force's older runs stay, marked not current; other forces' runs are untouched)."""
    tenant = force_pk(tenant)
    gj = to_geojson(result)
    lon_geoms = {f["properties"]["hotspot_id"]: f["geometry"] for f in gj["features"]}
    hs_rows = result.hotspots.to_dict("records")
    lpa, nbh = areas_at(
        np.array([h["easting"] for h in hs_rows], dtype=float),
        np.array([h["northing"] for h in hs_rows], dtype=float),
        tenant=tenant,
    )
    with transaction.atomic():
        AnalysisRun.objects.filter(is_current=True, tenant_id=tenant).update(is_current=False)
        run = AnalysisRun.objects.create(
            tenant_id=tenant,
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
                    lpa_code=lpa[i],
                    neighbourhood_code=nbh[i],
                )
                for i, h in enumerate(hs_rows)
            ]
        )
    return run


def hotspots_build(
    *,
    username: str = "",
    params: HotspotParams | None = None,
    scope: sv.Scope | None = None,
    register: InstitutionRegister | None = None,
    include_partner_data: bool = False,
    partner_harm_code: str = "8N",
    force: str | None = None,
) -> AnalysisRun:
    """Analyse a force's serious violence in the database and store its hot spots (``force``: its
    code, default the only force).

    ``scope``: classify every record with this scope instead of the one stored at import (``--scope``).
    ``register``: this institution register instead of the stored one (``--institutions``). The
    force's area (loaded boundaries) is the study area; analysts' decisions on held-apart places are
    reused.

    ``include_partner_data`` (the analyst's choice) counts the force's partners' located
    emergency-department assaults too (those sent under the force's agreements), and labels the run "includes partner data". A hospital does not know the offence,
    so each is weighted as the offence ``partner_harm_code`` in the harm table in force (default 8N,
    assault with injury: an injury treated in hospital is at least that; a Rasure default [U])."""
    from rasure_web.crimes.scope import scope_label
    from rasure_web.crimes.services import harm_table_current

    force_obj = resolve_force(force)
    tenant, crs = force_obj.pk, force_crs(force_obj)
    # the force's records are stored in its CRS: the analysis reads its metres and converts back with it
    params = replace(params or HotspotParams(), crs=crs)
    if scope is None:
        frame = records_frame(tenant=tenant)
    else:
        frame = records_frame(serious_violence_only=False, tenant=tenant)
        frame = frame.drop(columns=["serious_violence", "sv_basis"]).join(
            sv.classify(frame, scope=scope)[["serious_violence", "sv_basis"]]
        )
        frame = frame[frame["serious_violence"]].reset_index(drop=True)
    table = harm_table_current(tenant=tenant)
    labels = {
        "serious_violence": sv.basis_label(frame["sv_basis"].astype("string")),
        "scope": scope.label if scope is not None else scope_label(tenant=tenant),
        "harm": coverage_label(table, frame),
        "crs": f"distances in metres of {crs}, the force's CRS",
    }
    if include_partner_data:
        from rasure.harm import harm_days
        from rasure_web.partners.selectors import partner_records_frame

        partner = partner_records_frame(columns=_FRAME_COLUMNS, tenant=tenant)
        weights = harm_days(partner.assign(offence_code=partner_harm_code), table=table)
        partner["harm_days"] = weights["harm_days"]
        if not partner.empty:
            frame = pd.concat(
                [frame, partner.astype(frame.dtypes.to_dict(), errors="ignore")], ignore_index=True
            )
        labels["partner_data"] = (
            f"includes partner data: {len(partner):,} emergency-department assaults, each weighted as "
            f"offence {partner_harm_code}"
        )
    result = analyse(
        frame,
        params=params,
        register=register if register is not None else institutions_register(tenant=tenant),
        study_area=force_area(tenant=tenant),
        decisions=place_decisions(tenant=tenant),
    )
    return hotspots_store(result, username=username, labels=labels, tenant=tenant)


def current_run_includes_partner_data(force: str | None = None) -> bool:
    """Whether the force's current hot spots count partner data (the analyst's last choice), so a
    rebuild after an import keeps that choice."""
    tenant = resolve_force(force).pk
    run = AnalysisRun.objects.filter(is_current=True, tenant_id=tenant).only("labels").first()
    return bool(run is not None and (run.labels or {}).get("partner_data"))


def hotspots_build_demo() -> str:
    run = hotspots_build(username="demo", params=HotspotParams(top=20))
    n = run.hotspots.count()
    return (
        f"{n} hot spots ({run.hotspots.filter(period='day').count()} day, "
        f"{run.hotspots.filter(period='night').count()} night), {len(run.held_out)} institutional places "
        f"held apart; window {run.window_start} to {run.window_end}"
    )
