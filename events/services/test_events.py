"""Events recorded for a chosen contact by people, not by the app: the "send a test event" tool
(the contact page and POST /api/v1/contacts/{id}/events) and "resend" of a stored event.

Both go through the ingest pipeline like tracked events, so segments and campaign triggers react
to them the same way; `context.source` tells them apart on the timeline ("ui", "api").
"""

from __future__ import annotations

from contacts.models import Contact
from events.models import Event
from events.services.ingest import IngestResult, events_ingest

# A test event is only a name, params and a time: the contact is the chosen one, and identifiers
# or a device token in the payload must not re-route the event or register a device.
TEST_EVENT_FIELDS = ("event_name", "params", "event_time")


def contact_event_send(*, contact: Contact, payload: dict, source: str) -> IngestResult:
    """Record the payload's event for `contact`. Invalid input comes back in `result.errors`
    ({"event_name": [...], "params.<name>": [...]}), as from the tracking API; nothing is stored
    then."""
    event = {key: payload[key] for key in TEST_EVENT_FIELDS if key in payload}
    event["context"] = {"source": source}
    [result] = events_ingest(app=contact.app, payloads=[event], contact=contact)
    return result


def event_resend(*, event: Event, source: str) -> IngestResult:
    """Record `event` again, as a new event of its contact at the current time with the same name
    and params: segments and campaign triggers see it as they saw the first. Built-in @ events
    are refused (in `result.errors`), as from any client."""
    payload = {"event_name": event.event_type.name, "params": event.params}
    return contact_event_send(contact=event.contact, payload=payload, source=source)
