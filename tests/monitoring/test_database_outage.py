"""A database that can't be reached: every API endpoint answers 503 with Retry-After and the API's
error shape, HTML pages a plain 503 page; never a 500. Here the outage is an execute wrapper
that fails every statement as psycopg does when the server is gone; tests/test_database_restart.py
stops a real PostgreSQL under gunicorn."""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager

import pytest
from django.db import OperationalError, connection
from django.test import Client, RequestFactory

from config import outages
from monitoring.views import server_error

REFUSED = 'connection to server at "127.0.0.1", port 5432 failed: Connection refused'
UNAVAILABLE = {"error": "unavailable", "detail": "the database is unavailable; retry later"}


@contextmanager
def database_down():
    def refuse(execute, sql, params, many, context):
        raise OperationalError(REFUSED)

    with connection.execute_wrapper(refuse):
        yield


def assert_unavailable_json(response) -> None:
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == UNAVAILABLE


@pytest.fixture(autouse=True)
def _log_every_outage(monkeypatch):
    monkeypatch.setattr(outages, "_logged_at", -outages.LOG_INTERVAL_SECONDS)


def test_tracking_answers_503_when_the_key_lookup_fails(ingest_client):
    with database_down():
        single = ingest_client.post("/api/v1/events", {"event_name": "visit"}, format="json")
        batch = ingest_client.post(
            "/api/v1/events/batch", {"events": [{"event_name": "visit"}]}, format="json"
        )
    assert_unavailable_json(single)
    assert_unavailable_json(batch)


def test_tracking_answers_503_when_the_database_fails_after_the_key_lookup(
    ingest_client, monkeypatch
):
    from events.api import views

    def ingest_fails(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(views, "events_ingest", ingest_fails)
    response = ingest_client.post("/api/v1/events", {"event_name": "visit"}, format="json")
    assert_unavailable_json(response)


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/contacts"),
        ("get", "/api/v1/segments"),
        ("get", "/api/v1/campaigns"),
        ("post", "/api/v1/campaigns"),
        ("get", "/api/v1/event-types"),
    ],
)
def test_admin_api_answers_503(admin_client, method, path):
    with database_down():
        response = getattr(admin_client, method)(path, {}, format="json")
    assert_unavailable_json(response)


def test_push_opened_answers_503(client, db):
    with database_down():
        response = client.post(
            "/api/v1/push/opened", {"token": "t" * 40}, content_type="application/json"
        )
    assert_unavailable_json(response)


def test_the_admin_shows_a_plain_503_page(staff_client):
    with database_down():
        response = staff_client.get("/admin/contacts/contact/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    page = response.content.decode()
    assert "Temporarily unavailable" in page and "admin/css/base.css" in page


def test_a_failed_sign_in_attempt_shows_the_503_page(db):
    with database_down():
        response = Client().post("/admin/login/", {"username": "boss", "password": "pw"})
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.content.decode()


def test_an_outage_met_outside_a_view_is_a_503_too(db):
    request = RequestFactory().get("/admin/")
    try:
        raise OperationalError(REFUSED)  # as SessionMiddleware saving a session would
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    api = RequestFactory().get("/api/v1/contacts")
    try:
        raise OperationalError(REFUSED)
    except OperationalError:
        assert_unavailable_json(server_error(api))


def test_other_errors_stay_500s(db):
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(RequestFactory().get("/admin/"))
    assert response.status_code == 500


def test_an_outage_is_logged_once_without_a_traceback(ingest_client, caplog):
    with caplog.at_level(logging.ERROR, logger="config.outages"), database_down():
        for _ in range(5):
            ingest_client.post("/api/v1/events", {"event_name": "visit"}, format="json")
    [record] = [r for r in caplog.records if r.name == "config.outages"]
    assert record.getMessage() == (
        f"database unavailable, answering 503: OperationalError: {REFUSED}"
    )
    assert record.exc_info is None


def test_browsers_let_the_sdk_read_retry_after(ingest_client):
    with database_down():
        response = ingest_client.post(
            "/api/v1/events",
            {"event_name": "visit"},
            format="json",
            HTTP_ORIGIN="https://shop.example.com",
        )
    assert response.status_code == 503
    assert "Retry-After" in response["Access-Control-Expose-Headers"]
