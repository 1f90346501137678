"""Static files go out compressed in production: collectstatic with the production storage (WhiteNoise's
CompressedManifestStaticFilesStorage) writes a gzip copy of each text file, and WhiteNoise sends it,
with ``Content-Encoding: gzip``, to a browser that accepts gzip (and the plain file to one that does not).
Pages and API answers are gzipped by Django's GZipMiddleware (gunicorn itself compresses nothing: a
signed-in overview went out as 26 kB of plain HTML).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from tests.city import store_city_with_hotspots

PRODUCTION_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def test_production_static_files_are_sent_compressed(tmp_path: Path) -> None:
    with override_settings(STORAGES=PRODUCTION_STORAGES, STATIC_ROOT=tmp_path, DEBUG=False):
        call_command("collectstatic", interactive=False, verbosity=0)
        from django.contrib.staticfiles.storage import staticfiles_storage

        url = staticfiles_storage.url("patrol/app.js")
        assert url != "/static/patrol/app.js", "hashed names for long caching"
        plain = (tmp_path / url.removeprefix("/static/")).read_bytes()
        client = Client()  # a new handler: WhiteNoise reads STATIC_ROOT as it starts
        zipped = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate")
        assert zipped.status_code == 200
        assert zipped["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped["Vary"]
        body = b"".join(zipped.streaming_content)
        assert gzip.decompress(body) == plain and len(body) < len(plain) / 2
        assert "immutable" in zipped["Cache-Control"] or "max-age" in zipped["Cache-Control"]
        raw = client.get(url)
        assert raw.status_code == 200 and "Content-Encoding" not in raw
        assert b"".join(raw.streaming_content) == plain


@pytest.mark.django_db
def test_pages_and_api_answers_are_sent_compressed() -> None:
    from django.contrib.auth.models import Group, User

    store_city_with_hotspots()
    user = User.objects.create_user(username="t-analyst", password="x")
    user.groups.add(Group.objects.get_or_create(name="analyst")[0])
    client = Client()
    client.force_login(user)
    for path, says in (
        ("/dashboard/", b"Serious violence overview"),
        ("/dashboard/export/hotspots.geojson", b'"FeatureCollection"'),
    ):
        zipped = client.get(path, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
        assert zipped.status_code == 200, path
        assert zipped["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped["Vary"], path
        plain = client.get(path)
        assert "Content-Encoding" not in plain, path
        body = gzip.decompress(zipped.content)
        assert says in body and says in plain.content, path
        assert len(zipped.content) < len(body) / 3, path
