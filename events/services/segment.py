"""Recording Segment HTTP Tracking API messages (docs/segment-spec.md): translate each one
(events/segment_spec.py), check identify's traits, store them all through `events_ingest` (so
mapping rules, sessions, devices, segments and triggers follow as for Beacon's own API), then
apply the traits to the contacts ingest found.

Each message is stored or refused on its own. The traits are applied after the events' commit,
for every message ingest accepted, replays included: applying the same traits twice leaves the
profile as once, and a retry after a failure between the two steps still applies them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import orjson
from django.utils import timezone

from contacts.models import App
from contacts.services.profiles import contacts_traits_apply, traits_errors
from events.segment_spec import (
    GROUP_ID_FIELD,
    GROUP_TRAIT_PREFIX,
    message_errors,
    message_translate,
)
from events.services.ingest import events_ingest

MAX_MESSAGE_BYTES = 32 * 1024  # Segment's limit of one message (and of a /v1/<call> body)
MAX_BATCH_BYTES = 500 * 1024  # and of a /v1/batch body, decompressed
MAX_BATCH_MESSAGES = 2500  # Segment's count limit of a batch
TRAITS_VIA = "segment"  # how a profile change is recorded (contacts_traits_apply's `via`)


@dataclass
class SegmentOutcome:
    received: int
    stored: int = 0  # new events, duplicates of stored ones not counted
    errors: dict[int, dict] = field(default_factory=dict)  # message index -> {field: [reason]}


def segment_messages_ingest(
    *,
    app: App,
    messages: list,
    kind: str | None = None,
    sent_at=None,
    batch_context=None,
    check_nul: bool = True,
    check_sizes: bool = True,
    received_at: datetime | None = None,
) -> SegmentOutcome:
    """Store the valid messages, report the others by index. `kind`: the call of a /v1/<call>
    endpoint (None: each message's `type`, as in a batch). `check_sizes=False`: the caller knows
    no message can be over MAX_MESSAGE_BYTES (its whole body is not)."""
    now = received_at or timezone.now()
    outcome = SegmentOutcome(received=len(messages))
    payloads, accepted = [], []  # accepted: (message index, its Translated)
    for index, message in enumerate(messages):
        if check_sizes and (reason := _size_error(message)):
            outcome.errors[index] = {"non_field_errors": [reason]}
            continue
        translated = message_translate(
            message, kind=kind, received_at=now, sent_at=sent_at, batch_context=batch_context
        )
        if not translated.errors and translated.traits:
            translated.errors = _traits_errors(translated.traits, translated.kind) or None
        if translated.errors:
            outcome.errors[index] = translated.errors
            continue
        payloads.append(translated.payload)
        accepted.append((index, translated))
    if not payloads:
        return outcome
    results = events_ingest(app=app, payloads=payloads, received_at=now, check_nul=check_nul)
    traits_by_contact: dict[int, dict] = {}
    for result, (index, translated) in zip(results, accepted, strict=True):
        if result.errors:
            outcome.errors[index] = message_errors(result.errors, translated.field_names)
            continue
        outcome.stored += not result.duplicate
        if translated.traits and result.contact_id is not None:
            traits_by_contact.setdefault(result.contact_id, {}).update(translated.traits)
    if traits_by_contact:
        contacts_traits_apply(app=app, traits_by_contact=traits_by_contact, via=TRAITS_VIA)
    return outcome


def _size_error(message) -> str | None:
    if len(orjson.dumps(message)) > MAX_MESSAGE_BYTES:
        return f"the message is over Segment's limit of {MAX_MESSAGE_BYTES // 1024} KB"
    return None


def _traits_errors(traits: dict, kind: str | None) -> dict:
    """The profile's errors of identify's traits (or a group's custom fields), named as the
    message names them: traits.email, groupId, traits.<group trait>."""
    errors = {}
    for name, reasons in traits_errors(traits).items():
        if name == "traits":  # a NUL somewhere in the custom fields: the path is in the reason
            errors[name] = reasons
        elif kind != "group":
            errors[f"traits.{name}"] = reasons
        elif name == GROUP_ID_FIELD:
            errors["groupId"] = reasons
        else:
            errors[f"traits.{name.removeprefix(GROUP_TRAIT_PREFIX)}"] = reasons
    return errors
