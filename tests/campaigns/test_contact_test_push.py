"""A test push from the contact page: sent at once through the web push provider to the contact's
reachable devices (here a local push service that decrypts it), with the outcome reported."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import Delivery
from campaigns.services.test_push import NO_REACHABLE_DEVICE, contact_push_test
from contacts.access import SESSION_APP
from contacts.models import Device
from events import catalog
from events.models import Event
from tests.campaigns.factories import subscribe


@pytest.fixture
def ann(app, push_service):
    """Subscribed in two browsers whose push service is the local one, and blocked in a third."""
    contact = subscribe(app, "ann", subscription=push_service.subscription())
    subscribe(app, "ann", subscription=push_service.subscription())
    subscribe(app, "ann", endpoint="https://push.example/blocked", granted=False)
    return contact


def page_url(contact, suffix="change/") -> str:
    return f"/admin/contacts/contact/{contact.pk}/{suffix}"


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_test_push_reaches_each_reachable_device_decrypted(ann, push_service):
    result = contact_push_test(contact=ann, title="Hello Ann", body="Just testing")
    assert (result.sent, result.failures) == (2, [])
    received = push_service.wait_for(2)
    assert [r.payload["title"] for r in received] == ["Hello Ann", "Hello Ann"]
    assert {r.payload["body"] for r in received} == {"Just testing"}
    assert not Delivery.objects.exists()  # no campaign, no delivery row


def test_a_gone_subscription_is_reported_and_invalidates_its_device(ann, push_service):
    gone, kept = Device.objects.filter(contact=ann, push_permission_granted=True).order_by("pk")
    push_service.answer(gone.subscription, 410)
    result = contact_push_test(contact=ann, title="Hello")
    assert result.sent == 1
    [failure] = result.failures
    assert failure.startswith(f"device {gone.pk} (web push): ") and "gone" in failure
    gone.refresh_from_db()
    kept.refresh_from_db()
    assert gone.invalidated_at is not None and not gone.push_permission_granted
    assert kept.invalidated_at is None
    opt_out = Event.objects.get(
        contact=ann, event_type__name=catalog.OPT_OUT, params__subtype="invalidated"
    )
    assert opt_out.params == {"subtype": "invalidated"}


def test_a_contact_without_a_reachable_device_gets_no_push(app, push_service):
    blocked = subscribe(app, "bob", subscription=push_service.subscription(), granted=False)
    with pytest.raises(ValidationError) as error:
        contact_push_test(contact=blocked, title="Hello")
    assert error.value.messages == [NO_REACHABLE_DEVICE]
    assert push_service.received() == []


@pytest.mark.parametrize(
    ("title", "body", "field"), [("  ", "", "title"), ("Hi", "x" * 5000, "body")]
)
def test_a_blank_title_or_an_oversized_message_is_refused_before_sending(
    ann, push_service, title, body, field
):
    with pytest.raises(ValidationError) as error:
        contact_push_test(contact=ann, title=title, body=body)
    assert list(error.value.message_dict) == [field]
    assert push_service.received() == []


# The contact page's form ------------------------------------------------------------------------
def test_a_marketer_sends_a_test_push_and_reads_the_outcome(role_client, app, ann, push_service):
    marketer = role_client("Marketer", app)
    page = marketer.get(page_url(ann)).content.decode()
    assert "reachable push devices (browsers and mobile apps) (2)" in page
    response = marketer.post(
        page_url(ann, "test-push/"), {"title": "Hello", "body": "From the page"}, follow=True
    )
    assert response.redirect_chain == [(page_url(ann) + "#test-push", 302)]
    devices = Device.objects.filter(contact=ann, push_permission_granted=True).order_by("pk")
    assert messages_of(response) == [
        f"Test push sent to device {device.pk} (web push): 201 Created" for device in devices
    ]
    assert len(push_service.wait_for(2)) == 2


def test_a_failed_device_is_named_in_an_error_message(role_client, app, ann, push_service):
    gone = Device.objects.filter(contact=ann, push_permission_granted=True).first()
    push_service.answer(gone.subscription, 410)
    marketer = role_client("Marketer", app)
    response = marketer.post(page_url(ann, "test-push/"), {"title": "Hello"}, follow=True)
    sent, failed = messages_of(response)
    assert sent.startswith("Test push sent to device ") and sent.endswith("(web push): 201 Created")
    assert failed.startswith(f"Test push not delivered to device {gone.pk} (web push): ")


def test_no_reachable_device_and_a_missing_title_are_shown_on_the_form(role_client, app):
    bob = subscribe(app, "bob", granted=False)
    marketer = role_client("Marketer", app)
    no_device = marketer.post(page_url(bob, "test-push/"), {"title": "Hello"})
    assert no_device.status_code == 200
    assert NO_REACHABLE_DEVICE in no_device.content.decode().replace("&#x27;", "'")
    no_title = marketer.post(page_url(bob, "test-push/"), {"title": ""})
    [form] = [s["form"] for s in no_title.context["contact_sections"] if s["id"] == "test-push"]
    assert form.errors == {"title": ["This field is required."]}


def test_another_apps_contact_gets_no_test_push_from_this_apps_marketer(
    role_client, app, other_app, push_service
):
    theirs = subscribe(other_app, "theirs", subscription=push_service.subscription())
    marketer = role_client("Marketer", app)
    assert marketer.post(page_url(theirs, "test-push/"), {"title": "Hi"}).status_code == 404
    both = role_client("Marketer", app, other_app, username="both")
    session = both.session
    session[SESSION_APP] = app.pk  # the header's app selector
    session.save()
    assert both.post(page_url(theirs, "test-push/"), {"title": "Hi"}).status_code == 404
    assert both.get(page_url(theirs, "test-push/")).status_code == 405
    assert push_service.received() == []
