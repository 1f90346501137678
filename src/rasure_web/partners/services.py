"""Services (writes) for partners: partner data in (emergency-department assaults), and the demo's
synthetic partner organisation and its agreement."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.db import transaction

from rasure_web import clock
from rasure_web.accounts.models import Organisation
from rasure_web.crimes.models import Area
from rasure_web.partners.models import DataClass, DataSharingAgreement, PartnerRecord, PartnerUpload

DEMO_PARTNER_ORG = "DEMO-VRU"
DEMO_PARTNER_ORG_NAME = "Demo Town Violence Reduction Unit (synthetic)"
DEMO_AGREEMENT = "DSA-DEMO-001"
#: The demo agreement covers two of the synthetic city's three local policing areas, so the demo
#: shows a partner seeing its own areas only.
DEMO_AGREEMENT_LPAS = ("SYN-LPA-C", "SYN-LPA-N")


@transaction.atomic
def demo_partner_ensure() -> DataSharingAgreement | None:
    """The synthetic partner organisation and a live agreement (a month old, a year to run) over
    Central and North LPAs. Idempotent; the dates move with the clock so the demo stays live."""
    from rasure_web.accounts.models import Force
    from rasure_web.accounts.services import DEMO_FORCE

    force = Force.objects.filter(code=DEMO_FORCE).first()
    areas = Area.objects.filter(kind=Area.Kind.LPA, code__in=DEMO_AGREEMENT_LPAS)
    if force is not None and areas.filter(tenant=force).exists():
        areas = areas.filter(tenant=force)
    found = list(areas.order_by("tenant_id", "code"))
    tenant_id = found[0].tenant_id if found else None
    areas_list = [a for a in found if a.tenant_id == tenant_id]
    if not areas_list:
        return None
    org, _ = Organisation.objects.update_or_create(
        code=DEMO_PARTNER_ORG,
        defaults={"name": DEMO_PARTNER_ORG_NAME, "kind": Organisation.Kind.VRU, "force": force},
    )
    today = clock.local_today()
    agreement, _ = DataSharingAgreement.objects.update_or_create(
        reference=DEMO_AGREEMENT,
        defaults={
            "organisation": org,
            "tenant_id": tenant_id,
            "purpose": "Synthetic demonstration: joint planning under the Serious Violence Duty (where and "
            "when serious violence concentrates, and what patrols are doing about it).",
            "data_classes": [c.value for c in DataClass],
            "starts_on": today - dt.timedelta(days=30),
            "expires_on": today + dt.timedelta(days=365),
            "signed_off_by": "A. Example, Data Protection Officer, Demo Town Police (synthetic)",
            "signed_off_on": today - dt.timedelta(days=31),
            "revoked_at": None,
        },
    )
    agreement.areas.set(areas_list)
    return agreement


class PartnerImportError(Exception):
    """A partner file refused whole: ``problems`` lists every bad row (file, line, field, how to fix)."""

    def __init__(self, message: str, problems: list[Any] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


def _norm(text: str) -> str:
    t = " ".join(text.lower().replace(",", " ").split())
    return t.removeprefix("on or near ").strip()


def _gazetteer(texts: set[str], *, tenant: int) -> dict[str, tuple[float, float, str]]:
    """Named places in the file found in the force's own data (force ``tenant``): a neighbourhood's name (its centre),
    an institution's name (its point), or a street or place as police records name it (the median of
    those records' positions). Returns normalised text -> (easting, northing, how)."""
    import numpy as np
    import shapely
    from django.db.models import Q

    from rasure_web.analysis.models import Institution
    from rasure_web.crimes.models import CrimeRecord

    out: dict[str, tuple[float, float, str]] = {}
    if not texts:
        return out
    for a in Area.objects.filter(kind=Area.Kind.NEIGHBOURHOOD, tenant_id=tenant).exclude(geometry_geojson=""):
        if _norm(a.name) in texts:
            p = shapely.from_geojson(a.geometry_geojson).representative_point()
            out[_norm(a.name)] = (p.x, p.y, "area name")
    for i in Institution.objects.filter(tenant_id=tenant):
        if _norm(i.name) in texts:
            out[_norm(i.name)] = (i.easting, i.northing, "place name")
    todo = sorted(t for t in texts if t not in out)
    for chunk in (todo[k : k + 200] for k in range(0, len(todo), 200)):
        q = Q()
        for t in chunk:
            q |= Q(location_text__iexact=t) | Q(location_text__iexact=f"on or near {t}")
        found: dict[str, list[tuple[float, float]]] = {}
        rows = CrimeRecord.objects.filter(q, tenant_id=tenant, easting__isnull=False).values_list(
            "location_text", "easting", "northing"
        )
        for text, e, n in rows[:200_000]:
            found.setdefault(_norm(text or ""), []).append((e, n))
        for t, pts in found.items():
            if t in chunk:
                med = np.median(np.array(pts), axis=0)
                out[t] = (float(med[0]), float(med[1]), "place name")
    return out


def _neighbourhood_of(xs: list[float], ys: list[float], *, tenant: int) -> list[str]:
    import shapely

    hoods = list(
        Area.objects.filter(kind=Area.Kind.NEIGHBOURHOOD, tenant_id=tenant).exclude(geometry_geojson="")
    )
    if not hoods or not xs:
        return [""] * len(xs)
    geoms = [shapely.from_geojson(a.geometry_geojson) for a in hoods]
    tree = shapely.STRtree(geoms)
    pts = shapely.points(xs, ys)
    hit = tree.query(pts, predicate="intersects")
    codes = [""] * len(xs)
    for p, g in zip(hit[0], hit[1], strict=True):
        if not codes[p]:
            codes[p] = hoods[g].code
    return codes


def _live_agreement(org: Organisation, tenant: Any) -> DataSharingAgreement:
    """The organisation's newest live agreement with the force, or PartnerImportError saying so."""
    today = clock.local_today()
    live = [
        a
        for a in DataSharingAgreement.objects.filter(organisation=org, tenant=tenant).order_by("-starts_on")
        if a.is_live(today)
    ]
    if not live:
        raise PartnerImportError(
            f"{org.code} ({org.name}) has no live data-sharing agreement with force {tenant.code}, so its "
            "data cannot be loaded for that force. Add or renew the agreement in the admin "
            "(/admin/partners/datasharingagreement/), or name the right force with --force CODE."
        )
    return live[0]


def partner_import(
    *,
    path: str | Path,
    org_code: str,
    username: str,
    filename: str | None = None,
    force: str | None = None,
    agreement: DataSharingAgreement | None = None,
) -> PartnerUpload:
    """Load a partner's emergency-department assault file whole, or nothing (one transaction).

    The upload belongs to the force of the agreement it is sent under: ``agreement`` (the portal's),
    else the organisation's live agreement with ``force`` (a code; default the only force). Places
    are found in that force's areas and records only.

    Raises :class:`PartnerImportError` for an unknown organisation, no live agreement with the force,
    or a file loaded before, and the core's InputFileError / InvalidRowsError (every bad row, with
    line and field) for bad files."""
    import hashlib

    import numpy as np

    from rasure.geo import lonlat_to_projected, projected_to_lonlat
    from rasure.partnerdata import read_ed_assaults
    from rasure_web.accounts.tenancy import force_crs

    name = filename or Path(path).name
    org = Organisation.objects.filter(code=org_code).first()
    if org is None:
        raise PartnerImportError(
            f"There is no organisation with the code {org_code!r}. The organisations are listed in the "
            "admin (/admin/accounts/organisation/); add it there first."
        )
    if agreement is None:
        from rasure_web.accounts.tenancy import resolve_force

        agreement = _live_agreement(org, resolve_force(force))
    elif agreement.organisation_id != org.pk:
        raise PartnerImportError(f"Agreement {agreement.reference} is not {org.code}'s.")
    tenant = agreement.tenant
    rows = read_ed_assaults(path, today=clock.local_today(), name=name)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    earlier = PartnerUpload.objects.filter(organisation=org, tenant=tenant, sha256=digest).first()
    if earlier is not None:
        raise PartnerImportError(
            f"{name}: this file was already loaded for {org.code} on {earlier.uploaded_at:%Y-%m-%d %H:%M} "
            f"({earlier.rows} rows), so it was not loaded again."
        )
    # located in the CRS of the agreement's force, whose data the records join
    crs = force_crs(tenant)
    xs: list[float | None] = [None] * len(rows)
    ys: list[float | None] = [None] * len(rows)
    how = [""] * len(rows)
    coords = [k for k, r in enumerate(rows) if r.lat is not None and r.lon is not None]
    if coords:
        ex, ny = lonlat_to_projected(
            np.array([rows[k].lon for k in coords], float),
            np.array([rows[k].lat for k in coords], float),
            crs=crs,
        )
        for k, e, n in zip(coords, ex, ny, strict=True):
            xs[k], ys[k], how[k] = float(e), float(n), "coordinates"
    places = _gazetteer(
        {_norm(r.location_text) for k, r in enumerate(rows) if not how[k] and r.location_text},
        tenant=tenant.pk,
    )
    for k, r in enumerate(rows):
        hit = places.get(_norm(r.location_text)) if not how[k] else None
        if hit:
            xs[k], ys[k], how[k] = hit
    placed = [k for k in range(len(rows)) if xs[k] is not None]
    codes = _neighbourhood_of(
        [xs[k] for k in placed],  # type: ignore[misc]
        [ys[k] for k in placed],  # type: ignore[misc]
        tenant=tenant.pk,
    )
    lsoa = [""] * len(rows)
    for k, code in zip(placed, codes, strict=True):
        lsoa[k] = code
    lons = lats = np.array([])
    if placed:
        lons, lats = projected_to_lonlat(
            np.array([xs[k] for k in placed]), np.array([ys[k] for k in placed]), crs=crs
        )
    lonlat = {k: (float(lo), float(la)) for k, lo, la in zip(placed, lons, lats, strict=True)}
    with transaction.atomic():
        upload = PartnerUpload.objects.create(
            organisation=org,
            tenant=tenant,
            agreement=agreement,
            filename=name[:300],
            sha256=digest,
            username=username[:150],
            uploaded_at=clock.now(),
            rows=len(rows),
            located=sum(1 for c in lsoa if c),
        )
        PartnerRecord.objects.bulk_create(
            [
                PartnerRecord(
                    upload=upload,
                    occurred_on=r.occurred_on,
                    occurred_time=r.occurred_time,
                    location_text=r.location_text,
                    easting=xs[k],
                    northing=ys[k],
                    lon=lonlat.get(k, (None, None))[0],
                    lat=lonlat.get(k, (None, None))[1],
                    lsoa_code=lsoa[k],
                    located_by=how[k] if lsoa[k] else "",
                    weapon=r.weapon,
                    assault=r.assault,
                )
                for k, r in enumerate(rows)
            ],
            batch_size=2000,
        )
    return upload


def demo_partner_data_ensure(*, seed: int = 20260415) -> PartnerUpload | None:
    """A synthetic emergency-department file for the demo, loaded through :func:`partner_import` like a
    real one: about a third of the synthetic city's violence with injury in its last six months (as
    patients would tell the hospital), with a few assaults the police never heard of near them. Every row
    is invented. Idempotent (one demo upload)."""
    import csv
    import tempfile

    import numpy as np
    from django.utils import timezone

    from rasure_web.crimes.models import CrimeRecord

    agreement = DataSharingAgreement.objects.filter(reference=DEMO_AGREEMENT).first()
    if agreement is None or PartnerUpload.objects.filter(agreement=agreement).exists():
        return None
    org = agreement.organisation
    last = (
        CrimeRecord.objects.filter(source="synthetic", serious_violence=True, tenant_id=agreement.tenant_id)
        .order_by("-occurred_from")
        .first()
    )
    if last is None or last.occurred_from is None:
        return None
    since = last.occurred_from - dt.timedelta(days=182)
    recs = list(
        CrimeRecord.objects.filter(
            source="synthetic",
            serious_violence=True,
            occurred_from__gte=since,
            lat__isnull=False,
            tenant_id=agreement.tenant_id,
        )
        .order_by("reference")
        .values_list("occurred_from", "lat", "lon", "knife_enabled")
    )
    rng = np.random.default_rng(seed)
    weapons = ("none", "blunt", "glass or bottle", "other", "unknown")
    kinds = ("stranger", "acquaintance", "domestic", "unknown")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic-ed-assaults.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["date", "time", "latitude", "longitude", "weapon", "assault"])
            for when, lat, lon, knife in recs:
                if rng.random() > 0.35:
                    continue
                local = timezone.localtime(when)
                for extra in range(1 + int(rng.random() < 0.3)):  # some the police never heard of
                    jitter = rng.normal(0, 0.0006, 2) if extra else (0.0, 0.0)
                    w.writerow(
                        [
                            f"{local:%Y-%m-%d}",
                            f"{local:%H:%M}",
                            f"{lat + jitter[0]:.5f}",
                            f"{lon + jitter[1]:.5f}",
                            "knife" if knife else weapons[int(rng.integers(len(weapons)))],
                            kinds[int(rng.integers(len(kinds)))],
                        ]
                    )
        return partner_import(
            path=path,
            org_code=org.code,
            username="demo",
            filename="synthetic-ed-assaults.csv",
            agreement=agreement,
        )
