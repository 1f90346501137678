"""The patrol API against its own OpenAPI document: no server errors, answers as documented.

1. schemathesis generates valid and invalid requests (including bodies in other media types, such as
   multipart without a boundary) for every operation of the API from /api/openapi.json and runs its
   checks (no 5xx, status codes, content types and bodies conform to the schema, invalid data
   rejected), as each role (officer, supervisor, analyst, partner, admin, with a CSRF token) and signed
   out. Bounded (6 examples an operation and role, plus schemathesis's coverage cases) and deterministic (derandomize).
2. A Hypothesis property test: random and malformed JSON, query strings and ids against every patrol
   endpoint; nothing may answer 5xx.
3. Form bodies Django cannot read answer 415 JSON, not 500.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.web.test_patrol_routes import client_for, load_city, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def city(db: Any) -> Any:
    return load_city()


try:
    import schemathesis
except ImportError:  # pragma: no cover - depends on the environment
    schemathesis = None


ROLES = ("officer", "supervisor", "analyst", "partner", "admin")
# One session per role for the whole module: keys and CSRF token fixed here, stored in each test's
# database by the fixture below (each test rolls its database back, sessions included).
SESSION_KEYS = {role: secrets.token_hex(16) for role in ROLES}
CSRF_TOKEN = secrets.token_hex(16)


@pytest.fixture
def role_sessions(city: Any) -> dict[str, Any]:
    from datetime import timedelta

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    users = {}
    for role in ROLES:
        user = make_user(f"fuzz-{role}", role=role)
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "rasure_web.accounts.backends.RolesModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        Session.objects.create(
            session_key=SESSION_KEYS[role],
            session_data=SessionStore().encode(data),
            expire_date=timezone.now() + timedelta(hours=1),
        )
        users[role] = user
    return users


@contextmanager
def connection_kept_open() -> Iterator[None]:
    """Keep the test's database connection open across an in-process WSGI call, as Django's own test
    client does (its request_finished handler would otherwise close it mid-test)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


if schemathesis is not None:
    from django.core.wsgi import get_wsgi_application

    # Every operation of the API (all routers mounted in rasure_web.api), not only the patrol one.
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())

    def test_the_schema_covers_every_router() -> None:
        from rasure_web.api import api

        paths = set(schema.raw_schema["paths"])
        for prefix, _router in api._routers:
            if prefix:
                assert any(p.startswith(f"/api/{prefix.strip('/')}/") for p in paths), prefix

    CURRENT = {"role": "anonymous"}

    @pytest.fixture
    def as_role(role: str, role_sessions: Any) -> Iterator[str]:
        # Fixtures run before Hypothesis generates the cases, so the auth below sees the role.
        CURRENT["role"] = role
        yield role
        CURRENT["role"] = "anonymous"

    # No caching (refresh_interval=None): the role changes between tests.
    @schema.auth(refresh_interval=None)
    class RoleSession:
        """Signs every generated request in as the test's role (none when anonymous), except those
        schemathesis sends to test missing or invalid auth."""

        def get(self, case: Any, context: Any) -> str:
            return CURRENT["role"]

        def set(self, case: Any, data: str, context: Any) -> None:
            if data == "anonymous":
                return
            case.cookies = {**(case.cookies or {}), "sessionid": SESSION_KEYS[data], "csrftoken": CSRF_TOKEN}
            case.headers = {**(case.headers or {}), "X-CSRFToken": CSRF_TOKEN}

    @pytest.mark.parametrize("role", [*ROLES, "anonymous"])
    @schema.parametrize()
    @settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def test_schemathesis_api(case: Any, as_role: str) -> None:
        """Generated requests, valid and not, as each role and signed out: never a server error, and
        every answer as documented (status, content type, body)."""
        # plain answers: the in-process WSGI client asks for gzip (pages and API answers are gzipped
        # for clients that accept it; tests/web/test_static_compression.py) but does not unpack it
        case.headers = {**(case.headers or {}), "Accept-Encoding": "identity"}
        with connection_kept_open():
            response = case.call()
            assert response.status_code < 500, (case.method, case.path, response.text[:300])
            # Requests valid by the schema may still be refused for what the schema cannot say (an
            # unknown visit or colleague, a hot spot not on today's list, a role without access, no
            # session): 401/403/404/409/422, documented.
            case.validate_response(response, excluded_checks=[schemathesis.checks.positive_data_acceptance])


else:  # pragma: no cover

    def test_schemathesis_api() -> None:
        pytest.skip(
            "schemathesis is not installed (pip install schemathesis); the property test below still runs"
        )


ENDPOINTS = [
    ("get", "/api/patrol/today"),
    ("get", "/api/patrol/hotspots/nearest"),
    ("get", "/api/patrol/hotspots/{id}/briefing"),
    ("get", "/api/patrol/colleagues"),
    ("post", "/api/patrol/visits/start"),
    ("post", "/api/patrol/pings"),
    ("post", "/api/patrol/visits/end"),
    ("get", "/api/patrol/visits/{id}"),
    ("post", "/api/patrol/records/status"),
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        ["2026-03-02T10:00:00Z", "2026-03-02T10:00:00", "9999-12-31T23:59:59-23:59", "\x00", "nan"]
    ),
    st.uuids().map(str),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)
FIELDS = [
    "client_id",
    "visit_id",
    "hotspot_id",
    "started_at",
    "ended_at",
    "device_sent_at",
    "device_id",
    "seq",
    "offline_start",
    "pings",
    "fix_time",
    "lat",
    "lon",
    "accuracy_m",
    "speed_mps",
    "spoken_to",
    "searched",
    "arrested",
    "crewed_with",
    "note",
    "client_ids",
    "limit",
    "exclude",
]
bodies = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=12),
    st.fixed_dictionaries(
        {
            "device_sent_at": scalars,
            "pings": st.lists(st.dictionaries(st.sampled_from(FIELDS), scalars, max_size=9), max_size=3),
        }
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    body=bodies,
    raw=st.one_of(st.none(), st.binary(max_size=40)),
    ident=st.one_of(st.integers(-5, 2**64).map(str), st.text(max_size=12), st.uuids().map(str)),
    query=st.dictionaries(
        st.sampled_from(["lat", "lon", "limit", "exclude"]), st.text(max_size=12), max_size=4
    ),
)
def test_no_input_makes_the_patrol_api_fail(
    city: Any, endpoint: Any, body: Any, raw: Any, ident: str, query: Any
) -> None:
    from django.contrib.auth.models import User

    user = User.objects.filter(username="pc-prop").first() or make_user("pc-prop")
    c = client_for(user)
    method, path = endpoint
    path = path.replace("{id}", ident.replace("/", "").replace("?", "").replace("#", "") or "1")
    if method == "get":
        r = c.get(path, query)
    elif raw is not None:
        r = c.post(path, data=raw, content_type="application/json")
    else:
        r = c.post(path, data=json.dumps(body), content_type="application/json")
    assert r.status_code < 500, (path, body, r.content[:300])


@pytest.mark.parametrize("path", [p for m, p in ENDPOINTS if m == "post"])
@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary="])
def test_a_form_body_without_boundary_is_refused_as_json_not_a_server_error(
    city: Any, path: str, content_type: str
) -> None:
    from django.test import Client

    user = make_user("pc-form")
    c = Client(enforce_csrf_checks=True, raise_request_exception=False)
    c.force_login(user)
    c.cookies["csrftoken"] = CSRF_TOKEN
    r = c.post(path, data=b"x=1", content_type=content_type, HTTP_X_CSRFTOKEN=CSRF_TOKEN)
    assert r.status_code == 415, r.content[:300]
    assert r["Content-Type"].startswith("application/json")
    assert r.json()["code"] == "unsupported_media_type"
