"""The POST of a "Send event" form (events/forms.py: SendEventForm), for the admin tests."""

from __future__ import annotations


def send_event_form(contact, name: str, rows=()) -> dict:
    """A contact (its id, or anything a request could hold), the event name, and param rows of
    (name, type, value)."""
    data = {
        "contact": contact,
        "event_name": name,
        "param-TOTAL_FORMS": str(len(rows)),
        "param-INITIAL_FORMS": "0",
        "param-MIN_NUM_FORMS": "0",
        "param-MAX_NUM_FORMS": "50",
    }
    for index, (param, type_, value) in enumerate(rows):
        data[f"param-{index}-name"] = param
        data[f"param-{index}-type"] = type_
        data[f"param-{index}-value"] = value
    return data
