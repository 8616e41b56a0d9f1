"""Beacon's own @ events (sessions, opt-ins, pushes sent) kept apart: left out of the dashboard's
events chart unless asked for (not counted at all, so its totals follow), shown in a contact's
timeline unless hidden; the choice travels in the page's address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import App
from dashboard.selectors import dashboard_get
from events.models import Event
from events.selectors import contact_timeline_page
from tests.campaigns.factories import subscribe, track

NOW = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5)
CHECKED = 'name="builtin" value="1" id="{}" checked>'
UNCHECKED = 'name="builtin" value="1" id="{}">'


@pytest.fixture
def ann(app):
    """A contact with custom events and the built-ins Beacon recorded for it (@APP_OPEN at its
    first activity, @OPT_IN for its device), these the newest."""
    contact = subscribe(app, "ann")  # page_viewed, @APP_OPEN, @OPT_IN
    track(app, "ann", "purchase_completed", at=NOW - timedelta(minutes=1), amount=5)
    track(app, "ann", "purchase_completed", at=NOW, amount=7)
    return contact


def names(events) -> list[str]:
    return [event.event_type.name for event in events]


def built_ins(app) -> int:
    return Event.objects.filter(app=app, event_type__name__startswith="@").count()


# The dashboard ----------------------------------------------------------------------------------
def test_the_dashboard_chart_leaves_the_built_in_events_out_of_its_query_by_default(app, ann):
    assert built_ins(app) >= 2
    apps = App.objects.filter(pk=app.pk)
    figures = dashboard_get(apps=apps, now=timezone.now())["events"]
    per_type = dict(figures["per_type"])
    assert per_type == {"page_viewed": 1, "purchase_completed": 2}
    assert figures["total"] == 3 and figures["built_in"] is False
    assert [s["name"] for s in figures["chart"]["series"]] == list(per_type)


def test_the_dashboard_chart_counts_the_built_in_events_when_asked(app, ann):
    apps = App.objects.filter(pk=app.pk)
    figures = dashboard_get(apps=apps, now=timezone.now(), built_in=True)["events"]
    per_type = dict(figures["per_type"])
    assert {"@APP_OPEN", "@OPT_IN"} <= set(per_type)
    assert figures["total"] == 3 + built_ins(app) == sum(per_type.values())


def test_the_dashboards_toggle_is_off_by_default_and_kept_in_the_address(role_client, app, ann):
    client = role_client("Marketer", app)
    page = client.get("/admin/")
    assert UNCHECKED.format("events-built-in") in page.text
    assert page.context["dashboard"]["events"]["total"] == 3
    assert "@OPT_IN" not in page.text and "built-in @ events left out" in page.text
    # The form sends the hidden 0, then the ticked box's 1.
    page = client.get("/admin/?builtin=0&builtin=1")
    assert CHECKED.format("events-built-in") in page.text
    assert page.context["dashboard"]["events"]["total"] == 3 + built_ins(app)
    assert "<td>@OPT_IN</td>" in page.text
    page = client.get("/admin/?builtin=0")
    assert page.context["dashboard"]["events"]["total"] == 3


# The timeline -----------------------------------------------------------------------------------
def test_the_timeline_shows_the_built_in_events_unless_told_not_to(app, ann):
    shown = names(contact_timeline_page(contact=ann).events)
    assert {"@APP_OPEN", "@OPT_IN"} <= set(shown) and "purchase_completed" in shown
    hidden = names(contact_timeline_page(contact=ann, built_in=False).events)
    assert hidden == ["page_viewed", "purchase_completed", "purchase_completed"]


def test_an_event_asked_for_by_name_shows_even_with_the_built_ins_hidden(app, ann):
    page = contact_timeline_page(contact=ann, event_name="@OPT_IN", built_in=False)
    assert names(page.events) == ["@OPT_IN"]


def test_hidden_built_ins_page_through_the_custom_events_only(app, ann):
    for minute in range(2, 6):
        track(app, "ann", "cart_viewed", at=NOW - timedelta(minutes=minute))
    first = contact_timeline_page(contact=ann, built_in=False, size=4)
    second = contact_timeline_page(contact=ann, built_in=False, size=4, before=first.older)
    walked = names(first.events) + names(second.events)
    assert len(walked) == 7 and not [name for name in walked if name.startswith("@")]
    assert second.older is None


def test_the_contact_pages_toggle_is_on_by_default_and_kept_by_its_links(role_client, app, ann):
    for minute in range(2, 30):
        track(app, "ann", "cart_viewed", at=NOW - timedelta(minutes=minute))
    client = role_client("Marketer", app)
    url = f"/admin/contacts/contact/{ann.pk}/change/"
    response = client.get(url)
    assert CHECKED.format("timeline-built-in") in response.text
    shown = names(event for event, _, _ in timeline(response)["rows"])
    assert {"@APP_OPEN", "@OPT_IN"} <= set(shown)  # the newest: recorded at subscribing, now
    response = client.get(f"{url}?builtin=0")
    assert UNCHECKED.format("timeline-built-in") in response.text
    section = timeline(response)
    assert not [name for name in names(e for e, _, _ in section["rows"]) if name[0] == "@"]
    assert "builtin=0" in section["older_url"]
    older = client.get(section["older_url"].split("#")[0])
    rows = timeline(older)["rows"]
    assert rows and not [e for e, _, _ in rows if e.event_type.name[0] == "@"]
    assert "builtin=0" in timeline(older)["newer_url"]


def timeline(response) -> dict:
    [section] = [s for s in response.context["contact_sections"] if s["id"] == "timeline"]
    return section
