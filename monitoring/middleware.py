"""Three middlewares, placed first in settings.MIDDLEWARE:

- `HealthProbeMiddleware` answers /healthz, /readyz and /metrics before any other middleware:
  load balancers and Prometheus reach a node by IP, which ALLOWED_HOSTS would refuse with a 400,
  and an HTTPS redirect would fail the probe. These answers build no URL from the Host header.
- `RequestLogMiddleware` writes one `beacon.request` line per other request.
- `DatabaseUnavailableMiddleware` answers 503 with Retry-After when a view (the admin's, any
  page's) fails because the database can't be reached. The API answers so through its exception
  handler (config/api.py); this catches what reaches Django instead (config/outages.py).
"""

from __future__ import annotations

import logging
import time

from django.http import HttpRequest, HttpResponse

from config.outages import DATABASE_UNAVAILABLE, log_unavailable
from contacts.api.auth import ApiClient
from monitoring import views

logger = logging.getLogger("beacon.request")

PROBES = {"/healthz": views.healthz, "/readyz": views.readyz, "/metrics": views.metrics}


class HealthProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        return probe(request) if probe else self.get_response(request)


class RequestLogMiddleware:
    """Method, path (never the query string: it may carry a key), status, duration, and for
    API-key requests the app's tenant id and the key's visible prefix (never the key)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        if not logger.isEnabledFor(logging.INFO):  # LOG_REQUESTS=false
            return response
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        fields = {
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            **_api_key_fields(request),
        }
        logger.info(_line(fields), extra=fields)
        return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        log_unavailable(exception)
        return views.unavailable_response(request)


def _api_key_fields(request: HttpRequest) -> dict:
    # DRF stores the authenticated ApiClient on the Django request too. Test the type without
    # isinstance: on other requests `user` is a lazy object that would load the session.
    client = vars(request).get("user")
    if type(client) is not ApiClient:
        return {}
    return {"tenant": client.app.tenant_id, "key_prefix": client.key.prefix}


def _line(fields: dict) -> str:
    line = f"{fields['method']} {fields['path']} {fields['status']} {fields['duration_ms']}ms"
    if "tenant" in fields:
        line += f" tenant={fields['tenant']} key={fields['key_prefix']}"
    return line
