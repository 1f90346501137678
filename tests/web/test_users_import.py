"""Forces, teams, profiles and ``rasure users import``: validation, all-or-nothing, idempotency, roles,
deactivation, the crew picker's colleagues by force. Every person here is synthetic."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from rasure_web.accounts.models import Force, Organisation, Profile, Team
from rasure_web.accounts.roles import ALL_ROLES, ROLE_DESCRIPTIONS
from rasure_web.accounts.services import COLUMNS, UsersImportError, force_add, users_import
from rasure_web.cli import main
from tests.web.test_patrol_routes import client_for, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture
def forces(db: Any) -> dict[str, Any]:
    a = Force.objects.create(code="SYNA", name="Synthetic Alpha Police")
    b = Force.objects.create(code="SYNB", name="Synthetic Beta Police")
    org = Organisation.objects.create(code="SYNA", name="Synthetic Alpha Police", kind="force", force=a)
    council = Organisation.objects.create(code="SYNCOUNCIL", name="Synthetic Council", kind="council")
    ta = Team.objects.create(force=a, code="RT1", name="Response Team 1", kind="response")
    tb = Team.objects.create(
        force=a, code="NH", name="Neighbourhood", kind="neighbourhood", lpa_code="SYN-LPA-C"
    )
    Team.objects.create(force=b, code="RT1", name="Beta Response 1", kind="response")
    return {"a": a, "b": b, "org": org, "council": council, "rt1": ta, "nh": tb}


def synthetic_rows(n: int, *, force: str = "SYNA") -> list[dict[str, str]]:
    return [
        {
            "username": f"syn.officer{i:05d}",
            "full_name": f"Synthetic Officer {i:05d}",
            "email": f"syn.officer{i:05d}@example.invalid",
            "collar_number": str(10000 + i),
            "force": force,
            "organisation": "SYNA",
            "team": "RT1" if i % 2 else "NH",
            "roles": "officer" if i % 10 else "officer;supervisor",
        }
        for i in range(n)
    ]


def write_csv(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns))
        w.writeheader()
        w.writerows(rows)
    return path


def run(path: Path, **kw: Any) -> Any:
    from rasure_web import clock

    return users_import(path=path, user=None, when=clock.now(), **kw)


# --- roles and models ---------------------------------------------------------------------------------


def test_researcher_is_a_role_with_a_group() -> None:
    assert "researcher" in ALL_ROLES and set(ROLE_DESCRIPTIONS) == set(ALL_ROLES)
    assert set(Group.objects.values_list("name", flat=True)) >= set(ALL_ROLES)


def test_collar_numbers_are_unique_within_a_force_only(forces: dict[str, Any]) -> None:
    u1, u2, u3 = (User.objects.create_user(f"syn{i}") for i in range(3))
    Profile.objects.create(user=u1, force=forces["a"], collar_number="123")
    Profile.objects.create(user=u3, force=forces["b"], collar_number="123")  # another force: fine
    Profile.objects.create(user=User.objects.create_user("syn-nocollar-1"), force=forces["a"])
    Profile.objects.create(user=User.objects.create_user("syn-nocollar-2"), force=forces["a"])  # empty: fine
    with pytest.raises(IntegrityError), transaction.atomic():
        Profile.objects.create(user=u2, force=forces["a"], collar_number="123")
    with pytest.raises(IntegrityError), transaction.atomic():
        Team.objects.create(force=forces["a"], code="RT1", name="again", kind="response")


# --- rasure force ----------------------------------------------------------------------------------------


def test_force_add_and_list(db: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["force", "add", "SYNX", "--name", "Synthetic X Police"]) == 0
    f = Force.objects.get(code="SYNX")
    assert (f.time_zone, f.crs) == ("Europe/London", "EPSG:27700")
    assert main(["force", "add", "SYNX", "--name", "Synthetic X Police"]) == 0  # same again: unchanged
    assert main(["force", "add", "SYNX", "--name", "Other"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["force", "add", "SYNY", "--name", "Y", "--timezone", "Europe/Nowhere"]) == 2
    assert "time zone" in capsys.readouterr().err
    assert main(["force", "add", "SYNY", "--name", "Y", "--crs", "EPSG:4326"]) == 2  # not projected
    assert main(["force", "add", "syn-y", "--name", "Y"]) == 2
    assert (
        main(["force", "add", "SYNY", "--name", "Y", "--timezone", "Europe/Dublin", "--crs", "EPSG:2157"])
        == 0
    )
    capsys.readouterr()
    assert main(["force", "list"]) == 0
    out = capsys.readouterr().out
    assert "SYNX" in out and "Synthetic X Police" in out and "EPSG:2157" in out
    with pytest.raises(Exception, match="already exists"):
        force_add(code="SYNX", name="Changed", user=None)


# --- users import -------------------------------------------------------------------------------------


def test_import_creates_then_is_idempotent_then_updates(
    forces: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = synthetic_rows(5)
    path = write_csv(tmp_path / "users.csv", rows)
    assert main(["users", "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "5 created, 0 updated, 0 unchanged" in out and "no usable password" in out
    u = User.objects.get(username="syn.officer00001")
    assert (u.first_name, u.last_name, u.email) == (
        "Synthetic Officer",
        "00001",
        "syn.officer00001@example.invalid",
    )
    assert not u.has_usable_password()
    p = u.profile
    assert (p.force, p.organisation, p.team, p.collar_number) == (
        forces["a"],
        forces["org"],
        forces["rt1"],
        "10001",
    )
    assert set(User.objects.get(username="syn.officer00000").groups.values_list("name", flat=True)) == {
        "officer",
        "supervisor",
    }
    assert main(["users", "import", str(path)]) == 0
    assert "0 created, 0 updated, 5 unchanged" in capsys.readouterr().out
    # a changed row updates; roles in the file replace the role groups (other groups are kept)
    keep = Group.objects.create(name="synthetic-club")
    User.objects.get(username="syn.officer00000").groups.add(keep)
    rows[0]["roles"] = "analyst"
    rows[2]["team"] = "RT1"
    rows[3]["email"] = "new.address@example.invalid"
    write_csv(path, rows)
    assert main(["users", "import", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "DRY RUN" in out and "0 would be created, 3 would be updated, 2 unchanged" in out
    assert "update syn.officer00000: roles" in out and "update syn.officer00002: team" in out
    assert User.objects.get(username="syn.officer00003").email == "syn.officer00003@example.invalid"
    assert main(["users", "import", str(path)]) == 0
    assert "0 created, 3 updated, 2 unchanged" in capsys.readouterr().out
    assert set(User.objects.get(username="syn.officer00000").groups.values_list("name", flat=True)) == {
        "analyst",
        "synthetic-club",
    }
    assert Profile.objects.get(user__username="syn.officer00002").team == forces["rt1"]
    assert User.objects.get(username="syn.officer00003").email == "new.address@example.invalid"


def test_collar_numbers_can_swap_within_one_file(forces: dict[str, Any], tmp_path: Path) -> None:
    rows = synthetic_rows(2)
    path = write_csv(tmp_path / "users.csv", rows)
    run(path)
    rows[0]["collar_number"], rows[1]["collar_number"] = rows[1]["collar_number"], rows[0]["collar_number"]
    write_csv(path, rows)
    report = run(path)
    assert len(report.updated) == 2
    assert Profile.objects.get(user__username="syn.officer00000").collar_number == "10001"


def test_bad_rows_are_all_reported_and_nothing_changes(
    forces: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = User.objects.create_user("syn.holder")
    Profile.objects.create(user=holder, force=forces["a"], collar_number="777")
    rows = synthetic_rows(3)
    bad = [
        {**rows[0], "force": "NOPE"},  # line 2
        {**rows[1], "roles": "officer;chief"},  # line 3
        {**rows[2], "email": "not-an-email"},  # line 4
        {**synthetic_rows(4)[3], "username": "syn.officer00002"},  # line 5: duplicate username
        {**synthetic_rows(5)[4], "collar_number": "10002", "username": "syn.x"},  # line 6: duplicate collar
        {**synthetic_rows(6)[5], "collar_number": "777"},  # line 7: held by syn.holder
        {**synthetic_rows(7)[6], "full_name": ""},  # line 8: missing
        {**synthetic_rows(8)[7], "team": "ZZ"},  # line 9
        {**synthetic_rows(9)[8], "organisation": "NOORG"},  # line 10
        {**synthetic_rows(10)[9], "force": "SYNB", "team": ""},  # line 11: Alpha's own organisation
    ]
    path = write_csv(tmp_path / "bad.csv", bad)
    errors = tmp_path / "errors.csv"
    assert main(["users", "import", str(path), "--errors-out", str(errors)]) == 1
    err = capsys.readouterr().err
    assert "nothing was changed" in err
    expect = [
        (2, "force", "unknown force code"),
        (3, "roles", "unknown role(s) chief"),
        (4, "email", "not a valid email"),
        (5, "username", "same username is on line 4"),
        (6, "collar_number", "same collar number in force SYNA is on line 4"),
        (7, "collar_number", "belongs to user syn.holder"),
        (8, "full_name", "required"),
        (9, "team", "unknown team code in force SYNA"),
        (10, "organisation", "unknown organisation code"),
        (11, "organisation", "organisation SYNA belongs to force SYNA, not to this row's force SYNB"),
    ]
    for line, col, text in expect:
        assert f"bad.csv, line {line}, field '{col}'" in err and text in err, (line, col, err)
    assert "How to fix" in err
    with errors.open(encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == len(expect)
    assert not User.objects.filter(username__startswith="syn.officer").exists()
    assert Profile.objects.count() == 1


def test_bad_header_and_missing_force(
    forces: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "h.csv", [], columns=COLUMNS[:-1])
    assert main(["users", "import", str(path)]) == 1
    assert "h.csv, line 1: the header lacks column(s) roles" in capsys.readouterr().err
    # no organisation: the rows' usual one is Alpha's own, which a Beta officer may not name
    rows = [{**synthetic_rows(1)[0], "force": "", "team": "RT1", "organisation": ""}]
    path = write_csv(tmp_path / "noforce.csv", rows)
    with pytest.raises(UsersImportError) as exc:
        run(path)  # two forces: no default
    assert exc.value.problems[0].field == "force" and "--force CODE" in exc.value.problems[0].hint
    report = run(path, default_force="SYNB")
    assert report.created == ["syn.officer00000"]
    assert Profile.objects.get(user__username="syn.officer00000").force == forces["b"]


def test_with_one_force_it_is_the_default(db: Any, tmp_path: Path) -> None:
    only = Force.objects.create(code="SYNONE", name="Synthetic Only Police")
    Organisation.objects.create(code="SYNA", name="Synthetic org", kind="force", force=only)
    rows = [{**r, "force": "", "team": ""} for r in synthetic_rows(2)]
    run(write_csv(tmp_path / "u.csv", rows))
    assert Profile.objects.filter(force=only).count() == 2


def test_deactivate_missing_only_when_asked(
    forces: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = synthetic_rows(4)
    path = write_csv(tmp_path / "u.csv", rows)
    run(path)
    other_force = User.objects.create_user("syn.beta")
    Profile.objects.create(user=other_force, force=forces["b"], collar_number="1")
    boss = User.objects.create_superuser("syn.superuser", password="x-synthetic-password-1")
    Profile.objects.create(user=boss, force=forces["a"])
    write_csv(path, rows[:2])
    assert main(["users", "import", str(path)]) == 0
    assert "0 created, 0 updated, 2 unchanged" in capsys.readouterr().out
    assert (
        User.objects.filter(is_active=True, username__startswith="syn.officer").count() == 4
    )  # never silently
    assert main(["users", "import", str(path), "--deactivate-missing", "--dry-run"]) == 0
    assert "would deactivate (active in the force, not in the file): syn.officer00002, syn.officer00003" in (
        capsys.readouterr().out
    )
    assert User.objects.filter(is_active=True, username__startswith="syn.officer").count() == 4
    assert main(["users", "import", str(path), "--deactivate-missing", "--force", "SYNA"]) == 0
    out = capsys.readouterr().out
    assert "deactivated (active in the force, not in the file): syn.officer00002, syn.officer00003" in out
    assert "2 deactivated" in out
    active = set(User.objects.filter(is_active=True).values_list("username", flat=True))
    assert active == {"syn.officer00000", "syn.officer00001", "syn.beta", "syn.superuser"}
    # listed again: reactivated, shown as an update
    write_csv(path, rows)
    report = run(path)
    assert [u for u, f in report.updated] == ["syn.officer00002", "syn.officer00003"]
    assert report.updated[0][1] == ["is_active"]


def _accounts_state() -> tuple[list[Any], ...]:
    """Every account field an import writes (profiles with their update stamps, role memberships)."""
    return (
        list(
            User.objects.order_by("username").values_list(
                "username", "first_name", "last_name", "email", "is_active", "password"
            )
        ),
        list(
            Profile.objects.order_by("user__username").values_list(
                "user__username", "force_id", "organisation_id", "team_id", "collar_number", "updated_at"
            )
        ),
        sorted(User.groups.through.objects.values_list("user__username", "group__name")),
    )


def test_two_thousand_rows_across_two_forces_run_in_seconds_and_a_rerun_changes_nothing(
    forces: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10's "Done means": `rasure users import` of a 2,000-officer CSV (here split between the two
    forces) runs in seconds, in a few queries per 900 rows, and a re-run changes nothing."""
    import time

    from rasure_web.cli import open_database

    Organisation.objects.create(code="SYNB", name="Synthetic Beta Police", kind="force", force=forces["b"])
    rows = synthetic_rows(2000)
    for i, row in enumerate(rows):
        if i % 2:  # odd rows (team RT1, which both forces have) are Beta's officers
            row.update(force="SYNB", organisation="SYNB")
    path = write_csv(tmp_path / "big.csv", rows)
    t0 = time.perf_counter()
    with CaptureQueriesContext(connection) as q1:
        assert main(["users", "import", str(path)]) == 0
    first_s = time.perf_counter() - t0
    assert "2000 created, 0 updated, 0 unchanged" in capsys.readouterr().out
    assert User.objects.filter(username__startswith="syn.officer").count() == 2000
    for f in ("a", "b"):
        assert Profile.objects.filter(force=forces[f]).exclude(collar_number="").count() == 1000
    assert Profile.objects.filter(force=forces["b"], team__force=forces["b"]).count() == 1000
    before = _accounts_state()
    t0 = time.perf_counter()
    with CaptureQueriesContext(connection) as q2:
        assert main(["users", "import", str(path)]) == 0
    second_s = time.perf_counter() - t0
    assert "0 created, 0 updated, 2000 unchanged" in capsys.readouterr().out
    assert _accounts_state() == before
    # seconds, not minutes, even on a loaded machine (the report gives the figure measured)
    assert first_s < 30 and second_s < 30, (first_s, second_s)
    # bulk: a few queries per 900 rows, not one (or more) per row
    with CaptureQueriesContext(connection) as q0:
        open_database()  # what any command does first (the migration check): not the import's queries
    n1, n2 = (len(q.captured_queries) - len(q0.captured_queries) for q in (q1, q2))
    assert n1 < 100 and n2 < 40, (n1, n2)


# --- the crew picker's colleagues ------------------------------------------------------------------------


def test_colleagues_carry_collar_and_team_and_stay_within_the_force(forces: dict[str, Any]) -> None:
    me = make_user("syn-me")
    mate = make_user("syn-mate")
    stranger = make_user("syn-stranger")
    loner = make_user("syn-loner")  # an officer account with no profile
    Profile.objects.create(user=me, force=forces["a"], collar_number="1001", team=forces["rt1"])
    Profile.objects.create(user=mate, force=forces["a"], collar_number="4821", team=forces["nh"])
    Profile.objects.create(user=stranger, force=forces["b"], collar_number="4821")
    body = client_for(me).get("/api/patrol/colleagues").json()
    assert body == [
        {
            "id": mate.pk,
            "username": "syn-mate",
            "name": "Syn-Mate",
            "collar_number": "4821",
            "team": "Neighbourhood",
        }
    ]
    # without a profile on an installation of two forces: the account belongs to no force, so it has
    # no colleagues to name (on a one-force installation it would list every officer account)
    assert client_for(loner).get("/api/patrol/colleagues").json() == []


def test_line_numbers_count_quoted_line_breaks_and_ragged_rows(
    forces: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(
        ",".join(COLUMNS) + "\n"
        'syn.one,"Synthetic\nOne",,1,SYNA,,,officer\n'  # lines 2-3
        "syn.two,Synthetic Two,bad-email,2,SYNA,,,officer\n"  # line 4
        "syn.three,Synthetic Three,,3,SYNA\n",  # line 5: too few values
        encoding="utf-8",
    )
    with pytest.raises(UsersImportError) as exc:
        run(path)
    got = [(p.line, p.field) for p in exc.value.problems]
    assert got == [(4, "email"), (5, "")]
    assert "5 values, the header 8" in str(exc.value.problems[1])
    assert not User.objects.filter(username__startswith="syn.").exists()


def test_an_existing_account_without_a_profile_gets_one(forces: dict[str, Any], tmp_path: Path) -> None:
    existing = User.objects.create_user(
        "syn.officer00000", password="syn-kept-password-1", first_name="Synthetic Officer", last_name="00000"
    )
    existing.email = "syn.officer00000@example.invalid"
    existing.save()
    existing.groups.add(Group.objects.get(name="officer"), Group.objects.get(name="supervisor"))
    report = run(write_csv(tmp_path / "u.csv", synthetic_rows(1)))
    assert report.updated == [("syn.officer00000", ["profile"])]
    assert Profile.objects.get(user=existing).collar_number == "10000"
    existing.refresh_from_db()
    assert existing.check_password("syn-kept-password-1")  # an existing password is left alone
