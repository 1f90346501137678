"""Single sign-on over OpenID Connect (authorization code flow with PKCE), on mozilla-django-oidc.

Everything is read from ``settings.RASURE_OIDC`` at request time (built from the RASURE_OIDC_*
environment variables by :func:`rasure_web.accounts.sso_config.oidc_from_env`); ``None`` means off, and
then the sign-in views answer 404 and the backend never authenticates anyone.

At every sign-in (:func:`sign_in_from_claims`):

- the account is found by (issuer, subject) in :class:`SsoIdentity`, never by username, so a local
  account is not taken over by a person at the identity provider who has the same name;
- the Rasure role groups are set from the groups claim through the role map (added and removed; groups
  not in the map ignored); the admin role, staff and superuser only with RASURE_OIDC_ALLOW_ADMIN=1;
- no mapped role, or a name clash with an account single sign-on did not create, is refused with a
  readable page; refusals and successful sign-ins are written to the access log.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from rasure_web import clock
from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.models import AccessLog, SsoIdentity
from rasure_web.accounts.roles import ADMIN, ALL_ROLES

log = logging.getLogger(__name__)

RESOURCE = "sso_sign_in"
_DISCOVERY_TTL = 3600.0
_discovery_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_discovery_lock = threading.Lock()


class SsoUnavailable(Exception):
    """The identity provider could not be reached or answered nonsense."""


def config() -> dict[str, Any] | None:
    return getattr(settings, "RASURE_OIDC", None) or None


def button_text(cfg: dict[str, Any]) -> str:
    label = str(cfg.get("label") or "single sign-on")
    return label if label.lower().startswith("sign in") else f"Sign in with {label}"


def endpoints(cfg: dict[str, Any]) -> dict[str, str]:
    """The provider's endpoints: explicit ones from the configuration, the rest from the issuer's
    discovery document (fetched once an hour per process)."""
    explicit: dict[str, str] = dict(cfg.get("endpoints") or {})
    needed = ("authorization_endpoint", "token_endpoint", "jwks_uri")
    if all(explicit.get(k) for k in needed) or not cfg.get("issuer"):
        return explicit
    issuer = str(cfg["issuer"])
    with _discovery_lock:
        cached = _discovery_cache.get(issuer)
    if cached is None or time.monotonic() - cached[0] > _DISCOVERY_TTL:
        url = f"{issuer}/.well-known/openid-configuration"
        try:
            resp = requests.get(url, timeout=cfg.get("timeout", 10))
            resp.raise_for_status()
            doc = resp.json()
        except (requests.RequestException, ValueError) as exc:
            raise SsoUnavailable(f"could not read {url}: {exc}") from exc
        if str(doc.get("issuer", "")).rstrip("/") != issuer:
            raise SsoUnavailable(f"{url} names issuer {doc.get('issuer')!r}, not {issuer!r}")
        cached = (time.monotonic(), doc)
        with _discovery_lock:
            _discovery_cache[issuer] = cached
    doc = cached[1]
    found = {k: str(doc[k]) for k in (*needed, "userinfo_endpoint") if doc.get(k)}
    return {**found, **explicit}


def _setting(attr: str, *default: Any) -> Any:
    """What mozilla-django-oidc asks for, answered from RASURE_OIDC."""
    cfg = config()
    if cfg is None:
        return import_from_settings(attr, *default)
    fixed: dict[str, Any] = {
        "OIDC_RP_CLIENT_ID": cfg["client_id"],
        "OIDC_RP_CLIENT_SECRET": cfg["client_secret"],
        "OIDC_RP_SIGN_ALGO": cfg.get("sign_algo", "RS256"),
        "OIDC_RP_SCOPES": cfg.get("scopes", "openid email profile"),
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_USE_NONCE": True,
        "OIDC_TIMEOUT": cfg.get("timeout", 10),
        "OIDC_AUTHENTICATION_CALLBACK_URL": "oidc_authentication_callback",
        "OIDC_CREATE_USER": True,
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_STORE_ID_TOKEN": False,
    }
    if attr in fixed:
        return fixed[attr]
    eps = {
        "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
        "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
        "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
        "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    }
    if attr in eps:
        return endpoints(cfg).get(eps[attr])
    return import_from_settings(attr, *default)


# --------------------------------------------------------------------------- the decision


@dataclass
class Refusal:
    reason: str  # shown to the person, in plain words
    detail: str = ""  # for the access log
    username: str = ""
    status: int = 403


@dataclass
class Outcome:
    user: Any = None
    refusal: Refusal | None = None
    roles: frozenset[str] = field(default_factory=frozenset)


def claimed_groups(claims: dict[str, Any], claim: str) -> list[str]:
    value = claims.get(claim)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


def username_from_claims(claims: dict[str, Any], claim: str) -> str:
    for name in (claim, "preferred_username", "email", "sub"):
        value = claims.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:150]
    return ""


def mapped_roles(cfg: dict[str, Any], claims: dict[str, Any]) -> tuple[frozenset[str], set[str]]:
    """(roles granted, roles withheld because admin is not allowed over single sign-on)."""
    role_map: dict[str, str] = cfg["role_map"]
    roles = {role_map[g] for g in claimed_groups(claims, cfg.get("groups_claim", "groups")) if g in role_map}
    withheld: set[str] = set()
    if ADMIN in roles and not cfg.get("allow_admin"):
        roles.discard(ADMIN)
        withheld.add(ADMIN)
    return frozenset(roles), withheld


def _log_refusal(refusal: Refusal, request: HttpRequest | None, user: Any = None) -> None:
    access_log_record(
        user=user,
        username=refusal.username or "(unknown)",
        action=AccessLog.Action.REFUSED,
        resource=RESOURCE,
        detail=f"{refusal.reason} {refusal.detail}".strip(),
        request=request,
    )


def sign_in_from_claims(
    cfg: dict[str, Any], issuer: str, claims: dict[str, Any], request: HttpRequest | None = None
) -> Outcome:
    """Find or create the account for these verified claims and set its roles; log the result."""
    user_model = get_user_model()
    subject = str(claims.get("sub") or "")
    username = username_from_claims(claims, cfg.get("username_claim", "preferred_username"))
    who = f"issuer={issuer} sub={subject}"
    if not subject or not username:
        refusal = Refusal("Your identity provider did not say who you are (no subject).", who, username)
        _log_refusal(refusal, request)
        return Outcome(refusal=refusal)
    if "_claim_names" in claims and cfg.get("groups_claim", "groups") in (claims.get("_claim_names") or {}):
        refusal = Refusal(
            "You are in too many groups for your identity provider to list them in the sign-in token. "
            "Ask your IT team to send only the groups assigned to Rasure (see docs/signing-in.md).",
            f"group overage; {who}",
            username,
        )
        _log_refusal(refusal, request)
        return Outcome(refusal=refusal)

    roles, withheld = mapped_roles(cfg, claims)
    groups_seen = claimed_groups(claims, cfg.get("groups_claim", "groups"))
    note = f"{who} groups={groups_seen!r}" + (f" withheld={sorted(withheld)}" if withheld else "")

    with transaction.atomic():
        identity = SsoIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
        user = identity.user if identity else None
        if user is None:
            clash = user_model.objects.filter(username__iexact=username).first()
            if clash is not None:
                refusal = Refusal(
                    f"A Rasure account named {username!r} already exists and was not created by single "
                    "sign-on, so it cannot be used this way. Sign in with its password, or ask an "
                    "administrator.",
                    note,
                    username,
                )
                outcome = Outcome(refusal=refusal)
            elif not roles:
                outcome = Outcome(refusal=_no_role(username, note, withheld))
            else:
                # No password: the account signs in only through the identity provider.
                user = user_model.objects.create_user(username=username, email=claims.get("email") or "")
                identity = SsoIdentity.objects.create(user=user, issuer=issuer, subject=subject)
                outcome = Outcome(user=user, roles=roles)
        elif not user.is_active:
            outcome = Outcome(
                refusal=Refusal(
                    "Your Rasure account has been switched off. Ask an administrator.", note, user.username
                )
            )
        else:
            outcome = Outcome(user=user, roles=roles)
            if not roles:
                outcome = Outcome(refusal=_no_role(user.username, note, withheld))

        if user is not None and identity is not None:
            _set_roles(user, roles, claims)  # also strips the roles of a refused, linked account
        if outcome.refusal is None and identity is not None:
            identity.last_sign_in_at = clock.now()
            identity.save(update_fields=["last_sign_in_at"])

    if outcome.refusal is not None:
        _log_refusal(outcome.refusal, request, user if identity is not None else None)
    else:
        access_log_record(
            user=outcome.user,
            action=AccessLog.Action.SIGN_IN,
            resource=RESOURCE,
            detail=f"roles={sorted(roles)} {note}",
            request=request,
        )
    return outcome


def _no_role(username: str, note: str, withheld: set[str]) -> Refusal:
    if withheld:
        reason = (
            "Your groups give you only the administrator role, which this installation does not grant "
            "through single sign-on. Administrators sign in with a local account."
        )
    else:
        reason = (
            "You signed in at your identity provider, but none of your groups gives you a role in "
            "Rasure. Ask your IT team or supervisor to add you to the right group."
        )
    return Refusal(reason, note, username)


def _set_roles(user: Any, roles: frozenset[str], claims: dict[str, Any]) -> None:
    """Role groups exactly as mapped (other, non-role groups untouched); admin also means staff and
    superuser, as for the demo's admin. Name and email follow the identity provider."""
    current = set(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
    remove = current - roles
    if remove:
        user.groups.remove(*Group.objects.filter(name__in=remove))
    for name in sorted(roles - current):
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    is_admin = ADMIN in roles
    user.is_staff = is_admin
    user.is_superuser = is_admin
    user.email = str(claims.get("email") or user.email or "")[:254]
    name = str(claims.get("name") or "").strip()
    if name:
        first, _, last = name.partition(" ")
        user.first_name, user.last_name = first[:150], last[:150]
    user.save(update_fields=["is_staff", "is_superuser", "email", "first_name", "last_name"])
    user._rasure_roles = None


# --------------------------------------------------------------------------- mozilla-django-oidc glue


class RasureOIDCBackend(OIDCAuthenticationBackend):  # type: ignore[misc]
    """Authenticates only OpenID Connect callbacks, and only when RASURE_OIDC is set."""

    get_settings = staticmethod(_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.cfg = config()
        if self.cfg is not None:
            super().__init__(*args, **kwargs)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:
        if self.cfg is None or request is None or "code_verifier" not in kwargs:
            return None  # not an OpenID Connect callback (e.g. the password form)
        return super().authenticate(request, **kwargs)

    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        """As the library, and also check audience and issuer (the library does not)."""
        assert self.cfg is not None
        alg = jwt.get_unverified_header(payload).get("alg")
        if alg != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(f"ID token signed with {alg!r}, expected {self.OIDC_RP_SIGN_ALGO!r}")
        try:
            data: dict[str, Any] = jwt.decode(
                payload,
                key,
                algorithms=[alg],
                audience=self.cfg["client_id"],
                issuer=self.cfg["issuer"] or None,
                options={"require": ["exp", "iat", "sub"]},
                leeway=60,
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token rejected: {exc}") from exc
        return data

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The ID token's claims (where Entra ID puts groups), completed by the userinfo endpoint."""
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            extra = super().get_userinfo(access_token, id_token, payload)
            if str(extra.get("sub")) != str(payload.get("sub")):
                raise SuspiciousOperation("userinfo is about another subject than the ID token")
            for key, value in extra.items():
                claims.setdefault(key, value)
        return claims

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("sub"))

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        assert self.cfg is not None
        claims = self.get_userinfo(access_token, id_token, payload)
        issuer = self.cfg["issuer"] or str(payload.get("iss") or "")
        outcome = sign_in_from_claims(self.cfg, issuer, claims, self.request)
        if outcome.refusal is not None:
            self.request.rasure_sso_refusal = outcome.refusal  # type: ignore[attr-defined]
            return None
        return outcome.user

    def get_user(self, user_id: Any) -> Any:
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None


def _refused(request: HttpRequest, reason: str, status: int) -> HttpResponse:
    return render(request, "registration/sso_refused.html", {"reason": reason}, status=status)


class SsoStart(OIDCAuthenticationRequestView):  # type: ignore[misc]
    """``/accounts/oidc/start/``: off (404) unless configured; sends the browser to the provider."""

    get_settings = staticmethod(_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if config() is None:
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except SsoUnavailable as exc:
            log.warning("single sign-on unavailable: %s", exc)
            return _refused(
                request, "Your identity provider cannot be reached just now. Try again shortly.", 502
            )
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        response: HttpResponse = super().get(request)
        return response


class SsoCallback(OIDCAuthenticationCallbackView):  # type: ignore[misc]
    """``/accounts/oidc/callback/``: every way this can fail ends on a readable page and in the log."""

    get_settings = staticmethod(_setting)

    @property
    def success_url(self) -> str:
        next_url = self.request.session.get("oidc_login_next")
        return str(next_url or settings.LOGIN_REDIRECT_URL)

    def get(self, request: HttpRequest) -> HttpResponse:
        if config() is None:
            raise Http404("Single sign-on is not configured.")
        try:
            response: HttpResponse = super().get(request)
            return response
        except SuspiciousOperation as exc:
            reason = (
                "The sign-in could not be verified, so it was refused. Start again from the sign-in page."
            )
            _log_refusal(Refusal(reason, f"{type(exc).__name__}: {exc}"), request)
            return _refused(request, reason, 400)
        except (requests.RequestException, SsoUnavailable) as exc:
            log.warning("single sign-on: provider error: %s", exc)
            reason = "Your identity provider could not complete the sign-in. Try again shortly."
            _log_refusal(Refusal(reason, f"{type(exc).__name__}: {exc}"), request)
            return _refused(request, reason, 502)

    def login_failure(self) -> HttpResponse:
        refusal: Refusal | None = getattr(self.request, "rasure_sso_refusal", None)
        if refusal is not None:
            return _refused(self.request, refusal.reason, refusal.status)
        error = self.request.GET.get("error")
        if error:
            reason = "The sign-in was not completed at your identity provider."
            _log_refusal(
                Refusal(reason, f"error={error} {self.request.GET.get('error_description', '')}"),
                self.request,
            )
            return _refused(self.request, reason, 403)
        reason = (
            "The sign-in could not be completed (it may have expired). Start again from the sign-in page."
        )
        _log_refusal(Refusal(reason, "no state in session"), self.request)
        return _refused(self.request, reason, 400)
