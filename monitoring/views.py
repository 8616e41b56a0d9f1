"""/healthz, /readyz and /metrics: unauthenticated JSON probes, and a token-protected scrape;
and the 503 answered while the database can't be reached.

The probes are usually answered by `HealthProbeMiddleware` before any other middleware (so a
load balancer probing by IP never meets ALLOWED_HOSTS); the URLs route here too.
"""

from __future__ import annotations

import hmac
import sys

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from common.metrics import instruments_registry
from config import outages
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


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: the API's JSON error under /api/, else a plain page in the admin's
    look (templates/503.html), rendered without the request: its context processors would read
    the session and the user from the database that just failed."""
    if request.path_info.startswith("/api/"):
        response = JsonResponse(outages.unavailable_body(), status=503)
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(outages.RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500 (config/urls.py): a database outage met outside any view, e.g. by a middleware
    saving the session, is a 503 too. Django calls it while handling the exception."""
    exc = sys.exc_info()[1]
    if isinstance(exc, outages.DATABASE_UNAVAILABLE):
        outages.log_unavailable(exc)
        return unavailable_response(request)
    return defaults.server_error(request)
