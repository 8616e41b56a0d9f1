"""Segments on built-in events: sessions opened by a notification click (@APP_OPEN's subtype)
and time spent on the site (@PRESENCE's duration), with the SQL engine and the reference
evaluator (the `members` fixture)."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from campaigns.models import Delivery
from campaigns.services.opens import delivery_open
from contacts.models import Contact
from events import catalog
from events.models import EventType
from events.services.event_types import event_type_set_segmentation
from segments.conditions.validation import conditions_validate
from tests.campaigns.factories import active_campaign
from tests.segments.helpers import NOW, ingest, payload

LAST_WEEK = {"type": "last", "amount": 7, "unit": "day"}
OPENED_BY_A_CLICK_THIS_WEEK = {
    "type": "event",
    "event": catalog.APP_OPEN,
    "period": LAST_WEEK,
    "where": [{"param": "subtype", "op": "=", "value": "direct"}],
}


def spent_over_ten_minutes(period: dict) -> dict:
    return {
        "type": "event",
        "event": catalog.PRESENCE,
        "period": period,
        "aggregate": {"fn": "sum", "param": "duration", "op": ">", "value": 600},
    }


@pytest.fixture
def built_ins(segmentable_app):
    for name in (catalog.APP_OPEN, catalog.PRESENCE):
        event_type = EventType.objects.get(app=segmentable_app, name=name)
        event_type_set_segmentation(event_type=event_type, enabled=True)
    return segmentable_app


def click(app, user: str, days_ago: float) -> None:
    """The user, quiet for a day, clicks a notification `days_ago`."""
    when = NOW - timedelta(days=days_ago)
    ingest(app=app, payloads=[payload("view", user, when - timedelta(days=1), {})])
    delivery = Delivery.objects.create(
        app=app,
        campaign=active_campaign(app, name=f"Campaign {secrets.token_hex(3)}"),
        contact=Contact.objects.get(app=app, external_id=user),
        source=f"test:{user}:{days_ago}",
        due_at=when,
        created_at=when,
        status=Delivery.Status.SENT,
        open_token=secrets.token_urlsafe(32),
    )
    delivery_open(token=delivery.open_token, now=when)


def present(app, user: str, days_ago: float, seconds: float) -> None:
    end = NOW - timedelta(days=days_ago)
    params = {
        "start": (end - timedelta(seconds=seconds)).isoformat(),
        "end": end.isoformat(),
        "duration": seconds,
    }
    ingest(app=app, payloads=[payload(catalog.PRESENCE, user, end, params)])


def test_contacts_whose_session_a_click_opened_this_week(built_ins, members):
    click(built_ins, "ann", days_ago=2)
    click(built_ins, "old", days_ago=10)
    ingest(app=built_ins, payloads=[payload("view", "bob", NOW - timedelta(days=1), {})])
    conditions_validate(app=built_ins, conditions=OPENED_BY_A_CLICK_THIS_WEEK)

    assert members(OPENED_BY_A_CLICK_THIS_WEEK) == {"ann"}
    natural = {
        **OPENED_BY_A_CLICK_THIS_WEEK,
        "where": [{"param": "subtype", "op": "=", "value": "natural"}],
    }
    assert members(natural) == {"ann", "bob"}  # ann's view the day before the click: natural


def test_contacts_who_spent_more_than_ten_minutes_this_week(built_ins, members):
    present(built_ins, "ann", days_ago=1, seconds=400)
    present(built_ins, "ann", days_ago=2, seconds=300.5)
    present(built_ins, "bob", days_ago=1, seconds=500)
    present(built_ins, "bob", days_ago=10, seconds=400)  # last week's: not counted this week
    this_week = spent_over_ten_minutes(LAST_WEEK)
    conditions_validate(app=built_ins, conditions=this_week)

    assert members(this_week) == {"ann"}
    # Over the lifetime (ContactParamStats' sums), bob's 900 s count too.
    assert members(spent_over_ten_minutes({"type": "lifetime"})) == {"ann", "bob"}
