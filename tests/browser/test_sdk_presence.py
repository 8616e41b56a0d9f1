"""@PRESENCE from the browser SDK in a real Chromium against a live Beacon: the time a page is
visible, reported when it is hidden or left, reaches the database with plausible params."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact
from events import catalog
from events.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

# Headless Chromium keeps every page visible (a background tab or a minimized window included),
# so hiding is done the way the page sees it: visibilityState and its visibilitychange event.
SET_VISIBILITY = """(state) => {
  Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def presences(timeout: float = 10.0, count: int = 1) -> list[Event]:
    """The stored @PRESENCE events, once there are `count` or after `timeout` seconds (the
    keepalive request of a page being left completes after the navigation)."""
    deadline = time.monotonic() + timeout
    while True:
        events = list(Event.objects.filter(event_type__name=catalog.PRESENCE).order_by("id"))
        if len(events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.1)


def test_a_page_left_after_being_visible_reports_its_presence(page, demo, live_server):
    page.goto(demo)
    page.wait_for_function("() => document.querySelectorAll('#log .ok').length >= 2")
    anonymous_id = page.evaluate("() => beacon.anonymousId()")
    page.wait_for_timeout(1500)
    before_leaving = timezone.now()
    page.goto(f"{live_server.url}/healthz")  # pagehide: the presence goes with keepalive

    [presence] = presences()
    params = presence.params
    assert presence.contact == Contact.objects.get(anonymous_id=anonymous_id)
    start, end = (datetime.fromisoformat(params[k]) for k in ("start", "end"))
    assert 1.5 <= params["duration"] < 15
    assert abs((end - start).total_seconds() - params["duration"]) < 0.01
    assert abs(end - before_leaving) < timedelta(seconds=5)
    assert presence.occurred_at == end  # event_time: when the presence ended


def test_hiding_reports_and_a_quick_return_continues_the_presence(page, demo, live_server):
    page.goto(demo)
    page.wait_for_function("() => document.querySelectorAll('#log .ok').length >= 2")
    page.wait_for_timeout(1200)
    page.evaluate(SET_VISIBILITY, "hidden")  # reported: 1.2 s or more
    [first] = presences()
    page.evaluate(SET_VISIBILITY, "visible")
    page.wait_for_timeout(300)
    page.evaluate(SET_VISIBILITY, "hidden")  # 0.3 s, 10 s within the last report: held
    page.wait_for_timeout(200)
    page.evaluate(SET_VISIBILITY, "visible")  # back within 10 s: the same presence goes on
    page.wait_for_timeout(1000)
    assert len(presences(timeout=0)) == 1
    page.goto(f"{live_server.url}/healthz")  # leaving reports whatever the throttle

    first, second = presences(count=2)
    assert 1.2 <= first.params["duration"] < 10
    # One presence from the return after the first report to the page's end, the 0.2 s
    # hidden in between included: 0.3 + 0.2 + 1.0 s at least.
    assert 1.5 <= second.params["duration"] < 10
    assert second.params["start"] > first.params["end"]
    assert presences(timeout=0.5, count=3) == [first, second]
