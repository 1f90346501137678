"""Forces as tenants: the one place that says which force's data a user or a command acts on.

Every record, area, institution, import, hot-spot run, place decision, trial and AVLS file belongs to
one :class:`~rasure_web.accounts.models.Force` (its ``tenant`` field). Hot spots, briefings, visits,
schedules and presence belong to the force of the run or trial they hang from.

**Which force a user acts for** (:func:`acting_force_id`):

1. the force they switched to for this session, if they hold an explicit, unexpired
   :class:`~rasure_web.accounts.models.ForceGrant` for it (a regional or national role; every grant
   and every switch is written to the access log);
2. else the force of their profile;
3. else, on an installation that holds exactly one force, that force (small installs and the demo
   need no set-up);
4. else none: with several forces, an account that belongs to none sees no force's data
   (:func:`require_force` refuses with a message saying so).

**Which force a command acts on** (:func:`resolve_force`): the ``--force CODE`` given; else the only
force; with no force at all, a default one is created (``LOCAL``, "This installation") so the first
import of a fresh install needs no flags; with several, the command refuses and lists the codes.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet

from rasure.errors import RasureError
from rasure_web import clock
from rasure_web.accounts.models import Force, ForceGrant

__all__ = [
    "DEFAULT_FORCE_CODE",
    "ActingForceMiddleware",
    "ForceChoiceError",
    "act_for",
    "acting_force",
    "acting_force_crs",
    "acting_force_id",
    "crs_change_refusal",
    "default_force_pk",
    "force_crs",
    "force_pk",
    "forces_visible",
    "granted_force_ids",
    "only_force",
    "require_force",
    "resolve_force",
    "scoped",
    "switch_force",
    "tenant_field",
    "tenant_id_for",
]

DEFAULT_FORCE_CODE = "LOCAL"
DEFAULT_FORCE_NAME = "This installation"

#: Session key of the force a user with grants has switched to.
SESSION_KEY = "rasure_acting_force"


class ForceChoiceError(RasureError):
    """A command could not tell which force it acts on (several forces and no ``--force``)."""


def only_force() -> Force | None:
    """The force, when the installation holds exactly one; else None (one query)."""
    forces = list(Force.objects.order_by("pk")[:2])
    return forces[0] if len(forces) == 1 else None


def resolve_force(code: str | None = None) -> Force:
    """The force a command acts on: ``code`` (any case), else the only one, else a new default
    force when there is none. Raises :class:`ForceChoiceError` naming the codes otherwise."""
    if code:
        force = Force.objects.filter(code=code.strip().upper()).first()
        if force is None:
            known = ", ".join(Force.objects.values_list("code", flat=True)) or "none yet"
            raise ForceChoiceError(
                f"--force {code}: no such force (forces here: {known}). "
                "Add it with `rasure force add CODE --name NAME`."
            )
        return force
    forces = list(Force.objects.order_by("code")[:50])
    if len(forces) == 1:
        return forces[0]
    if not forces:
        force, _ = Force.objects.get_or_create(code=DEFAULT_FORCE_CODE, defaults={"name": DEFAULT_FORCE_NAME})
        return force
    raise ForceChoiceError(
        "This installation holds several forces ("
        + ", ".join(f.code for f in forces)
        + "): say which with --force CODE."
    )


def tenant_id_for(*, user: Any = None, force: str | None = None) -> int | None:
    """The force a read acts on: the user's acting force when a user is given (None: no force, so
    nothing to see), else the force named, else the only one (None when there is no force yet)."""
    if user is not None:
        return acting_force_id(user)
    if force:
        return resolve_force(force).pk
    if not Force.objects.exists():
        return None
    return resolve_force(None).pk


def force_pk(tenant: int | None) -> int:
    """``tenant`` when given, else the only force's pk (a default force is created when there is
    none; :class:`ForceChoiceError` with several): what a service called without a force acts on."""
    return tenant if tenant is not None else resolve_force(None).pk


def default_force_pk() -> int | None:
    """Model default for ``tenant`` fields: the only force (created when there is none). With several
    forces there is no default (None): a writer must say which, and a form (the admin's) asks."""
    try:
        return resolve_force(None).pk
    except ForceChoiceError:
        return None


TENANT_HELP = "the force this belongs to (rasure_web.accounts.tenancy)"


def tenant_field(*, help_text: str = TENANT_HELP, db_index: bool = True) -> Any:
    """The ``tenant`` field of a model whose rows belong to one force: a nullable foreign key to
    :class:`~rasure_web.accounts.models.Force` (PROTECT: a force with data cannot be deleted), no
    reverse accessor, defaulting to the only force (:func:`default_force_pk`). ``db_index=False``
    for a model whose unique constraint or indexes already begin with the tenant (an index of its
    own would only be written, never read)."""
    return models.ForeignKey(
        "accounts.Force",
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        default=default_force_pk,
        verbose_name="force",
        help_text=help_text,
        db_index=db_index,
    )


def force_crs(force: Force | int | None = None) -> str:
    """The projected CRS (metres, e.g. ``EPSG:27700``) a force's coordinates are stored in: every
    import, area, institution, hot-spot build, map, export and patrol ping of that force uses it.
    ``force``: a Force or its pk; default the only force (as :func:`resolve_force`)."""
    if isinstance(force, Force):
        return str(force.crs)
    if force is None:
        return str(resolve_force(None).crs)
    crs = Force.objects.filter(pk=force).values_list("crs", flat=True).first()
    if crs is None:
        raise ForceChoiceError(f"there is no force with id {force}")
    return str(crs)


#: What a force holds in its CRS's metres, so its CRS cannot change once any exist.
_PROJECTED_HOLDINGS = (
    ("crimes", "CrimeRecord", "crime record(s)"),
    ("crimes", "Area", "area(s)"),
    ("analysis", "Institution", "institution(s)"),
    ("analysis", "AnalysisRun", "hot-spot run(s)"),
    ("analysis", "PlaceDecision", "place decision(s)"),
)


def crs_change_refusal(force: Force, new_crs: str) -> str | None:
    """Why ``force`` may not move to ``new_crs`` (None when it may): its stored coordinates are metres
    of its current CRS, and would be wrong read in another."""
    from django.apps import apps

    if force.pk is None or str(force.crs) == str(new_crs):
        return None
    held = []
    for app, model, label in _PROJECTED_HOLDINGS:
        n = apps.get_model(app, model).objects.filter(tenant_id=force.pk).count()
        if n:
            held.append(f"{n:,} {label}")
    if not held:
        return None
    return (
        f"Force {force.code}'s CRS cannot change from {force.crs} to {new_crs}: it already holds "
        f"{', '.join(held)} stored in {force.crs} metres, which would be wrong read in another CRS. "
        "Keep the CRS, or add a new force with the other CRS (rasure force add CODE --crs EPSG:n) and "
        "import its data there."
    )


def granted_force_ids(user: Any) -> set[int]:
    """Forces the user holds an explicit, unexpired cross-force grant for."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_rasure_grants", None)
    if cached is not None:
        return set(cached)
    today = clock.local_today()
    ids = {
        fid
        for fid, until in ForceGrant.objects.filter(user_id=user.pk, revoked_at__isnull=True).values_list(
            "force_id", "until"
        )
        if until is None or until >= today
    }
    with contextlib.suppress(AttributeError):
        user._rasure_grants = frozenset(ids)
    return ids


def _profile_force_id(user: Any) -> int | None:
    try:
        profile = user.profile
    except Exception:  # no profile row (RelatedObjectDoesNotExist) or not a real user
        return None
    return profile.force_id if profile is not None else None


def acting_force_id(user: Any) -> int | None:
    """The pk of the force ``user`` acts for now (see the module's rules), or None for no force."""
    if not getattr(user, "is_authenticated", False):
        return None
    cached = getattr(user, "_rasure_acting_force", ...)
    if cached is not ...:
        return cached  # type: ignore[no-any-return]
    chosen = getattr(user, "rasure_session_force", None)
    if chosen is not None and chosen in granted_force_ids(user):
        fid: int | None = int(chosen)
    elif hasattr(user, "_rasure_profile_force"):  # read with the user (accounts.roles.user_with_roles)
        fid = user._rasure_profile_force
        if fid is None:
            fid = user._rasure_only_force
    else:
        fid = _profile_force_id(user)
        if fid is None:
            only = only_force()
            fid = only.pk if only is not None else None
    with contextlib.suppress(AttributeError):
        user._rasure_acting_force = fid
    return fid


def acting_force_crs(user: Any) -> str | None:
    """The CRS of the force ``user`` acts for now (:func:`force_crs`), or None for no force. No query
    when the user was read with their force (:func:`rasure_web.accounts.roles.user_with_roles`) and
    acts for that force; otherwise read once per request and kept on the request's user object, as
    the acting force is."""
    fid = acting_force_id(user)
    if fid is None:
        return None
    read_for, crs = getattr(user, "_rasure_force_crs_for", (None, None))
    if read_for == fid and crs is not None:
        return str(crs)
    cached = getattr(user, "_rasure_acting_crs", None)
    if cached is not None and cached[0] == fid:
        return str(cached[1])
    crs = force_crs(fid)
    with contextlib.suppress(AttributeError):
        user._rasure_acting_crs = (fid, crs)
    return str(crs)


def acting_force(user: Any) -> Force | None:
    fid = acting_force_id(user)
    return Force.objects.filter(pk=fid).first() if fid is not None else None


def require_force(user: Any) -> int:
    """The acting force's pk, or PermissionDenied with a message the person can act on."""
    fid = acting_force_id(user)
    if fid is None:
        raise PermissionDenied(
            "Your account is not attached to a police force on this installation, so it can see no "
            "force's data. Ask an administrator to set your force (rasure users import, or the admin)."
        )
    return fid


def forces_visible(user: Any) -> list[Force]:
    """Forces the user may switch to: their own (or the only one) and those granted to them."""
    ids = set(granted_force_ids(user))
    own = _profile_force_id(user)
    if own is None:
        only = only_force()
        own = only.pk if only is not None else None
    if own is not None:
        ids.add(own)
    return list(Force.objects.filter(pk__in=ids).order_by("code"))


def scoped(qs: QuerySet[Any], user: Any, *, path: str = "tenant") -> QuerySet[Any]:
    """``qs`` cut to the acting force of ``user`` through the lookup ``path`` (e.g. ``run__tenant``);
    empty when the user acts for no force."""
    fid = acting_force_id(user)
    if fid is None:
        return qs.none()
    return qs.filter(**{f"{path}_id": fid})


def act_for(user: Any, code: str | None) -> Force:
    """Make a command run as ``user`` (``--user``) act for the force ``code`` (``--force``; else the
    only force, and with several :class:`ForceChoiceError` lists the codes): their own force, or one
    they hold an explicit, unexpired grant for; PermissionDenied otherwise. The command logs what it
    does with the force's code."""
    force = resolve_force(code)
    if force.pk not in {f.pk for f in forces_visible(user)}:
        own = _profile_force_id(user)
        belongs = (
            f"belongs to force {Force.objects.get(pk=own).code}" if own is not None else "belongs to no force"
        )
        raise PermissionDenied(
            f"the account {user.get_username()} {belongs} and holds no grant for force {force.code}. "
            "Give your own force with --force, or ask an administrator for a grant (rasure users grant)."
        )
    user._rasure_acting_force = force.pk
    return force


def switch_force(request: Any, code: str) -> Force:
    """Make ``code`` the force the signed-in user acts for in this session: their own, or one they hold
    a grant for (refused otherwise). Logged, like the grant itself."""
    from rasure_web.accounts.access import access_log_record
    from rasure_web.accounts.models import AccessLog

    user = request.user
    force = Force.objects.filter(code=(code or "").strip().upper()).first()
    if force is None or force.pk not in {f.pk for f in forces_visible(user)}:
        raise PermissionDenied("You have no grant to see that force's data.")
    own = _profile_force_id(user)
    if own is None:
        only = only_force()
        own = only.pk if only is not None else None
    if force.pk == own:
        request.session.pop(SESSION_KEY, None)
    else:
        request.session[SESSION_KEY] = force.pk
    access_log_record(
        user=user,
        action=AccessLog.Action.VIEW,
        resource="force_switch",
        object_ref=force.code,
        detail="acts for this force's data from now on in this session",
        request=request,
    )
    return force


class ActingForceMiddleware:
    """Carries the force a user with a cross-force grant switched to (kept in their session) to
    :func:`acting_force_id`, which checks the grant again on every request."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and SESSION_KEY in session:
            user.rasure_session_force = session.get(SESSION_KEY)
        return self.get_response(request)
