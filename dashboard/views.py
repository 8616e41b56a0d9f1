"""Pages of the project outside the admin: the favicon browsers ask every site for."""

from __future__ import annotations

from pathlib import Path

from django.http import FileResponse, HttpRequest
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

FAVICON = Path(__file__).resolve().parent / "static" / "dashboard" / "favicon.svg"


@require_safe
@cache_control(public=True, max_age=86_400)
def favicon(request: HttpRequest) -> FileResponse:
    """/favicon.ico, served from the file itself (not a redirect to static/), so it answers
    however static files are served. Browsers take an SVG under that name."""
    return FileResponse(FAVICON.open("rb"), content_type="image/svg+xml")
