"""Grouping keys computed in SQL (rasure_web.sqlkeys) against Python's own dates, on both databases;
and the dashboard's monthly series, from the stored summary (crimes.summary), against pandas on the
same records."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pandas as pd
import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from rasure_web.accounts.tenancy import resolve_force
from rasure_web.analysis.models import HotSpot
from rasure_web.sqlkeys import UTCHourKey, WeekStart
from tests.city import only_force_id, store_city_with_hotspots

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

UTC = dt.UTC


def _visits(times: list[dt.datetime], days: list[dt.date]) -> Any:
    from rasure_web.patrols.models import Visit

    store_city_with_hotspots()
    hs = HotSpot.objects.first()
    officer = User.objects.create_user(username="pc-keys")
    Visit.objects.bulk_create(
        Visit(
            visit_id=uuid.uuid4(),
            start_client_id=uuid.uuid4(),
            officer=officer,
            hotspot=hs,
            trial_day=d,
            started_at=t,
            start_received_at=t,
        )
        for t, d in zip(times, days, strict=True)
    )
    return Visit.objects.order_by("pk")


def test_week_start_and_utc_hour_key_equal_python() -> None:
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(0, 400, 3)]
    # Around both 2024 clock changes in London, and a new year.
    times = [
        dt.datetime(2024, 3, 31, 0, 30, tzinfo=UTC) + dt.timedelta(minutes=40 * i) for i in range(len(days))
    ]
    times[-3:] = [
        dt.datetime(2024, 10, 27, 0, 59, 59, tzinfo=UTC),
        dt.datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        dt.datetime(2025, 1, 1, 0, 0, tzinfo=UTC),
    ]
    rows = list(
        _visits(times, days)
        .annotate(w=WeekStart("trial_day"), h=UTCHourKey("started_at"))
        .values_list("w", "h")
    )
    assert [w for w, _ in rows] == [d - dt.timedelta(days=d.weekday()) for d in days]
    assert [h for _, h in rows] == [t.astimezone(UTC).strftime("%Y-%m-%d %H") for t in times]


def test_monthly_series_grouped_in_sql_equals_pandas() -> None:
    from rasure_web.crimes.models import CrimeRecord
    from rasure_web.dashboard.selectors import _monthly_series

    store_city_with_hotspots()
    ours = _monthly_series("", resolve_force(None).pk)
    rows = list(CrimeRecord.objects.filter(serious_violence=True).values_list("occurred_from", "harm_days"))
    ref = pd.DataFrame(rows, columns=["t", "harm"])
    last = ref["t"].max()
    tz = timezone.get_current_timezone()
    start = f"{(last - dt.timedelta(days=760)).astimezone(tz):%Y-%m}"  # whole local months from there
    ref["month"] = pd.to_datetime(ref["t"], utc=True).dt.tz_convert(tz).dt.strftime("%Y-%m")
    ref = ref[ref["month"] >= start]
    ref = ref.groupby("month").agg(count=("t", "size"), harm=("harm", "sum")).reset_index()
    assert len(ours) > 12
    assert ours["month"].tolist() == ref["month"].tolist()
    assert ours["count"].tolist() == ref["count"].tolist()
    pd.testing.assert_series_equal(ours["harm"], ref["harm"].astype(float), check_names=False, rtol=1e-9)


def test_patrol_monitoring_aggregated_in_sql_equals_python() -> None:
    """52 weeks of visits (synthetic officers): the per-hot-spot-week and per-officer figures, now
    aggregated in the database, against the same sums done visit by visit in Python."""
    import random

    from rasure_web import clock
    from rasure_web.dashboard.integrations import patrol_monitoring
    from rasure_web.patrols.models import Visit
    from rasure_web.trials.selectors import patrol_rules_for

    store_city_with_hotspots()
    spots = list(HotSpot.objects.order_by("pk")[:3])
    officers = [
        User.objects.create_user(username=f"pc-syn-{i}", first_name=f"PC Synthetic {i}") for i in range(4)
    ]
    rng = random.Random(5)
    today = patrol_rules_for(when=clock.now(), force_id=only_force_id()).trial_day
    now = clock.now()
    rows = []
    for _ in range(300):
        d = today - dt.timedelta(days=rng.randrange(0, 380))
        rows.append(
            Visit(
                visit_id=uuid.uuid4(),
                start_client_id=uuid.uuid4(),
                officer=rng.choice(officers),
                hotspot=rng.choice(spots),
                trial_day=d,
                arm=rng.choice(["treatment", "control", ""]),
                started_at=now,
                start_received_at=now,
                status=rng.choice(["open", "ended"]),
                dose_minutes=rng.choice([3.0, 14.99, 15.0, 22.5]),
                spoken_to=rng.choice([None, 0, 2]),
            )
        )
    Visit.objects.bulk_create(rows)
    m = patrol_monitoring(weeks=52, force_id=only_force_id())
    since = m["since"]
    kept = [v for v in rows if v.trial_day >= since]
    assert m["total_visits"] == len(kept) and m["total_minutes"] == pytest.approx(
        sum(v.dose_minutes for v in kept)
    )
    ref: dict[tuple[int, dt.date], list[Visit]] = {}
    for v in kept:
        ref.setdefault((v.hotspot_id, v.trial_day - dt.timedelta(days=v.trial_day.weekday())), []).append(v)
    got = {(r["hotspot_id"], r["week"]): r for r in m["by_spot"]}
    assert set(got) == set(ref)
    for key, vs in ref.items():
        r = got[key]
        assert r["visits"] == len(vs)
        assert r["dose"] == pytest.approx(sum(v.dose_minutes for v in vs))
        assert r["met"] == sum(v.dose_minutes >= m["target"] for v in vs)
        assert r["control_visits"] == sum(v.arm == "control" for v in vs)
        assert r["treated_days"] == 0 and r["share_of_plan"] is None
    weeks = [r["week"] for r in m["by_spot"]]
    assert weeks == sorted(weeks, reverse=True)
    top = m["officers"][0]
    mine = [v for v in kept if v.officer.username == top["officer__username"]]
    assert top["visits"] == len(mine) and top["minutes"] == pytest.approx(sum(v.dose_minutes for v in mine))
    assert top["forms"] == sum(v.status != "open" for v in mine)
    assert top["people"] == sum(v.spoken_to or 0 for v in mine)
    assert top["minutes"] == max(o["minutes"] for o in m["officers"])


def test_records_summary_in_one_scan_equals_pandas() -> None:
    from rasure_web.crimes.models import CrimeRecord
    from rasure_web.crimes.selectors import records_summary

    store_city_with_hotspots()
    s = records_summary()
    cols = [
        "category",
        "serious_violence",
        "harm_days",
        "easting",
        "knife_enabled",
        "gun_crime",
        "occurred_from",
        "occurred_to",
    ]
    df = pd.DataFrame(list(CrimeRecord.objects.values_list(*cols)), columns=cols)
    sv = df[df["serious_violence"]]
    assert s["records"] == len(df) and s["serious_violence"] == len(sv)
    assert s["without_location"] == int(df["easting"].isna().sum())
    assert s["harm_days"] == round(float(sv["harm_days"].sum()), 2)
    assert s["harm_days_all_records"] == round(float(df["harm_days"].sum()), 2)
    assert s["knife_enabled"] == int(df["knife_enabled"].sum()) and s["gun_crime"] == int(
        df["gun_crime"].sum()
    )
    by = df.fillna({"category": "(none)"}).groupby("category")
    assert {k: v["records"] for k, v in s["by_category"].items()} == by.size().to_dict()
    assert {k: v["serious_violence"] for k, v in s["by_category"].items()} == by[
        "serious_violence"
    ].sum().to_dict()
    counts = [v["records"] for v in s["by_category"].values()]
    assert counts == sorted(counts, reverse=True)
    assert s["first_occurred"] == df["occurred_from"].min().isoformat()
    assert s["last_occurred"] == df["occurred_to"].max().isoformat()


def test_hot_times_from_grouped_rows_equal_hot_times_from_every_record() -> None:
    from django.db.models import Max

    from rasure_web.crimes.models import CrimeRecord
    from rasure_web.dashboard.selectors import _heatmap, _hot_times_matrix

    store_city_with_hotspots()
    qs = CrimeRecord.objects.filter(serious_violence=True)
    last = qs.aggregate(m=Max("occurred_from"))["m"]
    rows = list(
        qs.filter(occurred_from__gte=last - dt.timedelta(days=360)).values_list(
            "occurred_from", "occurred_to", "time_precision"
        )
    )
    ref = _heatmap(pd.DataFrame(rows, columns=["occurred_from", "occurred_to", "time_precision"]))
    ours = _hot_times_matrix("", 12, resolve_force(None).pk)
    assert ref["n_used"] > 100 and ours["n_used"] == ref["n_used"]
    assert ours["n_month_only"] == ref["n_month_only"]
    for a, b in zip(ours["rows"], ref["rows"], strict=True):
        assert a["day"] == b["day"]
        assert [v for v, _ in a["cells"]] == pytest.approx([v for v, _ in b["cells"]], rel=1e-12, abs=1e-12)


def test_patrol_monitoring_rows_are_escaped_and_formatted() -> None:
    from rasure_web.dashboard.integrations import _by_spot_rows

    html = str(
        _by_spot_rows(
            [
                {
                    "week": dt.date(2026, 1, 5),
                    "hotspot__code": "N1",
                    "hotspot__name": "<b>Elm & Oak</b>",
                    "visits": 3,
                    "dose": 44.6,
                    "met": 2,
                    "treated_days": 2,
                    "planned_minutes": 30.0,
                    "share_of_plan": 44.6 / 30,
                    "control_visits": 1,
                },
                {
                    **dict.fromkeys(["visits", "met", "treated_days", "control_visits"], 0),
                    "week": dt.date(2026, 1, 12),
                    "hotspot__code": "D2",
                    "hotspot__name": "",
                    "dose": None,
                    "planned_minutes": 0.0,
                    "share_of_plan": None,
                },
            ]
        )
    )
    assert "&lt;b&gt;Elm &amp; Oak&lt;/b&gt;" in html and "<b>" not in html
    assert "<td>5 Jan</td>" in html and '<td class="num">45</td>' in html and "149%" in html
    assert "<td>12 Jan</td>" in html and "—" in html
