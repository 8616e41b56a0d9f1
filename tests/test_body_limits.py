"""Django's body limit (DATA_UPLOAD_MAX_MEMORY_SIZE) guards the admin and every form; the API's
parser keeps its own per-view limits (config/api.py): a 10 MB batch, a 413 in the one shape."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.test import Client
from django.test.client import FakePayload

from events.models import Event


def batch_of(total_bytes: int, count: int = 100) -> dict:
    blob = "a" * (total_bytes // count)
    return {
        "events": [
            {"event_name": "viewed", "app_user_id": f"u{i}", "context": {"blob": blob}}
            for i in range(count)
        ]
    }


def test_django_keeps_its_default_body_limit():
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2_621_440


def test_a_five_megabyte_batch_is_accepted(ingest_client):
    response = ingest_client.post("/api/v1/events/batch", batch_of(5_000_000), format="json")
    assert response.status_code == 200, response.content[:300]
    assert all("fingerprint" in item for item in response.json()["results"])
    assert Event.objects.filter(event_type__name="viewed").count() == 100


def test_a_batch_over_ten_megabytes_is_a_413_in_the_one_error_shape(ingest_client):
    response = ingest_client.post("/api/v1/events/batch", batch_of(10_100_000), format="json")
    assert response.status_code == 413
    assert response.json() == {
        "error": "too_large",
        "detail": "request body is over the limit of 10000000 bytes",
    }
    assert not Event.objects.exists()


def test_a_three_megabyte_admin_post_is_refused_unread(db, monkeypatch):
    read = []
    original = FakePayload.read

    def counting(self, *args, **kwargs):
        content = original(self, *args, **kwargs)
        read.append(len(content))
        return content

    monkeypatch.setattr(FakePayload, "read", counting)
    body = urlencode({"username": "ann", "password": "x", "padding": "a" * 3_000_000})
    response = Client().post(
        "/admin/login/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400  # RequestDataTooBig, from the declared Content-Length
    assert sum(read) == 0
