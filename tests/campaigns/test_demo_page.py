"""The SDK demo page and the service worker at the root: development aids, only with DEBUG."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def debug(settings, tmp_path):
    settings.DEBUG = True
    settings.DEMO_CREDENTIALS_FILE = tmp_path / "demo-credentials.json"
    return settings


def test_demo_page_loads_the_sdk_with_the_demo_ingest_key(client, debug, ingest_key):
    debug.DEMO_CREDENTIALS_FILE.write_text(json.dumps({"ingest_key": ingest_key}))
    response = client.get("/demo/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/beacon/beacon.js" in page
    config = json.loads(page.split('id="beacon-config" type="application/json">')[1].split("<")[0])
    assert config == {
        "apiKey": ingest_key,
        "endpoint": "http://testserver",
        "serviceWorkerUrl": "/beacon-sw.js",
    }


def test_demo_page_without_credentials_says_to_run_make_run(client, debug, db):
    page = client.get("/demo/").content.decode()
    assert "make run" in page and "<script async" not in page


def test_service_worker_is_served_at_the_root(client, debug):
    response = client.get("/beacon-sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    assert b'addEventListener("notificationclick"' in response.content


@pytest.mark.parametrize("path", ["/demo/", "/beacon-sw.js"])
def test_development_pages_do_not_exist_without_debug(client, settings, db, path):
    settings.DEBUG = False
    assert client.get(path).status_code == 404
