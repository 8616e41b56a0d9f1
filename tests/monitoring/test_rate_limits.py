"""API rate limits: per key at its scope's rate, per client IP for requests without a valid key;
429 with Retry-After and the error shape once over; counted in the cache (Redis in production),
and off while the cache is down rather than failing the API."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import time_machine
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from config.env import Rate, env_rate, parse_rate
from contacts.models import ApiKey
from contacts.services.apps import api_key_create
from tests.celery_processes import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
EVENT = {"event_name": "visit", "app_user_id": "u1"}


@pytest.fixture
def rates(settings):
    """`rates(ingest=..., admin=..., anonymous=...)` sets the API's rates for this test."""

    def set_rates(**scopes: str | None) -> None:
        framework = settings.REST_FRAMEWORK
        defaults = {"ingest": None, "admin": None, "anonymous": None}
        settings.REST_FRAMEWORK = {**framework, "DEFAULT_THROTTLE_RATES": {**defaults, **scopes}}

    return set_rates


def track(client: APIClient, **extra):
    return client.post("/api/v1/events", EVENT, format="json", **extra)


def bad_key_client(**extra) -> APIClient:
    client = APIClient(**extra)
    client.credentials(HTTP_AUTHORIZATION="Bearer bk_ingest_not-a-key")
    return client


def assert_throttled(response, *, window: int = 60) -> None:
    assert response.status_code == 429, response.content
    assert 1 <= int(response["Retry-After"]) <= window
    body = response.json()
    assert body["error"] == "throttled" and "throttled" in body["detail"]


def statuses(send, n: int) -> list[int]:
    return [send().status_code for _ in range(n)]


def test_an_ingest_key_gets_429_with_retry_after_past_its_rate(ingest_client, rates):
    rates(ingest="3/m")
    assert statuses(lambda: track(ingest_client), 3) == [200] * 3
    assert_throttled(track(ingest_client))


def test_the_window_passes_and_the_key_sends_again(ingest_client, rates):
    rates(ingest="2/m")
    with time_machine.travel(1_800_000_000.0, tick=False) as clock:  # a window's start
        assert statuses(lambda: track(ingest_client), 3) == [200, 200, 429]
        clock.shift(59)
        assert track(ingest_client)["Retry-After"] == "1"
        clock.shift(1)
        assert track(ingest_client).status_code == 200


def test_each_key_and_each_scope_has_its_own_count(app, ingest_client, admin_client, rates):
    rates(ingest="2/m", admin="3/m")
    assert statuses(lambda: track(ingest_client), 3) == [200, 200, 429]
    _, other_key = api_key_create(app=app, name="second", scope=ApiKey.Scope.INGEST)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {other_key}")
    assert track(other).status_code == 200
    listing = statuses(lambda: admin_client.get("/api/v1/contacts"), 4)
    assert listing == [200, 200, 200, 429]


def test_bad_keys_get_401_then_429_per_client_ip(ingest_client, rates):
    rates(anonymous="3/m", ingest="100/m")
    guesser = bad_key_client()
    assert statuses(lambda: track(guesser), 3) == [401, 401, 401]
    assert_throttled(track(guesser))
    # Another address is counted apart, and a valid key from the same one is not refused.
    elsewhere = bad_key_client(REMOTE_ADDR="192.0.2.7")
    assert track(elsewhere).status_code == 401
    assert track(ingest_client).status_code == 200


def test_malformed_headers_and_missing_keys_count_as_unauthenticated(db, rates):
    rates(anonymous="2/m")
    client = APIClient()
    assert client.get("/api/v1/contacts").status_code == 401  # no key
    malformed = client.get("/api/v1/contacts", HTTP_AUTHORIZATION="Basic dXNlcjpwdw==")
    assert malformed.status_code == 401
    assert_throttled(client.get("/api/v1/contacts"))


def test_a_request_without_a_key_is_counted_once(db, rates):
    rates(anonymous="2/m")
    client = APIClient()
    assert statuses(lambda: client.get("/api/v1/schema"), 3) == [200, 200, 429]


def test_push_opened_is_limited_per_client_ip(db, rates):
    rates(anonymous="3/m")
    client = APIClient()

    def report_open():
        return client.post("/api/v1/push/opened", {"token": "t" * 40}, format="json")

    assert statuses(report_open, 3) == [404, 404, 404]
    assert_throttled(report_open())


def test_behind_a_proxy_the_client_ip_header_is_the_address(db, rates, settings):
    rates(anonymous="1/m")
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
    guesser = bad_key_client(HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert statuses(lambda: track(guesser), 2) == [401, 429]
    assert track(bad_key_client(HTTP_X_FORWARDED_FOR="198.51.100.2")).status_code == 401


def test_off_means_no_limit(ingest_client, rates):
    rates(ingest=None)
    assert statuses(lambda: track(ingest_client), 20) == [200] * 20


def test_the_sdk_can_read_retry_after_of_a_429(ingest_client, rates):
    rates(ingest="1/m")
    track(ingest_client)
    response = track(ingest_client, HTTP_ORIGIN="https://shop.example.com")
    assert response.status_code == 429
    assert "Retry-After" in response["Access-Control-Expose-Headers"]


def test_rates_from_the_environment(monkeypatch):
    for raw, rate in [("1000/m", Rate(1000, 60)), ("5/second", Rate(5, 1)), ("off", None)]:
        assert parse_rate(raw) == rate
    monkeypatch.setenv("API_RATE_INGEST", "off")
    assert env_rate("API_RATE_INGEST", "100/m") is None
    for bad in ("100", "0/m", "ten/m", "100/week"):
        monkeypatch.setenv("API_RATE_INGEST", bad)
        with pytest.raises(ImproperlyConfigured, match="API_RATE_INGEST"):
            env_rate("API_RATE_INGEST", "100/m")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_cache(url: str, prefix: str) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


def test_a_cache_outage_lifts_the_limits_and_is_logged_once(ingest_client, rates, settings, caplog):
    rates(ingest="2/m")
    settings.CACHES = redis_cache(f"redis://127.0.0.1:{closed_port()}/0", "down")
    with caplog.at_level(logging.WARNING, logger="config.throttling"):
        started = time.perf_counter()
        assert statuses(lambda: track(ingest_client), 10) == [200] * 10
        elapsed = time.perf_counter() - started
    assert [r.getMessage()[:46] for r in caplog.records] == [
        "rate limits off: the cache is unavailable (Con"
    ]
    assert elapsed < 5, "each request waited for the cache"


@pytest.fixture
def shared_redis_cache(settings):
    """The production layout's cache: Redis (TEST_REDIS_URL), under a prefix of this test's."""
    prefix = f"ratelimit-test-{os.getpid()}-{time.monotonic_ns()}"
    settings.CACHES = redis_cache(REDIS_URL, prefix)
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def test_the_api_counts_in_redis(ingest_client, rates, shared_redis_cache):
    rates(ingest="3/m")
    assert statuses(lambda: track(ingest_client), 4) == [200, 200, 200, 429]


COUNT_IN_A_PROCESS = """
import sys
import django
django.setup()
from config.env import Rate
from config.throttling import throttle_hit
sys.stdin.readline()  # start together
refused = sum(throttle_hit("key:shared", Rate(50, 3600)) is not None for _ in range(40))
print(refused)
"""


def test_processes_sharing_the_redis_cache_count_together(shared_redis_cache):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "CACHE_URL": REDIS_URL,
    }
    # Each process under this test's key prefix: a namespace of its own in the shared Redis.
    script = COUNT_IN_A_PROCESS.replace(
        "django.setup()",
        "django.setup()\nfrom django.conf import settings\n"
        f"settings.CACHES['default']['KEY_PREFIX'] = {shared_redis_cache!r}",
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate("go\n", timeout=60)[0] for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    # 3 x 40 requests against one limit of 50: 70 refused in all, however they interleaved.
    assert sum(int(out.split()[-1]) for out in outputs) == 70
