"""What the browser SDK calls from customers' pages: GET /api/v1/push/config, and CORS limited to
the tracking and push endpoints."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from campaigns.vapid import vapid_keys

SITE = "https://shop.example.com"


def preflight(path: str, method: str = "POST"):
    return APIClient().options(
        path,
        HTTP_ORIGIN=SITE,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
    )


def test_push_config_gives_an_ingest_key_the_vapid_public_key(ingest_client):
    response = ingest_client.get("/api/v1/push/config")
    assert response.status_code == 200
    assert response.json() == {"vapid_public_key": vapid_keys().public_key}


def test_push_config_needs_a_key(db):
    response = APIClient().get("/api/v1/push/config")
    assert response.status_code == 401
    assert response.json()["error"] == "authentication"


@pytest.mark.parametrize(
    "path, method",
    [
        ("/api/v1/events", "POST"),
        ("/api/v1/events/batch", "POST"),
        ("/api/v1/push/config", "GET"),
        ("/api/v1/push/opened", "POST"),
    ],
)
def test_preflight_from_any_site_passes_for_the_browser_endpoints(db, path, method):
    response = preflight(path, method)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert method in response["Access-Control-Allow-Methods"]
    allowed = response["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "Access-Control-Allow-Credentials" not in response


def test_cross_origin_event_answer_is_readable_by_the_page(ingest_client):
    response = ingest_client.post(
        "/api/v1/events", {"event_name": "app_opened"}, format="json", HTTP_ORIGIN=SITE
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    "path", ["/api/v1/contacts", "/api/v1/segments", "/api/v1/event-types", "/api/v1/schema"]
)
def test_admin_api_grants_no_cross_origin_access(db, admin_client, path):
    assert "Access-Control-Allow-Origin" not in preflight(path, "GET")
    response = admin_client.get(path, HTTP_ORIGIN=SITE)
    assert "Access-Control-Allow-Origin" not in response
