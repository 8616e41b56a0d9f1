"""Shared fixtures: an app with keys, and API clients authenticated with them."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from config.celery import app as celery_app
from contacts.models import ApiKey
from contacts.services.apps import api_key_create, app_create
from contacts.services.roles import roles_install
from tests.campaigns.smtp_server import LocalSmtpServer

# Tasks run inline in tests; the Celery wiring is tested once with a real worker.
celery_app.conf.task_always_eager = True


@pytest.fixture
def app(db):
    return app_create(name="Shop", tenant_id="shop")


@pytest.fixture
def other_app(db):
    return app_create(name="Other", tenant_id="other")


def _client(app, scope) -> tuple[APIClient, str]:
    _, raw_key = api_key_create(app=app, name=f"{scope} key", scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client, raw_key


@pytest.fixture
def admin_client(app):
    return _client(app, ApiKey.Scope.ADMIN)[0]


@pytest.fixture
def ingest_key(app):
    return _client(app, ApiKey.Scope.INGEST)[1]


@pytest.fixture
def ingest_client(app):
    return _client(app, ApiKey.Scope.INGEST)[0]


@pytest.fixture
def other_admin_client(other_app):
    return _client(other_app, ApiKey.Scope.ADMIN)[0]


@pytest.fixture
def track(ingest_client):
    """POST one event; returns the response."""

    def send(**payload):
        return ingest_client.post("/api/v1/events", payload, format="json")

    return send


@pytest.fixture(autouse=True)
def _fresh_segment_nudges():
    """Each test starts with no recent nudge of the segment drain (a per-process throttle)."""
    from segments import handlers

    handlers._last_nudge = 0.0


@pytest.fixture(autouse=True)
def _fresh_rate_limits_and_breakers():
    """Each test starts with no request counted (the API's rate limits live in the cache) and
    with the broker and cache breakers closed (common/breaker.py). Only a local memory cache is
    cleared: clearing a Redis one (CACHE_URL set for the tests) would flush its whole database."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    from common.nudges import broker
    from config.throttling import cache_breaker

    if isinstance(caches["default"], LocMemCache):
        caches["default"].clear()
    broker.reset()
    cache_breaker.reset()


@pytest.fixture
def role_client(db):
    """`role_client("Marketer", app, ...)`: a browser logged in to the admin as a new staff user
    in that role's group and a member of the given apps."""
    groups = roles_install()

    def login(role: str, *apps, username: str | None = None) -> Client:
        user = get_user_model().objects.create_user(
            username or role.lower(), password="pw", is_staff=True
        )
        user.groups.add(groups[role])
        for member_of in apps:
            member_of.members.add(user)
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def two_apps(app, other_app):
    """Contacts, events, keys, rules, segments, campaigns and deliveries in `app` ("mine-...")
    and in `other_app` ("theirs-...")."""
    from tests.admin_pages import fill_two_apps

    return fill_two_apps(app, other_app)


@pytest.fixture
def staff_client(db):
    """A browser logged in as a superuser (admin_client is an API-key client)."""
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def smtp_server(settings):
    """A running LocalSmtpServer (tests/campaigns/smtp_server.py), which Django's SMTP backend
    sends to while it runs."""
    with LocalSmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield server
