"""The migration that made partner agreements and uploads a force's (partners 0002_tenant): rows
written before go to the force of their areas or their organisation's agreement, anything else to
the existing force. Run backwards and forwards with Django's migration executor on a real database
(SQLite, and PostgreSQL with DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("partners", "0001_initial")]
AFTER = [("partners", "0002_tenant")]


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    # the state of every app as migrated now: the other apps' latest, partners' at the target
    others = [n for n in executor.loader.graph.leaf_nodes() if n[0] != "partners"]
    return executor.loader.project_state(others + targets).apps


def test_existing_agreements_and_uploads_get_a_force() -> None:
    old = _migrate(BEFORE)
    Force = old.get_model("accounts", "Force")
    Org = old.get_model("accounts", "Organisation")
    Area = old.get_model("crimes", "Area")
    Agreement = old.get_model("partners", "DataSharingAgreement")
    Upload = old.get_model("partners", "PartnerUpload")
    first = Force.objects.create(code="AAA", name="Force A (synthetic)")
    second = Force.objects.create(code="BBB", name="Force B (synthetic)")
    lpa = Area.objects.create(tenant=second, kind="lpa", code="SYN-LPA-C", name="Central LPA")
    org = Org.objects.create(code="VRU-B", name="Synthetic VRU", kind="vru")
    lone = Org.objects.create(code="LONE", name="Synthetic charity", kind="charity")
    day = dt.date(2026, 11, 1)
    terms = {"purpose": "x", "starts_on": day, "expires_on": day, "signed_off_by": "x", "signed_off_on": day}
    with_areas = Agreement.objects.create(reference="DSA-B", organisation=org, **terms)
    with_areas.areas.add(lpa)
    bare = Agreement.objects.create(reference="DSA-BARE", organisation=lone, **terms)
    when = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    up = Upload.objects.create(
        organisation=org, filename="a.csv", sha256="a" * 64, username="t", uploaded_at=when
    )
    orphan = Upload.objects.create(
        organisation=Org.objects.create(code="NOAGR", name="Synthetic trust", kind="health"),
        filename="b.csv",
        sha256="b" * 64,
        username="t",
        uploaded_at=when,
    )

    new = _migrate(AFTER)
    Agreement = new.get_model("partners", "DataSharingAgreement")
    Upload = new.get_model("partners", "PartnerUpload")
    assert Agreement.objects.get(pk=with_areas.pk).tenant_id == second.pk  # the force of its areas
    assert Agreement.objects.get(pk=bare.pk).tenant_id == first.pk  # the existing force (first by code)
    moved = Upload.objects.get(pk=up.pk)
    assert (moved.tenant_id, moved.agreement_id) == (second.pk, with_areas.pk)
    assert Upload.objects.get(pk=orphan.pk).tenant_id == first.pk
    assert not Upload.objects.filter(tenant__isnull=True).exists()
