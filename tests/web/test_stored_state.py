"""The copy of the synthetic city and its hot spots that later tests in a process get
(:mod:`tests.stored_state`) holds the rows the real store and build would write at that time, with the
same keys; the sequences carry on after it.
Pins its clock (time-machine)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.db import connection, transaction

from tests import stored_state
from tests.city import TEST_NOW, store_city, store_city_with_hotspots

TABLES = (
    "force",
    "organisation",
    "team",
    "area",
    "import_run",
    "crime_record",
    "crime_summary",
    "person",
    "crime_person_link",
    "auth_user",
    "auth_user_groups",
    "profile",
    "institution",
    "analysis_run",
    "hotspot",
)


class _Undo(Exception):
    pass


def _rows() -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables; an unusable password (``!`` and random characters, new at each
    store) as just ``!``."""
    by_table = {m._meta.db_table: m for m in apps.get_models(include_auto_created=True)}
    rows = {t: list(by_table[t].objects.order_by("pk").values()) for t in TABLES}
    for user in rows["auth_user"]:
        if user["password"].startswith("!"):
            user["password"] = "!"
    # the stored summary is an INSERT ... SELECT ... GROUP BY: on PostgreSQL its rows come in any
    # order, so two real stores number them differently (nothing refers to their keys)
    rows["crime_summary"] = sorted(
        ({k: v for k, v in r.items() if k != "id"} for r in rows["crime_summary"]), key=repr
    )
    return rows


def _moved(rows: dict[str, list[dict[str, Any]]], by: timedelta) -> dict[str, list[dict[str, Any]]]:
    """``rows`` with each value written from the clock (at TEST_NOW, the clock being stopped) moved by ``by``."""
    return {
        t: [{k: v + by if v == TEST_NOW else v for k, v in row.items()} for row in table]
        for t, table in rows.items()
    }


@pytest.mark.django_db
def test_the_copy_is_the_real_stores_rows_with_their_keys_at_the_new_time(monkeypatch: Any) -> None:
    from rasure_web.analysis import services as analysis
    from rasure_web.crimes import services as crimes

    real_calls: list[str] = []
    for module, name in ((crimes, "synthetic_city_store"), (analysis, "hotspots_build")):
        original = getattr(module, name)

        def counted(*args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            real_calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    stored_state.forget()
    later = timedelta(days=3, hours=2)
    with time_machine.travel(TEST_NOW, tick=False) as traveller:
        real_run, real = _undone(store_city_with_hotspots)  # the real store and build: a copy is kept
        assert real_calls == ["synthetic_city_store", "hotspots_build"]
        assert all(not rows for rows in _rows().values())
        assert all(real[t] for t in TABLES)

        # what the real store and build write three days later, to compare the copy with
        traveller.move_to(TEST_NOW + later)
        monkeypatch.setenv("RASURE_TESTS_REAL_STORES", "1")
        _, real_later = _undone(store_city_with_hotspots)
        monkeypatch.delenv("RASURE_TESTS_REAL_STORES")
        assert real_calls == ["synthetic_city_store", "hotspots_build"] * 2
        assert real_later == _moved(real, later)

        _reset_sequences()
        run = store_city_with_hotspots()
        assert real_calls == ["synthetic_city_store", "hotspots_build"] * 2  # no real work: the copy
        assert run.pk == real_run.pk and run.created_at == real_run.created_at + later
        assert _rows() == real_later

        # the sequences carry on after the copy's keys
        from rasure_web.crimes.models import ImportRun

        last = max(r["id"] for r in real["import_run"])
        assert ImportRun.objects.create(tenant_id=real["force"][0]["id"], kind="synthetic").pk > last


def _reset_sequences() -> None:
    """Each table's next key after its largest (PostgreSQL's sequences outlive a rollback), so that
    two real stores in a row give the same keys."""
    from django.core.management.color import no_style

    written = [m for m in apps.get_models(include_auto_created=True) if m._meta.db_table in TABLES]
    with connection.cursor() as cur:
        for sql in connection.ops.sequence_reset_sql(no_style(), written):
            cur.execute(sql)


def _undone(store: Any) -> tuple[Any, dict[str, list[dict[str, Any]]]]:
    """``store()`` and the rows it wrote, rolled back."""
    _reset_sequences()
    try:
        with transaction.atomic():
            value = store()
            rows = _rows()
            raise _Undo
    except _Undo:
        pass
    return value, rows


@pytest.mark.django_db
def test_a_database_not_as_before_gets_the_real_store(monkeypatch: Any) -> None:
    from django.contrib.auth import get_user_model

    from rasure_web.crimes import services as crimes

    with transaction.atomic():
        store_city()  # a copy exists from here on in this process
        transaction.set_rollback(True)
    calls: list[int] = []
    original = crimes.synthetic_city_store
    monkeypatch.setattr(crimes, "synthetic_city_store", lambda c: calls.append(1) or original(c))
    with transaction.atomic():
        store_city()
        assert calls == []
        transaction.set_rollback(True)
    get_user_model().objects.create(username="first")
    store_city()
    assert calls == [1]
    assert get_user_model().objects.filter(username="first").exists()
