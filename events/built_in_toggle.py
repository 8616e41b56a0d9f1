"""The "Show built-in @ events" toggle of the contact's timeline and the dashboard's events chart.

The choice travels in the page's address (`?builtin=1` or `?builtin=0`), so a link, a reload or
a bookmark keeps it; without one, each page has its default. The toggle's form sends a hidden
"0" then the checkbox's "1" when ticked: the last value wins (templates/admin/events/
built_in_toggle.html).
"""

from __future__ import annotations

from django.http import HttpRequest

PARAM = "builtin"


def shows_built_in(request: HttpRequest, *, default: bool) -> bool:
    return {"1": True, "0": False}.get(request.GET.get(PARAM, ""), default)
