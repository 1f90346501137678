"""Roles are Django groups. One place says which roles exist and what each may do."""

from __future__ import annotations

from typing import Any

OFFICER = "officer"
SUPERVISOR = "supervisor"
ANALYST = "analyst"
PARTNER = "partner"
ADMIN = "admin"
RESEARCHER = "researcher"
ALL_ROLES = (OFFICER, SUPERVISOR, ANALYST, PARTNER, ADMIN, RESEARCHER)

ROLE_DESCRIPTIONS = {
    OFFICER: "Patrol officer: uses the patrol app",
    SUPERVISOR: "Sergeant or inspector: dashboard and patrol monitoring",
    ANALYST: "Crime analyst: dashboard, imports, hot spots, trial set-up",
    PARTNER: "Partner organisation: sees only what is shared with partners",
    ADMIN: "System administrator: accounts and settings",
    RESEARCHER: "Researcher or evaluator: checks and evaluates trials (rasure trial verify, audit, evaluate)",
}


def user_roles(user: Any) -> frozenset[str]:
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_rasure_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            names.add(ADMIN)
        cached = frozenset(names & set(ALL_ROLES))
        user._rasure_roles = cached
    return cached  # type: ignore[no-any-return]


def has_role(user: Any, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))


# a user id no account has: stands for the id in the statement compiled once per database alias
_ANY_USER = -2_146_020_551  # within a 32-bit integer column (an id out of range compiles to no query)
_COMPILED: dict[str, tuple[str, list[Any]]] = {}


def user_with_roles(user_id: Any) -> Any:
    """The user, their roles and their force in one query (an EXISTS per role, a subquery for the
    profile's force and one for the installation's only force, and that force's CRS), for
    authentication on every request.

    Sets what :func:`user_roles`, :func:`rasure_web.accounts.tenancy.acting_force_id` and
    :func:`rasure_web.accounts.tenancy.acting_force_crs` would otherwise read with more queries. None
    when there is no such user. The statement is built by the ORM once per process and database and
    then run as raw SQL with the user's id: compiling its subqueries took about 5 ms of every signed-in
    request, twice the rest of a simple page.
    """
    from django.contrib.auth import get_user_model
    from django.db import DEFAULT_DB_ALIAS

    model = get_user_model()
    compiled = _COMPILED.get(DEFAULT_DB_ALIAS)
    if compiled is None:
        query = _user_with_roles_query().filter(pk=_ANY_USER)[:1].query
        sql, params = query.sql_with_params()
        compiled = _COMPILED[DEFAULT_DB_ALIAS] = (sql, list(params))
    sql, params = compiled
    try:
        key = int(user_id)
    except (TypeError, ValueError):
        return None
    found = list(model._default_manager.raw(sql, [key if p == _ANY_USER else p for p in params]))
    if not found:
        return None
    user = found[0]
    names = {role for role in ALL_ROLES if getattr(user, f"_rasure_is_{role}")}
    if user.is_superuser:
        names.add(ADMIN)
    user._rasure_roles = frozenset(names)
    default_force = user._rasure_profile_force
    if default_force is None:
        default_force = user._rasure_only_force
    user._rasure_force_crs_for = (default_force, user._rasure_default_force_crs)
    return user


def _user_with_roles_query() -> Any:
    """The users with :func:`user_with_roles`' annotations (unfiltered)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import CharField, Exists, OuterRef, Subquery
    from django.db.models.expressions import RawSQL
    from django.db.models.functions import Coalesce

    from rasure_web.accounts.models import Force, Profile

    model = get_user_model()
    membership = model.groups.through
    flags: dict[str, Any] = {
        f"_rasure_is_{role}": Exists(membership.objects.filter(user_id=OuterRef("pk"), group__name=role))
        for role in ALL_ROLES
    }
    flags["_rasure_profile_force"] = Subquery(
        Profile.objects.filter(user_id=OuterRef("pk")).values("force_id")[:1]
    )
    table = connection.ops.quote_name(Force._meta.db_table)
    flags["_rasure_only_force"] = RawSQL(f"SELECT CASE WHEN COUNT(*) = 1 THEN MIN(id) END FROM {table}", [])
    # the CRS of the profile's force, else of the only force (the force acted for without a switch)
    flags["_rasure_default_force_crs"] = Coalesce(
        Subquery(
            Profile.objects.filter(user_id=OuterRef("pk"), force__isnull=False).values("force__crs")[:1]
        ),
        RawSQL(f"SELECT CASE WHEN COUNT(*) = 1 THEN MIN(crs) END FROM {table}", []),
        output_field=CharField(),
    )
    return model._default_manager.annotate(**flags)
