"""Forces and bulk onboarding of users from a CSV file (``rasure force ...``, ``rasure users import``).

The whole file is validated before anything is written; if any row is wrong nothing changes and every
problem is reported with its file, line, field and how to fix it. Otherwise the changes are applied in
one transaction with bulk queries (a fixed number of queries, not one per row). Re-running the same
file changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import zoneinfo
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import Group
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from rasure.errors import InputFileError, RasureError, RowProblem
from rasure_web.accounts.models import FORCE_CODE_RE, Force, ForceGrant, Organisation, Profile, Team
from rasure_web.accounts.roles import ALL_ROLES

COLUMNS = ("username", "full_name", "email", "collar_number", "force", "organisation", "team", "roles")
REQUIRED = ("username", "full_name", "roles")
_CHUNK = 900  # stays under SQLite's bound-parameter limit on old builds
T = TypeVar("T")


class UsersImportError(RasureError):
    """The file has bad rows; nothing was changed."""

    def __init__(self, file: str, problems: list[RowProblem]) -> None:
        self.file = file
        self.problems = problems
        super().__init__(f"{file}: {len(problems)} problem(s); nothing was changed")


# --- forces ------------------------------------------------------------------------------------------


def force_add(
    *, code: str, name: str, time_zone: str = "Europe/London", crs: str = "EPSG:27700", user: Any
) -> Force:
    """Add a force. Refuses a bad code, unknown time zone or CRS, or a code already in use with other values."""
    del user  # recorded by the caller's log; forces carry no owner
    if not re.match(FORCE_CODE_RE, code):
        raise RasureError(
            f"force code {code!r}: use 2 to 16 uppercase letters or digits starting with a letter, e.g. TVP"
        )
    if not name.strip():
        raise RasureError("force name: give the force's name, e.g. --name 'Thames Valley Police'")
    try:
        zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise RasureError(
            f"time zone {time_zone!r} is unknown: use an IANA name such as Europe/London"
        ) from exc
    if not re.match(r"^EPSG:\d{4,6}$", crs):
        raise RasureError(f"CRS {crs!r}: give an EPSG code such as EPSG:27700")
    import pyproj

    try:
        projected = pyproj.CRS.from_user_input(crs).is_projected
    except pyproj.exceptions.CRSError as exc:
        raise RasureError(f"CRS {crs!r} is not a known EPSG code") from exc
    if not projected:
        raise RasureError(f"CRS {crs!r} is not projected (metres): use one such as EPSG:27700")
    existing = Force.objects.filter(code=code).first()
    if existing is not None:
        if (existing.name, existing.time_zone, existing.crs) == (name.strip(), time_zone, crs):
            return existing
        raise RasureError(
            f"force {code} already exists as {existing.name!r} ({existing.time_zone}, {existing.crs}); "
            "change it in the admin (/admin/accounts/force/)"
        )
    return Force.objects.create(code=code, name=name.strip(), time_zone=time_zone, crs=crs)


def force_grant_add(
    *, username: str, force: str, reason: str, user: Any, when: datetime, until: Any = None
) -> ForceGrant:
    """Let ``username`` see force ``force``'s data besides their own (a regional or national role).
    Explicit and logged: refused without a reason; an existing live grant is kept (and said so)."""
    from rasure_web.accounts.access import access_log_record
    from rasure_web.accounts.models import AccessLog, ForceGrant
    from rasure_web.accounts.tenancy import resolve_force

    if not reason.strip():
        raise RasureError("--reason: say why this person may see another force's data (it is logged)")
    target = get_user_model().objects.filter(username=username).first()
    if target is None:
        raise RasureError(f"no user {username!r}")
    f = resolve_force(force)
    with transaction.atomic():
        grant = ForceGrant.objects.filter(user=target, force=f, revoked_at__isnull=True).first()
        if grant is None:
            grant = ForceGrant.objects.create(
                user=target,
                force=f,
                reason=reason.strip(),
                granted_by=getattr(user, "username", str(user)),
                granted_at=when,
                until=until,
            )
        access_log_record(
            user=None,
            username=getattr(user, "username", str(user)),
            action=AccessLog.Action.GRANT,
            resource="force_grant",
            object_ref=f"{username} -> {f.code}",
            detail=f"until {until or 'revoked'}; reason: {reason.strip()}",
        )
    return grant


def force_grant_revoke(*, username: str, force: str, user: Any, when: datetime) -> int:
    """End ``username``'s live grants to force ``force``; returns how many (logged)."""
    from rasure_web.accounts.access import access_log_record
    from rasure_web.accounts.models import AccessLog, ForceGrant
    from rasure_web.accounts.tenancy import resolve_force

    f = resolve_force(force)
    with transaction.atomic():
        n = ForceGrant.objects.filter(user__username=username, force=f, revoked_at__isnull=True).update(
            revoked_at=when
        )
        access_log_record(
            user=None,
            username=getattr(user, "username", str(user)),
            action=AccessLog.Action.GRANT,
            resource="force_grant",
            object_ref=f"{username} -> {f.code}",
            detail=f"revoked ({n} grant(s))",
        )
    return n


def force_list() -> list[dict[str, Any]]:
    forces = Force.objects.order_by("code")
    counts: dict[int, int] = {}
    for fid in Profile.objects.filter(force__isnull=False, user__is_active=True).values_list(
        "force_id", flat=True
    ):
        counts[fid] = counts.get(fid, 0) + 1
    teams: dict[int, int] = {}
    for fid in Team.objects.values_list("force_id", flat=True):
        teams[fid] = teams.get(fid, 0) + 1
    return [
        {
            "code": f.code,
            "name": f.name,
            "time_zone": f.time_zone,
            "crs": f.crs,
            "teams": teams.get(f.pk, 0),
            "active_users": counts.get(f.pk, 0),
            "synthetic": f.synthetic,
        }
        for f in forces
    ]


# --- users import ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserRow:
    line: int
    username: str
    first_name: str
    last_name: str
    email: str
    collar_number: str
    force: Force
    organisation: Organisation | None
    team: Team | None
    roles: frozenset[str]


@dataclass
class UsersImportReport:
    file: str
    created: list[str] = field(default_factory=list)
    updated: list[tuple[str, list[str]]] = field(default_factory=list)
    unchanged: int = 0
    deactivated: list[str] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        verb = "would be " if self.dry_run else ""
        text = f"{len(self.created)} {verb}created, {len(self.updated)} {verb}updated, {self.unchanged} unchanged"
        if self.deactivated:
            text += f", {len(self.deactivated)} {verb}deactivated"
        return text


def split_name(full_name: str) -> tuple[str, str]:
    """'Jo Anne Smith' -> ('Jo Anne', 'Smith'); one word -> (word, '')."""
    words = full_name.split()
    if len(words) <= 1:
        return (words[0] if words else "", "")
    return " ".join(words[:-1])[:150], words[-1][:150]


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _read(path: Path) -> list[tuple[int, dict[str, str]]]:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InputFileError(name, "file not found", hint="check the path") from exc
    except UnicodeDecodeError as exc:
        raise InputFileError(name, "not UTF-8 text", hint="save the file as CSV UTF-8") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise InputFileError(
            name, "the file is empty", line=1, hint=f"the first line must be: {','.join(COLUMNS)}"
        )
    cols = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in cols]
    if missing:
        raise InputFileError(
            name,
            f"the header lacks column(s) {', '.join(missing)}",
            line=1,
            hint=f"the first line must be: {','.join(COLUMNS)}",
        )
    unknown = [c for c in cols if c not in COLUMNS]
    if unknown:
        raise InputFileError(
            name, f"unknown column(s) {', '.join(unknown)}", line=1, hint=f"use only: {','.join(COLUMNS)}"
        )
    rows = []
    end_of_previous = reader.line_num
    for values in reader:
        lineno = end_of_previous + 1  # the line the record starts on (a quoted value may span lines)
        end_of_previous = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(cols):
            rows.append((lineno, {"__width__": str(len(values))}))
            continue
        rows.append((lineno, {c: v.strip() for c, v in zip(cols, values, strict=True)}))
    return rows


def _validate(
    path: Path, raw: list[tuple[int, dict[str, str]]], default_force: Force | None
) -> tuple[list[UserRow], list[RowProblem]]:
    name = str(path)
    forces = {f.code: f for f in Force.objects.all()}
    orgs = {o.code: o for o in Organisation.objects.all()}
    teams = {(t.force_id, t.code): t for t in Team.objects.all()}
    problems: list[RowProblem] = []
    rows: list[UserRow] = []
    seen_user: dict[str, int] = {}
    seen_collar: dict[tuple[int, str], int] = {}
    username_ok = UnicodeUsernameValidator()

    def bad(line: int, col: str, value: str, reason: str, hint: str) -> None:
        problems.append(RowProblem(file=name, line=line, field=col, value=value, reason=reason, hint=hint))

    for line, r in raw:
        if "__width__" in r:
            bad(
                line,
                "",
                "",
                f"the row has {r['__width__']} values, the header {len(COLUMNS)}",
                "give every row the same columns as the header (quote values that contain commas)",
            )
            continue
        ok = True
        for col in REQUIRED:
            if not r[col]:
                bad(line, col, "", "this field is required", f"fill in {col}")
                ok = False
        username = r["username"]
        if username:
            try:
                username_ok(username)
                if len(username) > 150:
                    raise ValidationError("too long")
            except ValidationError:
                bad(
                    line,
                    "username",
                    username,
                    "not a valid username",
                    "use at most 150 letters, digits and @ . + - _ (no spaces)",
                )
                ok = False
            key = username.lower()
            if key in seen_user:
                bad(
                    line,
                    "username",
                    username,
                    f"the same username is on line {seen_user[key]}",
                    "give each person one row",
                )
                ok = False
            else:
                seen_user[key] = line
        if r["email"]:
            try:
                validate_email(r["email"])
            except ValidationError:
                bad(
                    line,
                    "email",
                    r["email"],
                    "not a valid email address",
                    "write it like name@force.police.uk, or leave it empty",
                )
                ok = False
        force: Force | None
        if r["force"]:
            force = forces.get(r["force"].upper())
            if force is None:
                known = ", ".join(sorted(forces)) or "none yet"
                bad(
                    line,
                    "force",
                    r["force"],
                    "unknown force code",
                    f"use one of: {known} (add one with: rasure force add CODE --name NAME)",
                )
                ok = False
        else:
            force = default_force
            if force is None:
                bad(
                    line,
                    "force",
                    "",
                    "no force given and no default",
                    "fill in the force code, or run with --force CODE",
                )
                ok = False
        org = None
        if r["organisation"]:
            org = orgs.get(r["organisation"].upper())
            if org is None:
                known = ", ".join(sorted(orgs)) or "none yet"
                bad(
                    line,
                    "organisation",
                    r["organisation"],
                    "unknown organisation code",
                    f"use one of: {known} (add organisations in the admin: /admin/accounts/organisation/)",
                )
                ok = False
            elif force is not None and org.force_id is not None and org.force_id != force.pk:
                owner = next((f.code for f in forces.values() if f.pk == org.force_id), "another force")
                bad(
                    line,
                    "organisation",
                    r["organisation"],
                    f"organisation {org.code} belongs to force {owner}, not to this row's force {force.code}",
                    f"give force {force.code}'s own organisation, a partner organisation, or leave it empty",
                )
                ok = False
        team = None
        if r["team"] and force is not None:
            team = teams.get((force.pk, r["team"].upper()))
            if team is None:
                known = ", ".join(sorted(c for fid, c in teams if fid == force.pk)) or "none yet"
                bad(
                    line,
                    "team",
                    r["team"],
                    f"unknown team code in force {force.code}",
                    f"use one of: {known} (add teams in the admin: /admin/accounts/team/)",
                )
                ok = False
        roles = frozenset(x.strip().lower() for x in r["roles"].split(";") if x.strip())
        unknown_roles = sorted(roles - set(ALL_ROLES))
        if unknown_roles:
            bad(
                line,
                "roles",
                r["roles"],
                f"unknown role(s) {', '.join(unknown_roles)}",
                f"use roles from: {', '.join(ALL_ROLES)}, separated by ';'",
            )
            ok = False
        collar = r["collar_number"]
        if collar:
            if not re.match(r"^[A-Za-z0-9]{1,16}$", collar):
                bad(
                    line,
                    "collar_number",
                    collar,
                    "not a valid collar number",
                    "use up to 16 letters and digits, or leave it empty",
                )
                ok = False
            elif force is not None:
                ckey = (force.pk, collar.upper())
                if ckey in seen_collar:
                    bad(
                        line,
                        "collar_number",
                        collar,
                        f"the same collar number in force {force.code} is on line {seen_collar[ckey]}",
                        "each officer of a force needs their own collar number",
                    )
                    ok = False
                else:
                    seen_collar[ckey] = line
        if ok and force is not None:
            first, last = split_name(r["full_name"])
            rows.append(
                UserRow(
                    line=line,
                    username=username,
                    first_name=first,
                    last_name=last,
                    email=r["email"],
                    collar_number=collar.upper(),
                    force=force,
                    organisation=org,
                    team=team,
                    roles=roles,
                )
            )
    # Collar numbers already held by someone else in the force who is not in the file with another number.
    in_file = {row.username for row in rows}
    wanted = {(row.force.pk, row.collar_number): row for row in rows if row.collar_number}
    in_file_collar = {(row.username, row.force.pk): row.collar_number for row in rows}
    if wanted:
        collars = sorted({c for _, c in wanted})
        for chunk in _chunks(collars):
            for fid, collar, holder in Profile.objects.filter(collar_number__in=chunk).values_list(
                "force_id", "collar_number", "user__username"
            ):
                row = wanted.get((fid, collar))
                if row is None or holder == row.username:
                    continue
                if holder in in_file and in_file_collar.get((holder, fid)) != collar:
                    continue  # the holder gives it up in this same file
                problems.append(
                    RowProblem(
                        file=name,
                        line=row.line,
                        field="collar_number",
                        value=collar,
                        reason=f"collar number {collar} in force {row.force.code} belongs to user {holder}",
                        hint=f"check the number; if {holder} has left, change or clear theirs first "
                        "(or include them in this file with their new number)",
                    )
                )
    problems.sort(key=lambda p: (p.line, p.field))
    return rows, problems


def users_import(
    *,
    path: str | Path,
    user: Any,
    when: datetime,
    default_force: str | None = None,
    dry_run: bool = False,
    deactivate_missing: bool = False,
) -> UsersImportReport:
    """Create or update the users listed in a CSV file (see docs/users.md).

    Raises :class:`UsersImportError` (nothing changed) if any row is wrong, or :class:`InputFileError`
    if the file cannot be read as that CSV.
    """
    del user  # the acting user is the caller's; kept in the signature like every service
    path = Path(path)
    name = str(path)
    if default_force:
        force0 = Force.objects.filter(code=default_force.upper()).first()
        if force0 is None:
            known = ", ".join(Force.objects.values_list("code", flat=True)) or "none yet"
            raise RasureError(f"--force {default_force}: unknown force (known: {known})")
    else:
        only = list(Force.objects.all()[:2])
        force0 = only[0] if len(only) == 1 else None
    raw = _read(path)
    rows, problems = _validate(path, raw, force0)
    if problems:
        raise UsersImportError(name, problems)
    if deactivate_missing:
        file_forces = {row.force.pk for row in rows} | ({force0.pk} if force0 else set())
        if len(file_forces) != 1:
            raise RasureError(
                "--deactivate-missing needs exactly one force: give --force CODE and list only that force's users"
            )
    report = UsersImportReport(file=name, dry_run=dry_run)
    with transaction.atomic():
        _apply(rows, report, when=when, dry_run=dry_run)
        if deactivate_missing:
            force_id = next(iter({row.force.pk for row in rows} | ({force0.pk} if force0 else set())))
            _deactivate_missing(force_id, {row.username for row in rows}, report, dry_run=dry_run)
        if dry_run:
            transaction.set_rollback(True)
    return report


def _apply(rows: list[UserRow], report: UsersImportReport, *, when: datetime, dry_run: bool) -> None:
    user_model = get_user_model()
    usernames = [row.username for row in rows]
    users: dict[str, Any] = {}
    for chunk in _chunks(usernames):
        users.update({u.username: u for u in user_model.objects.filter(username__in=chunk)})
    profiles: dict[int, Profile] = {}
    ids = [u.pk for u in users.values()]
    for id_chunk in _chunks(ids):
        profiles.update({p.user_id: p for p in Profile.objects.filter(user_id__in=id_chunk)})
    role_groups = {g.name: g for g in Group.objects.filter(name__in=ALL_ROLES)}
    for role in ALL_ROLES:
        if role not in role_groups:
            role_groups[role] = Group.objects.create(name=role)
    group_name = {g.pk: n for n, g in role_groups.items()}
    through = user_model.groups.through
    memberships: dict[int, set[str]] = {}
    for id_chunk in _chunks(ids):
        for uid, gid in through.objects.filter(user_id__in=id_chunk, group_id__in=group_name).values_list(
            "user_id", "group_id"
        ):
            memberships.setdefault(uid, set()).add(group_name[gid])

    new_users = []
    user_changes: list[Any] = []
    changed_fields: dict[str, list[str]] = {}
    for row in rows:
        u = users.get(row.username)
        if u is None:
            u = user_model(
                username=row.username,
                first_name=row.first_name,
                last_name=row.last_name,
                email=row.email,
                is_active=True,
                password=UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30),  # as make_password(None)
            )
            new_users.append(u)
            report.created.append(row.username)
            continue
        diff = [
            f
            for f, v in (
                ("first_name", row.first_name),
                ("last_name", row.last_name),
                ("email", row.email),
                ("is_active", True),
            )
            if getattr(u, f) != v
        ]
        for f in diff:
            setattr(
                u,
                f,
                {"first_name": row.first_name, "last_name": row.last_name, "email": row.email}.get(f, True),
            )
        if diff:
            user_changes.append(u)
            changed_fields[row.username] = ["full_name" if f.endswith("_name") else f for f in diff]
    if dry_run:
        users_after = dict(users)
    else:
        for chunk in _chunks(new_users):
            user_model.objects.bulk_create(chunk)
        new_names = [u.username for u in new_users]
        for chunk in _chunks(new_names):
            users.update({u.username: u for u in user_model.objects.filter(username__in=chunk)})
        users_after = users
        for chunk in _chunks(user_changes):
            user_model.objects.bulk_update(chunk, ["first_name", "last_name", "email", "is_active"])

    # Profiles: collar numbers are cleared first where they change, so numbers can move between people.
    new_profiles: list[Profile] = []
    changed_profiles: list[Profile] = []
    clear_first: list[Profile] = []
    add_groups: list[Any] = []
    drop_groups: list[tuple[int, int]] = []
    created = set(report.created)
    for row in rows:
        u = users_after.get(row.username)
        diffs = changed_fields.setdefault(row.username, [])
        want = {
            "force_id": row.force.pk,
            "organisation_id": row.organisation.pk if row.organisation else None,
            "team_id": row.team.pk if row.team else None,
            "collar_number": row.collar_number,
        }
        p = profiles.get(u.pk) if u is not None else None
        if p is None:
            if u is not None and u.pk is not None:
                new_profiles.append(Profile(user_id=u.pk, updated_at=when, **want))
                if row.username not in created:
                    diffs.append("profile")
        else:
            pdiff = [k for k, v in want.items() if getattr(p, k) != v]
            if pdiff:
                if "collar_number" in pdiff and p.collar_number:
                    clear_first.append(Profile(pk=p.pk, collar_number=""))
                for k in pdiff:
                    setattr(p, k, want[k])
                p.updated_at = when
                changed_profiles.append(p)
                diffs.extend(k.removesuffix("_id") for k in pdiff)
        have = memberships.get(u.pk, set()) if u is not None and u.pk is not None else set()
        if row.username not in created and have != set(row.roles):
            diffs.append("roles")
        if u is not None and u.pk is not None:
            add_groups.extend(
                through(user_id=u.pk, group_id=role_groups[r].pk) for r in sorted(row.roles - have)
            )
            drop_groups.extend((u.pk, role_groups[r].pk) for r in sorted(have - row.roles))
    for row in rows:
        if row.username in created:
            continue
        diffs = changed_fields.get(row.username, [])
        if diffs:
            report.updated.append((row.username, sorted(set(diffs))))
        else:
            report.unchanged += 1
    if dry_run:
        return
    for chunk in _chunks(clear_first):
        Profile.objects.bulk_update(chunk, ["collar_number"])
    for chunk in _chunks(changed_profiles):
        Profile.objects.bulk_update(
            chunk, ["force_id", "organisation_id", "team_id", "collar_number", "updated_at"]
        )
    for chunk in _chunks(new_profiles):
        Profile.objects.bulk_create(chunk)
    if drop_groups:
        by_group: dict[int, list[int]] = {}
        for uid, gid in drop_groups:
            by_group.setdefault(gid, []).append(uid)
        for gid, uids in by_group.items():
            for uid_chunk in _chunks(uids):
                through.objects.filter(group_id=gid, user_id__in=uid_chunk).delete()
    for chunk in _chunks(add_groups):
        through.objects.bulk_create(chunk)


def _deactivate_missing(force_id: int, listed: set[str], report: UsersImportReport, *, dry_run: bool) -> None:
    user_model = get_user_model()
    of_force = (
        user_model.objects.filter(is_active=True, is_superuser=False, profile__force_id=force_id)
        .order_by("username")
        .values_list("pk", "username")
    )
    gone = [(pk, name) for pk, name in of_force if name not in listed]
    report.deactivated = [name for _, name in gone]
    if gone and not dry_run:
        for chunk in _chunks([pk for pk, _ in gone]):
            user_model.objects.filter(pk__in=chunk).update(is_active=False)


def write_problems(problems: Iterable[RowProblem], out: str | Path) -> int:
    """Write every problem to a CSV (file, line, field, value, reason, how to fix)."""
    n = 0
    with Path(out).open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "line", "field", "value", "reason", "how_to_fix"])
        for p in problems:
            w.writerow([p.file, p.line, p.field, p.value, p.reason, p.hint])
            n += 1
    return n


# --- the synthetic demo force ------------------------------------------------------------------------

DEMO_FORCE = "DEMO"
DEMO_FORCE_NAME = "Rasure Demo Town Police (synthetic)"


def _team_code(lpa_code: str, team: str) -> str:
    area = lpa_code.rsplit("-", 1)[-1].upper()
    if team.startswith("Response Team "):
        return f"{area}-RT{team.removeprefix('Response Team ').strip()}"
    return f"{area}-NH"


def demo_force() -> Force:
    """The demo's invented force (idempotent)."""
    force, _ = Force.objects.update_or_create(
        code=DEMO_FORCE,
        defaults={
            "name": DEMO_FORCE_NAME,
            "time_zone": "Europe/London",
            "crs": "EPSG:27700",
            "synthetic": True,
        },
    )
    return force


def synthetic_force_store(officers: Any, *, when: datetime, force: Force | None = None) -> Force:
    """The synthetic city's force (``force``, else the demo's invented force), its organisation, one team
    per LPA and rota, and a profile (collar number, team) for each synthetic officer. Idempotent.
    ``officers`` is the synthetic city's frame (``collar_number, lpa_code, lpa_name, team``); accounts are
    ``pc<collar>`` as made by the city store."""
    force = force if force is not None else demo_force()
    org, _ = Organisation.objects.update_or_create(
        code=force.code, defaults={"name": force.name, "kind": Organisation.Kind.FORCE, "force": force}
    )
    teams: dict[str, Team] = {}
    for o in officers.itertuples():
        code = _team_code(str(o.lpa_code), str(o.team))
        if code not in teams:
            kind = Team.Kind.RESPONSE if str(o.team).startswith("Response") else Team.Kind.NEIGHBOURHOOD
            teams[code], _ = Team.objects.update_or_create(
                force=force,
                code=code,
                defaults={"name": f"{o.lpa_name} {o.team}", "kind": kind, "lpa_code": str(o.lpa_code)},
            )
    user_model = get_user_model()
    by_name = {u.username: u for u in user_model.objects.filter(username__startswith="pc")}
    for o in officers.itertuples():
        u = by_name.get(f"pc{o.collar_number}".lower())
        if u is None:
            continue
        Profile.objects.update_or_create(
            user=u,
            defaults={
                "force": force,
                "organisation": org,
                "team": teams[_team_code(str(o.lpa_code), str(o.team))],
                "collar_number": str(o.collar_number),
                "updated_at": when,
            },
        )
    return force
