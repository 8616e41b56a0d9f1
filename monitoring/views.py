"""/healthz, /readyz and /metrics: unauthenticated JSON probes, and a token-protected scrape.

The probes are usually answered by `HealthProbeMiddleware` before any other middleware (so a
load balancer probing by IP never meets ALLOWED_HOSTS); the URLs route here too.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from common.metrics import instruments_registry
from monitoring.checks import readiness
from monitoring.collectors import QueueCollector

RETRY_AFTER_SECONDS = 10


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. No I/O, so a database outage never restarts the web."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database answers, its migrations are applied, the broker accepts us."""
    checks = readiness()
    if all(result == "ok" for result in checks.values()):
        return JsonResponse({"status": "ok", "checks": checks})
    response = JsonResponse({"status": "unavailable", "checks": checks}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """The Prometheus exposition; 404 unless METRICS_TOKEN is set, 401 without that token."""
    token = settings.METRICS_TOKEN
    if not token:
        return HttpResponseNotFound()
    if not _bearer_matches(request, token):
        response = HttpResponse("a bearer token is required\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    queues = CollectorRegistry()
    queues.register(QueueCollector())
    body = generate_latest(instruments_registry()) + generate_latest(queues)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def _bearer_matches(request: HttpRequest, token: str) -> bool:
    keyword, _, value = request.headers.get("Authorization", "").partition(" ")
    return keyword == "Bearer" and hmac.compare_digest(value.strip().encode(), token.encode())
