"""The patrol API against its own OpenAPI document: no server errors, answers as documented.

1. schemathesis (when installed) generates valid and invalid requests for every patrol operation from
   /api/openapi.json and runs its checks (no 5xx, status codes, content types and bodies conform to the
   schema, invalid data rejected, auth enforced), signed in as an officer with a CSRF token.
2. A Hypothesis property test that always runs (schemathesis is not a declared dependency yet): random
   and malformed JSON, query strings and ids against every patrol endpoint; nothing may answer 5xx.
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


# One officer session for the whole module: its key and CSRF token are fixed here (schemathesis asks for
# the auth while collecting, before a database exists); the fixture below stores the session in each
# test's database.
SESSION_KEY_VALUE = secrets.token_hex(16)
CSRF_TOKEN = secrets.token_hex(16)


@pytest.fixture
def fuzz_officer(city: Any) -> Any:
    from datetime import timedelta

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    user = make_user("pc-fuzz")
    data = {
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
        HASH_SESSION_KEY: user.get_session_auth_hash(),
    }
    Session.objects.create(
        session_key=SESSION_KEY_VALUE,
        session_data=SessionStore().encode(data),
        expire_date=timezone.now() + timedelta(hours=1),
    )
    return user


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

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())

    # No caching (refresh_interval=None): each test rolls its database back, sessions included.
    @schema.auth(refresh_interval=None)
    class OfficerSession:
        """Signs every generated request in as an officer, except those testing missing auth."""

        def get(self, case: Any, context: Any) -> tuple[dict[str, str], dict[str, str]]:
            return {"sessionid": SESSION_KEY_VALUE, "csrftoken": CSRF_TOKEN}, {"X-CSRFToken": CSRF_TOKEN}

        def set(self, case: Any, data: tuple[dict[str, str], dict[str, str]], context: Any) -> None:
            cookies, headers = data
            case.cookies = {**(case.cookies or {}), **cookies}
            case.headers = {**(case.headers or {}), **headers}

    @schema.include(path_regex="^/api/patrol/").parametrize()
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    def test_schemathesis_patrol_api(case: Any, fuzz_officer: Any) -> None:
        with connection_kept_open():
            response = case.call()
            # Requests valid by the schema may still be refused for what the schema cannot say (an
            # unknown visit or colleague, a hot spot not on today's list): 404/409/422, documented.
            case.validate_response(response, excluded_checks=[schemathesis.checks.positive_data_acceptance])
else:  # pragma: no cover

    def test_schemathesis_patrol_api() -> None:
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
