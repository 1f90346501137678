"""The stored summary the dashboard overview reads (rasure_web.crimes.summary) always agrees with the
records: after an import, a re-import that changes records, a harm-table load, a scope load and
deletions, for one force and for two, and per LPA; the figures here are computed from the records
directly (pandas over every record), on whichever database the run uses (SQLite and PostgreSQL in CI)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from django.conf import settings
from django.contrib.auth.models import User

from rasure_web.accounts.models import Force, Profile
from rasure_web.cli import main
from rasure_web.crimes.models import CrimeRecord, RecordSummary
from rasure_web.crimes.selectors import records_summary
from rasure_web.dashboard.selectors import categories, monthly_series
from tests.factories import us_city_export
from tests.web.test_force_rules import HARM_B, SCOPE_B
from tests.web.test_patrol_routes import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def _records(tenant: int) -> pd.DataFrame:
    """Every column of the force's records, read plainly: the reference the summary is checked against."""
    columns = [f.attname for f in CrimeRecord._meta.concrete_fields]
    rows = CrimeRecord.objects.filter(tenant_id=tenant).values(*columns)
    df = pd.DataFrame.from_records(list(rows), columns=columns)
    df["harm_days"] = df["harm_days"].astype(float)
    return df


def _analyst_of(tenant: int) -> Any:
    """An analyst of the force, to read the dashboard's figures as the dashboard does."""
    user = make_user(f"analyst-{tenant}-{User.objects.count()}", role="analyst")
    Profile.objects.update_or_create(user=user, defaults={"force_id": tenant})
    return user


def _series_direct(df: pd.DataFrame) -> pd.DataFrame:
    """SV count and harm per local month, from the month 760 days before the last SV record on."""
    sv = df[df["serious_violence"].astype(bool) & df["occurred_from"].notna()]
    if sv.empty:
        return pd.DataFrame({"month": [], "count": [], "harm": []})
    local = pd.to_datetime(sv["occurred_from"], utc=True).dt.tz_convert(settings.TIME_ZONE)
    last = pd.to_datetime(sv["occurred_from"], utc=True).max()
    start = (last - pd.Timedelta(days=760)).tz_convert(settings.TIME_ZONE).strftime("%Y-%m")
    sv = sv.assign(month=local.dt.strftime("%Y-%m"))
    sv = sv[sv["month"] >= start]
    out = sv.groupby("month").agg(count=("month", "size"), harm=("harm_days", "sum")).reset_index()
    return out


def _assert_agrees(tenant: int, code: str) -> None:
    from rasure_web.crimes.areas import lsoa_codes_in
    from rasure_web.crimes.models import Area

    df = _records(tenant)
    analyst = _analyst_of(tenant)
    s = records_summary(force=code)
    sv = df[df["serious_violence"].astype(bool)]
    assert s["records"] == len(df) and s["serious_violence"] == len(sv)
    assert s["without_location"] == int(df["easting"].isna().sum())
    assert s["harm_days"] == pytest.approx(round(float(sv["harm_days"].sum()), 2), abs=0.011)
    assert s["harm_days_all_records"] == pytest.approx(round(float(df["harm_days"].sum()), 2), abs=0.011)
    assert s["knife_enabled"] == int(df["knife_enabled"].sum())
    assert s["gun_crime"] == int(df["gun_crime"].sum())
    by = df.fillna({"category": "(none)"}).groupby("category")
    assert {k: v["records"] for k, v in s["by_category"].items()} == by.size().to_dict()
    assert {k: v["serious_violence"] for k, v in s["by_category"].items()} == {
        k: int(v) for k, v in by["serious_violence"].sum().items()
    }
    for k, v in s["by_category"].items():
        assert v["harm_days"] == pytest.approx(float(by.get_group(k)["harm_days"].sum()))
    if len(df):
        assert s["first_occurred"] == df["occurred_from"].min().isoformat()
        assert s["last_occurred"] == df["occurred_to"].max().isoformat()
    else:
        assert s["first_occurred"] is None and s["last_occurred"] is None
    assert categories(user=analyst) == sorted(df["category"].dropna().unique().tolist())
    areas = [("", df)]
    for lpa in Area.objects.filter(tenant_id=tenant, kind=Area.Kind.LPA).values_list("code", flat=True):
        areas.append((lpa, df[df["lsoa_code"].isin(lsoa_codes_in(lpa, tenant=tenant))]))
    for area, part in areas:
        ours, ref = monthly_series(user=analyst, area_code=area), _series_direct(part)
        assert ours["month"].tolist() == ref["month"].tolist(), area
        assert ours["count"].tolist() == ref["count"].tolist(), area
        assert ours["harm"].tolist() == pytest.approx(ref["harm"].astype(float).tolist()), area


def _force(code: str) -> Force:
    return Force.objects.create(code=code, name=f"Force {code}", crs="EPSG:32616")  # the export's CRS


def _import(export: Path, mapping: Path, force: str) -> None:
    assert main(["import", "records", str(export), "--mapping", str(mapping), "--force", force]) == 0


def test_summary_agrees_after_import_reimport_harm_scope_and_deletion(tmp_path: Path) -> None:
    from rasure_web.crimes.services import records_delete

    export, mapping, scope = us_city_export(tmp_path)
    f = _force("AAA")
    _import(export, mapping, "AAA")
    assert RecordSummary.objects.filter(tenant=f).count() < CrimeRecord.objects.filter(tenant=f).count()
    _assert_agrees(f.pk, "AAA")

    # a re-import that moves records to other months and other offences (updates, not duplicates)
    rows = pd.read_csv(export, dtype=str)
    rows.loc[:49, "Date"] = "2023-06-30 23:30"  # late evening, BST: 22:30 UTC, still June locally
    rows.loc[50:99, "IUCR"] = "0820"
    rows.loc[100:109, "Date"] = "2024-12-31 23:59"  # winter: the last minute of the year, locally and in UTC
    rows.loc[110:119, "Date"] = "2024-04-01 00:30"  # BST: 23:30 UTC on 31 March, April locally
    rows.to_csv(export, index=False)
    _import(export, mapping, "AAA")
    assert CrimeRecord.objects.filter(tenant=f).count() == len(rows)
    _assert_agrees(f.pk, "AAA")

    harm = tmp_path / "harm.csv"
    harm.write_text(HARM_B, encoding="utf-8")
    assert main(["harm", "load", str(harm), "--force", "AAA"]) == 0
    _assert_agrees(f.pk, "AAA")

    scope_b = tmp_path / "scope_b.csv"
    scope_b.write_text(SCOPE_B, encoding="utf-8")
    assert main(["scope", "load", str(scope_b), "--force", "AAA"]) == 0
    assert main(["scope", "load", str(scope), "--force", "AAA"]) == 0
    _assert_agrees(f.pk, "AAA")

    from rasure_web.dashboard.selectors import data_version

    before = data_version()
    cut = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    n_old = CrimeRecord.objects.filter(tenant=f, occurred_from__lt=cut).count()
    assert 0 < records_delete(force="AAA", occurred_before=cut) == n_old
    assert data_version() != before  # the dashboard's cached figures are not served after a deletion
    _assert_agrees(f.pk, "AAA")
    assert records_delete(force="AAA") > 0
    assert not RecordSummary.objects.filter(tenant=f).exists()
    _assert_agrees(f.pk, "AAA")


def test_two_forces_each_summary_holds_its_own_records(tmp_path: Path) -> None:
    export, mapping, scope = us_city_export(tmp_path)
    a, b = _force("AAA"), _force("BBB")
    assert main(["scope", "load", str(scope), "--force", "AAA"]) == 0
    _import(export, mapping, "AAA")
    rows = pd.read_csv(export, dtype=str).head(200)
    rows.to_csv(tmp_path / "fewer.csv", index=False)
    _import(tmp_path / "fewer.csv", mapping, "BBB")
    harm = tmp_path / "harm.csv"
    harm.write_text(HARM_B, encoding="utf-8")
    assert main(["harm", "load", str(harm), "--force", "BBB"]) == 0
    sa, sb = records_summary(force="AAA"), records_summary(force="BBB")
    assert (sa["records"], sb["records"]) == (460, 200)
    assert sa["harm_days_all_records"] != sb["harm_days_all_records"]
    _assert_agrees(a.pk, "AAA")
    _assert_agrees(b.pk, "BBB")


def test_summary_agrees_per_lpa_for_the_synthetic_city_stored_twice() -> None:
    """The synthetic city has LPAs over neighbourhoods: each LPA's series is its own records'."""
    from rasure_web.accounts.tenancy import resolve_force
    from rasure_web.crimes.services import synthetic_city_store
    from tests.city import city

    c = city(0.2)
    synthetic_city_store(c)
    t = resolve_force(None)
    _assert_agrees(t.pk, t.code)
    assert RecordSummary.objects.filter(tenant=t).exclude(area_code="").exists()
    recs = c.records.copy()
    recs.loc[recs.index[:300], "occurred_from"] = recs["occurred_from"].iloc[:300] - pd.Timedelta(days=45)
    synthetic_city_store(dataclasses.replace(c, records=recs))
    _assert_agrees(t.pk, t.code)


def test_utc_offsets_follow_the_clock_changes() -> None:
    from rasure_web.crimes.summary import utc_offsets

    steps = utc_offsets(dt.datetime(2024, 1, 1), dt.datetime(2024, 12, 31), "Europe/London")
    assert steps == [
        (dt.datetime(2024, 1, 1), 0),
        (dt.datetime(2024, 3, 31, 1, 0), 3600),
        (dt.datetime(2024, 10, 27, 1, 0), 0),
    ]
    assert utc_offsets(dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 1), "America/Chicago") == [
        (dt.datetime(2024, 1, 1), -6 * 3600)
    ]


def test_refresh_leaves_the_work_mem_it_found(tmp_path: Path) -> None:
    """PostgreSQL: the refresh's own ``work_mem`` (summary.SUMMARY_WORK_MEM) ends with it; the
    caller's transaction goes on with the setting it had."""
    from django.db import connection, transaction

    from rasure_web.crimes.summary import refresh_summary

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    export, mapping, _ = us_city_export(tmp_path)
    f = _force("AAA")
    _import(export, mapping, "AAA")
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL work_mem = '5MB'")
        assert refresh_summary(f.pk) > 0
        cur.execute("SHOW work_mem")
        assert cur.fetchone()[0] == "5MB"
    _assert_agrees(f.pk, "AAA")
