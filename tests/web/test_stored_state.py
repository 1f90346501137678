"""The copy of the synthetic city and its hot spots that later tests in a process get
(:mod:`tests.stored_state`) holds the rows the real store and build wrote, with the same keys; its
clock-written timestamps read as written at the time of the copy; the sequences carry on after it.
Pins its clock (time-machine)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.db import transaction

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
    by_table = {m._meta.db_table: m for m in apps.get_models(include_auto_created=True)}
    return {t: list(by_table[t].objects.order_by("pk").values()) for t in TABLES}


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
    with time_machine.travel(TEST_NOW, tick=False) as traveller:
        try:
            with transaction.atomic():
                real_run = store_city_with_hotspots()
                real = _rows()
                raise _Undo
        except _Undo:
            pass
        assert real_calls == ["synthetic_city_store", "hotspots_build"]
        assert all(not rows for rows in _rows().values())
        assert all(real[t] for t in TABLES)

        traveller.move_to(TEST_NOW + timedelta(days=3, hours=2))
        run = store_city_with_hotspots()
        assert real_calls == ["synthetic_city_store", "hotspots_build"]  # no real work: the copy
        assert run.pk == real_run.pk and run.created_at == real_run.created_at + timedelta(days=3, hours=2)
        assert _rows() == _moved(real, timedelta(days=3, hours=2))

        # the sequences carry on after the copy's keys
        from rasure_web.crimes.models import ImportRun

        last = max(r["id"] for r in real["import_run"])
        assert ImportRun.objects.create(tenant_id=real["force"][0]["id"], kind="synthetic").pk > last


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
