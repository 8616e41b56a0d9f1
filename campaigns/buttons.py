"""Notification action buttons: at most two per campaign, shown by the browser (the Notification
API's `actions`) or by the mobile app (from the payload's `buttons`).

A button either opens a URL or tracks an event (WonderPush's "Track event" on-click action). A
click on either is reported like an open, with the button's id; a track_event button's click
also records its event on the contact, as if the app had tracked it (campaigns/services/opens.py).

The shape stored in Campaign.buttons, as the API takes it:
    {"id": "shop", "title": "Shop now", "action": "open_url", "url": "https://shop.example/"}
    {"id": "later", "title": "Remind me", "action": "track_event", "event": "remind_later"}
`title` and `url` are Liquid templates, rendered for each contact as the message's are.
"""

from __future__ import annotations

import re

from campaigns.providers.base import PushButton
from campaigns.services.templates import template_errors
from events.validation import event_name_errors

MAX_BUTTONS = 2  # what browsers show (Chrome's Notification.maxActions) and apps lay out
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_TITLE_LENGTH = 100
MAX_URL_LENGTH = 2000  # as Campaign.url
OPEN_URL = "open_url"
TRACK_EVENT = "track_event"
ACTIONS = (OPEN_URL, TRACK_EVENT)
KEYS = ("id", "title", "action", "url", "event")
NUL = "\x00"
TOO_MANY_BUTTONS_MESSAGE = f"at most {MAX_BUTTONS} buttons (there are %(show_value)d)"


def buttons_errors(buttons) -> list[str]:
    """Why `buttons` can't be saved, each reason naming its button ("button 2: ..."); [] if it
    can."""
    if not isinstance(buttons, list):
        return ["must be a list of buttons"]
    if len(buttons) > MAX_BUTTONS:
        return [TOO_MANY_BUTTONS_MESSAGE % {"show_value": len(buttons)}]
    reasons, ids = [], {}
    for number, button in enumerate(buttons, 1):
        reasons += [f"button {number}: {reason}" for reason in _button_errors(button)]
        button_id = button.get("id") if isinstance(button, dict) else None
        if isinstance(button_id, str) and button_id in ids:
            reasons.append(f"button {number}: id {button_id!r} is button {ids[button_id]}'s too")
        elif isinstance(button_id, str):
            ids[button_id] = number
    return reasons


def _button_errors(button) -> list[str]:
    if not isinstance(button, dict):
        return ["must be an object with an id, a title and an action"]
    unknown = sorted(str(key) for key in button if key not in KEYS)
    if unknown:
        return [f"unknown key {', '.join(map(repr, unknown))} (a button has {', '.join(KEYS)})"]
    if any(isinstance(value, str) and NUL in value for value in button.values()):
        return ["must not contain NUL characters (\\u0000)"]
    reasons = []
    if not isinstance(button.get("id"), str) or not ID_RE.match(button["id"]):
        reasons.append("id must be 1 to 32 characters of A-Z, a-z, 0-9, '-' and '_'")
    reasons += _title_errors(button.get("title"))
    action = button.get("action")
    if action == OPEN_URL:
        reasons += _url_errors(button.get("url"))
        if button.get("event"):
            reasons.append("event is for track_event buttons only")
    elif action == TRACK_EVENT:
        reasons += _event_errors(button.get("event"))
        if button.get("url"):
            reasons.append("url is for open_url buttons only (track_event opens the message's url)")
    else:
        reasons.append(f"action must be one of {', '.join(ACTIONS)}")
    return reasons


def _title_errors(title) -> list[str]:
    if not isinstance(title, str) or not title.strip():
        return ["title is required"]
    if len(title) > MAX_TITLE_LENGTH:
        return [f"title must be at most {MAX_TITLE_LENGTH} characters"]
    return [f"title {reason}" for reason in template_errors(title=title).get("title", [])]


def _url_errors(url) -> list[str]:
    if not isinstance(url, str) or not url.strip():
        return ["url is required for an open_url button"]
    if len(url) > MAX_URL_LENGTH:
        return [f"url must be at most {MAX_URL_LENGTH} characters"]
    if errors := template_errors(url=url).get("url"):
        return [f"url {reason}" for reason in errors]
    # A url that starts with Liquid ({{ event.link }}) is known only once rendered.
    if not url.startswith(("{{", "{%")) and not re.match(r"^https?://[^/\s]", url, re.I):
        return ["url must be an http(s) URL, e.g. https://shop.example/sale"]
    return []


def _event_errors(event) -> list[str]:
    if not isinstance(event, str):
        return ["event is required for a track_event button (the name of the event to track)"]
    if event.startswith("@"):  # even @PRESENCE, which a client may report: it needs its params
        return ["event names starting with @ are reserved for built-in events"]
    # The tracking API's own rules: the event is recorded as if the app had sent it.
    return [f"event {reason}" for reason in event_name_errors(event)]


def buttons_event_names(buttons) -> set[str]:
    """The events the campaign's track_event buttons record."""
    return {b["event"] for b in buttons or () if b.get("action") == TRACK_EVENT and b.get("event")}


def button_templates(buttons) -> dict[str, str]:
    """The buttons' Liquid templates for `templates_render`, named as its errors name them
    ("button 1 title", "button 1 url")."""
    templates = {}
    for number, button in enumerate(buttons or (), 1):
        templates[f"button {number} title"] = button["title"]
        if button["action"] == OPEN_URL:
            templates[f"button {number} url"] = button["url"]
    return templates


def buttons_rendered(buttons, text: dict[str, str]) -> tuple[PushButton, ...]:
    """The buttons as sent, from the rendered `text` of `button_templates`. A button whose title
    renders empty for this contact is left out: a browser or an app would show a blank button."""
    rendered = (
        PushButton(
            id=button["id"],
            title=text[f"button {number} title"].strip(),
            action=button["action"],
            url=text.get(f"button {number} url", "").strip(),
        )
        for number, button in enumerate(buttons or (), 1)
    )
    return tuple(button for button in rendered if button.title)


def button_of(buttons, button_id: str) -> dict | None:
    """The campaign's button with this id, or None."""
    return next((b for b in buttons or () if b.get("id") == button_id), None)
