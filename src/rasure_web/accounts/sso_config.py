"""Single sign-on configuration from the environment (read by settings.py; no Django imports).

Unset ``RASURE_OIDC_CLIENT_ID`` means single sign-on is off and nothing changes. See docs/signing-in.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rasure_web.accounts.roles import ALL_ROLES as ROLE_NAMES


class SsoConfigError(ValueError):
    """The RASURE_OIDC_* variables are inconsistent; the message says which one to fix."""


def parse_role_map(text: str) -> dict[str, str]:
    """``"rasure-officers=officer;rasure-analysts=analyst"`` → ``{"rasure-officers": "officer", ...}``.

    >>> parse_role_map("g1=officer; g2 = analyst;")
    {'g1': 'officer', 'g2': 'analyst'}
    """
    out: dict[str, str] = {}
    for part in text.replace("\n", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        group, sep, role = part.rpartition("=")
        group, role = group.strip(), role.strip()
        if not sep or not group:
            raise SsoConfigError(f"RASURE_OIDC_ROLE_MAP: {part!r} is not GROUP=ROLE")
        if role not in ROLE_NAMES:
            raise SsoConfigError(
                f"RASURE_OIDC_ROLE_MAP: {role!r} (for {group!r}) is not a role; roles: {', '.join(ROLE_NAMES)}"
            )
        out[group] = role
    return out


def oidc_from_env(env: Mapping[str, str]) -> dict[str, Any] | None:
    """The ``RASURE_OIDC`` setting: ``None`` when single sign-on is not configured."""
    client_id = env.get("RASURE_OIDC_CLIENT_ID", "").strip()
    if not client_id:
        return None
    issuer = env.get("RASURE_OIDC_ISSUER", "").strip().rstrip("/")
    endpoints = {
        "authorization_endpoint": env.get("RASURE_OIDC_AUTHORIZATION_ENDPOINT", "").strip(),
        "token_endpoint": env.get("RASURE_OIDC_TOKEN_ENDPOINT", "").strip(),
        "userinfo_endpoint": env.get("RASURE_OIDC_USERINFO_ENDPOINT", "").strip(),
        "jwks_uri": env.get("RASURE_OIDC_JWKS_URI", "").strip(),
    }
    if not issuer and not (
        endpoints["authorization_endpoint"] and endpoints["token_endpoint"] and endpoints["jwks_uri"]
    ):
        raise SsoConfigError(
            "RASURE_OIDC_CLIENT_ID is set: set RASURE_OIDC_ISSUER too (or RASURE_OIDC_AUTHORIZATION_ENDPOINT, "
            "RASURE_OIDC_TOKEN_ENDPOINT and RASURE_OIDC_JWKS_URI)"
        )
    secret = env.get("RASURE_OIDC_CLIENT_SECRET", "")
    if not secret:
        raise SsoConfigError("RASURE_OIDC_CLIENT_ID is set but RASURE_OIDC_CLIENT_SECRET is not")
    role_map = parse_role_map(env.get("RASURE_OIDC_ROLE_MAP", ""))
    if not role_map:
        raise SsoConfigError(
            "RASURE_OIDC_ROLE_MAP is empty: no one could sign in (e.g. 'rasure-analysts=analyst')"
        )
    return {
        "issuer": issuer,
        "client_id": client_id,
        "client_secret": secret,
        "endpoints": {k: v for k, v in endpoints.items() if v},
        "groups_claim": env.get("RASURE_OIDC_GROUPS_CLAIM", "").strip() or "groups",
        "username_claim": env.get("RASURE_OIDC_USERNAME_CLAIM", "").strip() or "preferred_username",
        "role_map": role_map,
        "label": env.get("RASURE_OIDC_LABEL", "").strip() or "single sign-on",
        "allow_admin": env.get("RASURE_OIDC_ALLOW_ADMIN", "0").strip() == "1",
        "scopes": env.get("RASURE_OIDC_SCOPES", "").strip() or "openid email profile",
        "sign_algo": env.get("RASURE_OIDC_SIGN_ALGO", "").strip() or "RS256",
        "timeout": float(env.get("RASURE_OIDC_TIMEOUT", "") or 10),
    }
