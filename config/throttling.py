"""API rate limits: counting requests per bucket (an API key, a client IP) in Django's cache.

The rates are DRF's settings (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "<n>/<s|m|h|d>", None:
no limit); contacts/api/auth.py picks the bucket and the rate of each request, and DRF answers
429 with Retry-After (config/api.py gives it the one error shape).

Fixed windows: a bucket's count for one period is one cache key (throttle:<bucket>:<window>)
incremented atomically and expiring after its window, so every process of every host that
shares the cache (Redis: CACHE_URL) counts together. DRF's own SimpleRateThrottle keeps the time
of every request in a list that each request reads and rewrites whole: fine at 100 an hour, not
at the thousands a second a public ingest key may send. A fixed window lets a client send up to
twice the rate across a window boundary: the limits stop floods and runaway clients, they don't
meter.

The cache is best effort. When it fails, requests go through unlimited (a Redis outage must not
take the API down with it: ingest keeps working), the cache is left alone for a few seconds
(common/breaker.py), and the outage is logged once when it starts and once when it ends.
"""

from __future__ import annotations

import logging
import time

from axes.helpers import get_client_ip_address
from django.core.cache import cache
from rest_framework.settings import api_settings

from common.breaker import CircuitBreaker
from config.env import Rate, parse_rate

logger = logging.getLogger(__name__)
COOLDOWN_SECONDS = 5.0

cache_breaker = CircuitBreaker(cooldown=COOLDOWN_SECONDS)


def rate_for(scope: str) -> Rate | None:
    return parse_rate(api_settings.DEFAULT_THROTTLE_RATES.get(scope))


def client_ip(request) -> str:
    """The client's address as the admin login lockout sees it (CLIENT_IP_HEADER behind a proxy,
    else the connection's)."""
    return get_client_ip_address(request) or "unknown"


def throttle_hit(bucket: str, rate: Rate | None) -> float | None:
    """Count one request in `bucket`: None while within `rate` (or without one), else the seconds
    until the window ends."""
    if rate is None:
        return None
    now = time.time()
    window = int(now // rate.seconds)
    count = _increment(f"throttle:{bucket}:{window}", rate.seconds + 1)
    if count is None or count <= rate.requests:
        return None
    return (window + 1) * rate.seconds - now


def _increment(key: str, timeout: int) -> int | None:
    """The key's new count, or None when the cache can't count."""
    if cache_breaker.is_open():
        return None
    try:
        count = _incr_or_add(key, timeout)
    except Exception as exc:  # noqa: BLE001 - any cache failure: let the request through
        if cache_breaker.failed():
            logger.error(
                "rate limits off: the cache is unavailable (%s: %s); it is tried again %g s "
                "after each failure",
                type(exc).__name__,
                next(iter(str(exc).splitlines()), "")[:200],
                COOLDOWN_SECONDS,
            )
        return None
    lasted = cache_breaker.succeeded()
    if lasted is not None:
        logger.warning("rate limits on again: the cache answers after %.1f s", lasted)
    return count


def _incr_or_add(key: str, timeout: int) -> int:
    try:
        return cache.incr(key)
    except ValueError:  # the window's first request (incr never creates a key)
        if cache.add(key, 1, timeout=timeout):
            return 1
        return cache.incr(key)  # another process's first request came in between
