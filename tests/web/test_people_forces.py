"""``rasure people …`` on an installation of two forces: each command acts for one force (``--force``),
the account's own or one it holds a grant for, and sees or erases only that force's people; without
``--force`` it stops and lists the codes (issue 10). Every person here is built by the test and marked
synthetic."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rasure_web.accounts.models import AccessLog, Force, ForceGrant, Profile
from rasure_web.cli import main
from rasure_web.crimes.models import Area, CrimeRecord, Person
from tests.web.test_people import _crime, _link, _person, _user, people

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]  # today = 2026-11-18 (TEST_NOW)
__all__ = ["people"]

REASON = "DPO decision DPO-2026-018: the force removed this person from its records"


@pytest.fixture
def two(people: dict[str, Person]) -> dict[str, Any]:
    """The hand-built people of tests.web.test_people (the installation's first force) and, in a
    second force OTH, one knife carrier of its own with the same kind of records."""
    home = Force.objects.get()
    oth = Force.objects.create(code="OTH", name="Other force")
    lpa = Area.objects.create(kind="lpa", code="SYN-T-A", name="Other Area A", synthetic=True, tenant=oth)
    Area.objects.create(
        kind="neighbourhood", code="SYN-T-N1", name="N1", parent=lpa, synthetic=True, tenant=oth
    )
    carrier = _person("SYN-O-KNIFE")
    Person.objects.filter(pk=carrier.pk).update(tenant=oth)
    for ref, day in (("O1", "2026-10-05"), ("O2", "2026-11-05")):
        rec = _crime(ref, day, weapon="knife")
        CrimeRecord.objects.filter(pk=rec.pk).update(tenant=oth)
        _link(rec, carrier, "offender")
    intel = _user("t-intel", "analyst", intelligence=True)
    admin = _user("t-admin", "admin")
    for u in (intel, admin):
        Profile.objects.create(user=u, force=home)
    return {"home": home, "oth": oth, "intel": intel, "admin": admin}


def _listed(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    capsys.readouterr()
    assert (
        main(["people", "list", "--user", "t-intel", "--reason", "plan", "--list", "knife", "--json", *argv])
        == 0
    )
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def _exports() -> list[AccessLog]:
    return list(AccessLog.objects.filter(resource__in=("people_export", "people_monitor")).order_by("pk"))


def test_list_and_monitor_act_for_the_force_named(
    two: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    home = two["home"].code
    base = ["--user", "t-intel", "--reason", "plan", "--list", "knife"]
    assert main(["people", "list", *base]) == 2  # two forces, no --force: stop and list the codes
    err = capsys.readouterr().err
    assert f"{home}, OTH" in err and "--force CODE" in err
    assert main(["people", "monitor", "--user", "t-intel"]) == 2
    assert f"{home}, OTH" in capsys.readouterr().err
    doc = _listed(capsys, "--force", home)
    assert doc["force"] == home and [p["person_id"] for p in doc["people"]] == ["SYN-T-KNIFE"]
    # the other force's people: refused without a grant, nothing shown and nothing logged as shown
    n = len(_exports())
    assert main(["people", "list", *base, "--force", "oth"]) == 2
    assert "holds no grant for force OTH" in capsys.readouterr().err
    assert main(["people", "monitor", "--user", "t-intel", "--force", "OTH"]) == 2
    assert len(_exports()) == n
    ForceGrant.objects.create(user=two["intel"], force=two["oth"], reason="regional review", granted_by="t-x")
    doc = _listed(capsys, "--force", "OTH")
    assert doc["force"] == "OTH" and [p["person_id"] for p in doc["people"]] == ["SYN-O-KNIFE"]
    assert all(p["synthetic"] for p in doc["people"])
    row = _exports()[-1]
    assert "force OTH" in row.detail and "SYN-O-KNIFE" in row.detail and "SYN-T-KNIFE" not in row.detail
    capsys.readouterr()
    assert main(["people", "monitor", "--user", "t-intel", "--json", "--months", "1", "--force", "OTH"]) == 0
    mon = json.loads(capsys.readouterr().out)
    assert mon["force"] == "OTH" and mon["series"][-1]["by_list"]["knife"] == 1
    assert mon["series"][-1]["total"] == 1  # the other force lists one person; the home force several
    assert main(["people", "monitor", "--user", "t-intel", "--json", "--months", "1", "--force", home]) == 0
    mon_home = json.loads(capsys.readouterr().out)
    assert mon_home["force"] == home and mon_home["series"][-1]["total"] > 1
    assert "force OTH" in _exports()[-2].detail and f"force {home}" in _exports()[-1].detail


def test_delete_erases_only_in_the_force_named(
    two: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    home = two["home"].code
    argv = ["people", "delete", "SYN-O-KNIFE", "--reason", REASON, "--user", "t-admin"]
    assert main(argv) == 2
    assert f"{home}, OTH" in capsys.readouterr().err
    assert main([*argv, "--force", home]) == 2  # not a person of the home force
    assert main([*argv, "--force", "OTH"]) == 2  # the administrator holds no grant for OTH
    assert "holds no grant for force OTH" in capsys.readouterr().err
    assert Person.objects.filter(person_id="SYN-O-KNIFE").exists()
    assert (
        main(["people", "delete", "SYN-T-KNIFE", "--reason", REASON, "--user", "t-admin", "--force", home])
        == 0
    )
    assert f"erased SYN-T-KNIFE of force {home}" in capsys.readouterr().out
    assert not Person.objects.filter(person_id="SYN-T-KNIFE").exists()
    assert Person.objects.filter(person_id="SYN-O-KNIFE", tenant=two["oth"]).exists()
