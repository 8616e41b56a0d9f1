"""A test push to one contact (the contact page's "Send test push"): a title and a body sent at
once to each of the contact's reachable push devices (browsers and mobile apps), through the
providers campaign sends use, with the outcome reported to the sender.

A campaign's test send (previews.py) goes through the delivery queue, which needs a campaign;
this one has none, so it calls the provider directly and waits for its answer (a few devices,
each with the provider's timeout). The devices are those a campaign would reach
(scheduling.reachable_devices), and a subscription reported gone is invalidated as after a
campaign send (sending.device_gone).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.providers import device_providers
from campaigns.providers.base import Outcome, PushMessage
from campaigns.services.scheduling import reachable_devices
from campaigns.services.sending import device_gone
from contacts.models import Contact, Device
from events.services.builtin import events_record_builtin

NO_REACHABLE_DEVICE = (
    "this contact has no reachable push device (none with push permission that was not "
    "invalidated, and for browsers a valid subscription)"
)


@dataclass
class PushTestResult:
    sent: int = 0
    answers: list[str] = field(default_factory=list)  # per device reached: the service's answer
    failures: list[str] = field(default_factory=list)  # one line per device not reached


def contact_push_test(*, contact: Contact, title: str, body: str = "") -> PushTestResult:
    """Send the message to the contact's reachable devices now. Bad input or no device to send
    to raises ValidationError (by field, or a plain message) before anything is sent."""
    message = PushMessage(title=title.strip(), body=body.strip())
    if not message.title:
        raise ValidationError({"title": ["a test push needs a title"]})
    device_ids = reachable_devices(contact.app_id, [contact.pk]).get(contact.pk, [])
    devices = list(Device.objects.filter(pk__in=device_ids).order_by("pk"))
    if not devices:
        raise ValidationError(NO_REACHABLE_DEVICE)
    providers = device_providers(devices)
    for provider in set(providers.values()):
        if error := provider.payload_too_large(message):
            raise ValidationError({"body": [error]})
    return _send(contact, devices, providers, message)


def _send(
    contact: Contact, devices: list[Device], providers: dict, message: PushMessage
) -> PushTestResult:
    result, gone, now = PushTestResult(), [], timezone.now()
    for device in devices:
        outcome = providers[device.pk].send(device, message)
        which = f"device {device.pk} ({providers[device.pk].service})"
        if outcome.kind == Outcome.SENT:
            result.sent += 1
            result.answers.append(f"{which}: {outcome.answer or 'accepted'}")
            continue
        result.failures.append(f"{which}: {outcome.error or outcome.kind}")
        if outcome.kind == Outcome.GONE:
            key = f"test-push:{device.pk}:{now.isoformat()}"
            gone.append(device_gone(device_id=device.pk, contact_id=contact.pk, now=now, key=key))
    events_record_builtin(app=contact.app, events=gone)
    return result
