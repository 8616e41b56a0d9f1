"""Development pages: the SDK demo (/demo/) and the service worker at the root (/beacon-sw.js).

Both exist only with DEBUG (as under `make run`): the demo page embeds the demo ingest key, and
in production each customer hosts the service worker at their own origin.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

SERVICE_WORKER = "beacon/beacon-sw.js"


def _debug_only() -> None:
    if not settings.DEBUG:
        raise Http404("only with DEBUG")


def _demo_credentials() -> dict | None:
    path = settings.DEMO_CREDENTIALS_FILE
    return json.loads(path.read_text()) if path.exists() else None


def demo_page(request: HttpRequest) -> HttpResponse:
    _debug_only()
    credentials = _demo_credentials()
    context = {
        "credentials": credentials,
        "sdk_config": {
            "apiKey": credentials["ingest_key"] if credentials else "",
            "endpoint": request.build_absolute_uri("/").rstrip("/"),
            "serviceWorkerUrl": "/beacon-sw.js",
        },
        "contact_admin_url": reverse("admin:contacts_contact_changelist"),
    }
    return render(request, "campaigns/demo.html", context)


def service_worker(request: HttpRequest) -> HttpResponse:
    """The worker at the root, so that a page of this origin may register it with scope "/"."""
    _debug_only()
    path = finders.find(SERVICE_WORKER)
    with open(path, "rb") as handle:
        response = HttpResponse(handle.read(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"  # browsers then check for a new worker every visit
    return response
