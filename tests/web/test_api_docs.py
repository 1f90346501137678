"""/api/docs works with no internet: Swagger UI comes from vendored static files, never a CDN."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

CDN_WORDS = ("cdn", "unpkg", "jsdelivr", "cdnjs", "googleapis")


class _Refs(HTMLParser):
    """Every URL the page makes the browser load (script src, link href), and its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[dict[str, str | None]] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            if a.get("src"):
                self.urls.append(str(a["src"]))
            else:
                self._in_script = a
        elif tag == "link" and a.get("href"):
            self.urls.append(str(a["href"]))
        elif tag in ("img", "iframe") and a.get("src"):
            self.urls.append(str(a["src"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script is not None:
            self.inline_scripts.append(self._in_script)
            self._in_script = None


def _docs_html(client: Client) -> str:
    r = client.get("/api/docs")
    assert r.status_code == 200, r.content[:500]
    return r.content.decode()


def _refs(html: str) -> _Refs:
    p = _Refs()
    p.feed(html)
    return p


def _assert_local_only(html: str) -> list[str]:
    refs = _refs(html)
    # The CSRF token is random letters and digits: one in a few hundred contains "cdn" by chance.
    low = re.sub(r'data-csrf-token="[^"]*"', 'data-csrf-token=""', html).lower()
    assert 'data-csrf-token=""' in low, "the page carries no CSRF token for Swagger's requests"
    assert "http://" not in low and "https://" not in low, "the page names an absolute URL"
    assert not [w for w in CDN_WORDS if w in low], "the page names a CDN"
    assert refs.urls, "no scripts or stylesheets found"
    assert all(u.startswith(django_settings.STATIC_URL) for u in refs.urls), refs.urls
    assert any("swagger-ui-bundle" in u for u in refs.urls) and any("swagger-ui" in u for u in refs.urls)
    # Only data blocks inline (no executable inline script), so a strict script-src 'self' CSP passes.
    assert all(s.get("type") == "application/json" for s in refs.inline_scripts), refs.inline_scripts
    return refs.urls


def test_docs_reference_only_local_static_files(client: Client, settings: Any) -> None:
    settings.WHITENOISE_USE_FINDERS = True  # serve from the source tree, as in development
    settings.WHITENOISE_AUTOREFRESH = True
    urls = _assert_local_only(_docs_html(client))
    for url in urls:
        rel = url.removeprefix(django_settings.STATIC_URL)
        assert finders.find(rel), f"{rel} is not a static file"
        r = Client().get(url)
        assert r.status_code == 200, url
        body = b"".join(r.streaming_content) if r.streaming else r.content  # type: ignore[attr-defined]
        assert len(body) > 100, url
        ctype = r.headers["Content-Type"]
        assert ("javascript" in ctype) if url.endswith(".js") else True, (url, ctype)
        assert ("text/css" in ctype) if url.endswith(".css") else True, (url, ctype)


def test_docs_for_a_signed_in_user(client: Client) -> None:
    u = User.objects.create_user(username="docs-analyst", password="a-long-test-password")
    u.groups.add(Group.objects.get(name="analyst"))
    client.force_login(u)
    _assert_local_only(_docs_html(client))


@pytest.mark.parametrize("apps", ["without-staticfiles", "with-ninja-app"])
def test_docs_stay_local_whatever_the_installed_apps(client: Client, settings: Any, apps: str) -> None:
    """ninja renders a CDN template file unless "ninja" is an installed app; {% static %} works
    with or without django.contrib.staticfiles. Every combination must stay local."""
    installed = list(settings.INSTALLED_APPS)
    if apps == "without-staticfiles":
        installed.remove("django.contrib.staticfiles")
    else:
        installed.append("ninja")
    settings.INSTALLED_APPS = installed
    _assert_local_only(_docs_html(client))


def test_vendored_files_survive_manifest_storage(client: Client, settings: Any, tmp_path: Path) -> None:
    """Production hashes static files; a dangling sourceMappingURL in a vendored file would fail it."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    urls = _assert_local_only(_docs_html(client))
    for url in urls:
        assert re.search(r"\.[0-9a-f]{12}\.(js|css|svg)$", url), f"{url} is not hashed"
        assert (tmp_path / url.removeprefix(django_settings.STATIC_URL)).is_file(), url


def test_vendored_swagger_ui_has_its_licence() -> None:
    bundle = finders.find("vendor/swagger-ui-5.35.0/swagger-ui-bundle.js")
    assert bundle
    folder = Path(str(bundle)).parent
    for name in ("LICENSE", "NOTICE", "VERSION.txt", "swagger-ui.css", "swagger-ui-bundle.js.LICENSE.txt"):
        assert (folder / name).is_file(), name
    assert "Apache License" in (folder / "LICENSE").read_text(encoding="utf-8")
