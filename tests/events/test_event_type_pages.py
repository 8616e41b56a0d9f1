"""The event type pages: "Add event type" (an event type declared before its first event, with
attribute rows; the Admin role and superusers only) and "Send event" on an event type's page
(for a chosen contact, whoever may act on contacts)."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from events.models import Event, EventType
from events.services.event_types import event_type_create
from events.services.ingest import events_ingest
from tests.events.send_event_forms import send_event_form

LIST = "/admin/events/eventtype/"
ADD = "/admin/events/eventtype/add/"


def add_form(app, name: str, rows=(), **fields) -> dict:
    """The add page's POST: the type's fields and attribute rows of (name, type[, is_array])."""
    data = {
        "app": app.pk,
        "name": name,
        "description": fields.get("description", ""),
        "attributes-TOTAL_FORMS": str(len(rows)),
        "attributes-INITIAL_FORMS": "0",
        "attributes-MIN_NUM_FORMS": "0",
        "attributes-MAX_NUM_FORMS": "1000",
    }
    for index, (attribute, type_, *array) in enumerate(rows):
        data[f"attributes-{index}-name"] = attribute
        data[f"attributes-{index}-type"] = type_
        if array and array[0]:
            data[f"attributes-{index}-is_array"] = "on"
    return data


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def admin(role_client, app):
    return role_client("Admin", app)


@pytest.fixture
def marketer(role_client, app):
    return role_client("Marketer", app)


# Add event type ---------------------------------------------------------------------------------


def test_an_admin_declares_an_event_type_with_its_attributes(admin, app):
    assert f'href="{ADD}"' in admin.get(LIST).text
    assert admin.get(ADD).status_code == 200
    rows = [("amount", "number"), ("tags", "string", True), ("", "")]  # a blank row is skipped
    response = admin.post(ADD, add_form(app, "order_paid", rows, description=" Paid "))
    event_type = EventType.objects.get(app=app, name="order_paid")
    assert (response.status_code, response.url) == (302, LIST)
    [message] = page_messages(admin.get(LIST))
    assert "order_paid" in message and "was added successfully" in message
    assert (event_type.description, event_type.is_system) == ("Paid", False)
    assert event_type.segmentation_enabled is False
    assert {(a.name, a.type, a.is_array, a.declared) for a in event_type.attributes.all()} == {
        ("amount", "number", False, True),
        ("tags", "string", True, True),
    }
    entry = LogEntry.objects.get(object_id=str(event_type.pk))
    assert entry.action_flag == ADDITION

    # The first event of that name takes the declared types.
    [result] = events_ingest(
        app=app,
        payloads=[{"event_name": "order_paid", "app_user_id": "u1", "params": {"amount": "39"}}],
    )
    assert Event.objects.get(fingerprint=result.fingerprint).params == {"amount": 39}


@pytest.mark.parametrize(
    ("name", "rows", "field", "reason"),
    [
        ("logged_in", [], "name", "an event type named logged_in already exists"),
        ("@mine", [], "name", "names starting with @ are reserved for built-in events"),
        ("a|b", [], "name", "must not contain *, + or |"),
        ("order_paid", [("amount", "integer")], "type", "Select a valid choice."),
        ("order_paid", [("amount", "number"), ("amount", "string")], None, "duplicate"),
    ],
)
def test_a_bad_declaration_is_shown_on_the_form_and_nothing_is_saved(
    admin, app, name, rows, field, reason
):
    before = EventType.objects.count()
    response = admin.post(ADD, add_form(app, name, rows))
    assert response.status_code == 200
    errors = response.context["errors"]
    assert any(reason in str(error) for error in errors), errors
    if field == "name":
        [error] = response.context["adminform"].form.errors["name"]
        assert error.startswith(reason)
    assert EventType.objects.count() == before


def test_a_marketer_may_not_add_an_event_type(marketer, app):
    assert f'href="{ADD}"' not in marketer.get(LIST).text
    assert marketer.get(ADD).status_code == 403
    assert marketer.post(ADD, add_form(app, "order_paid")).status_code == 403
    assert not EventType.objects.filter(name="order_paid").exists()


def test_a_superuser_may_add_one(staff_client, app):
    response = staff_client.post(ADD, add_form(app, "order_paid", [("amount", "number")]))
    assert response.status_code == 302
    assert EventType.objects.get(app=app, name="order_paid").attributes.get().type == "number"


def test_an_admin_may_not_add_one_to_another_app(admin, app, other_app):
    response = admin.post(ADD, add_form(other_app, "order_paid"))
    assert response.status_code == 200
    assert "app" in response.context["adminform"].form.errors
    assert not EventType.objects.filter(name="order_paid").exists()


# Send event on an event type's page ------------------------------------------------------------


@pytest.fixture
def order_paid(app):
    return event_type_create(
        app=app, name="order_paid", attributes=[{"name": "amount", "type": "number"}]
    )


@pytest.fixture
def ann(app):
    payload = {"event_name": "page_viewed", "app_user_id": "ann"}
    [result] = events_ingest(app=app, payloads=[payload])
    return result.contact_id


def send_url(event_type: EventType) -> str:
    return f"/admin/events/eventtype/{event_type.pk}/send-event/"


def test_the_page_offers_send_event_with_its_name_filled_in(marketer, order_paid):
    response = marketer.get(f"/admin/events/eventtype/{order_paid.pk}/change/")
    section = response.context["send_event"]
    assert section["form"]["event_name"].value() == "order_paid"
    assert 'id="send-event"' in response.text
    assert f'action="{send_url(order_paid)}#send-event"' in response.text
    assert "admin/js/autocomplete.js" in response.text  # the contact search


def test_a_marketer_sends_the_event_for_a_contact(marketer, order_paid, ann):
    rows = [("amount", "text", "39"), ("coupon", "auto", "SPRING")]
    response = marketer.post(send_url(order_paid), send_event_form(ann, "order_paid", rows))
    assert response.status_code == 302
    assert response.url == f"/admin/events/eventtype/{order_paid.pk}/change/#send-event"
    [event] = Event.objects.filter(event_type=order_paid)
    # "39" typed as text, stored as the declared number
    assert (event.contact_id, event.params) == (ann, {"amount": 39, "coupon": "SPRING"})
    assert event.context == {"source": "ui"}
    [message] = page_messages(marketer.get(response.url))
    assert message.startswith("Event “order_paid” recorded for ")


@pytest.mark.parametrize(
    ("rows", "where", "reason"),
    [
        ([("amount", "number", "a lot")], "row", "is not a number"),  # the form's own check
        ([("amount", "text", "a lot")], "row", "expected a number"),  # the pipeline's
    ],
)
def test_an_invalid_param_is_shown_on_its_row_and_nothing_is_stored(
    marketer, order_paid, ann, rows, where, reason
):
    response = marketer.post(send_url(order_paid), send_event_form(ann, "order_paid", rows))
    assert response.status_code == 200
    form = response.context["send_event"]["form"]
    assert reason in str(form.params.forms[0].errors["value"])
    assert "Not sent: see the form below." in page_messages(response)
    assert not Event.objects.filter(event_type=order_paid).exists()


@pytest.mark.parametrize("contact", ["", "abc", "99999999999999999999999", "other"])
def test_a_contact_not_of_the_app_is_refused_on_its_field(marketer, order_paid, other_app, contact):
    if contact == "other":
        [result] = events_ingest(
            app=other_app, payloads=[{"event_name": "page_viewed", "app_user_id": "bob"}]
        )
        contact = result.contact_id
    response = marketer.post(send_url(order_paid), send_event_form(contact, "order_paid"))
    assert response.status_code == 200
    assert response.context["send_event"]["form"].errors["contact"]
    assert not Event.objects.filter(event_type=order_paid).exists()


def test_an_invalid_event_name_is_shown_on_its_field(marketer, order_paid, ann):
    response = marketer.post(send_url(order_paid), send_event_form(ann, "@OPT_IN"))
    form = response.context["send_event"]["form"]
    assert "reserved for built-in events" in str(form.errors["event_name"])


def test_who_may_not_act_on_contacts_gets_no_section_and_a_403(app, order_paid, ann):
    reader = get_user_model().objects.create_user("reader", password="pw", is_staff=True)
    reader.user_permissions.add(
        Permission.objects.get(codename="view_eventtype"),
        Permission.objects.get(codename="view_contact"),
    )
    app.members.add(reader)
    client = Client()
    client.force_login(reader)
    page = client.get(f"/admin/events/eventtype/{order_paid.pk}/change/")
    assert page.status_code == 200 and "send_event" not in page.context
    response = client.post(send_url(order_paid), send_event_form(ann, "order_paid"))
    assert response.status_code == 403
    assert not Event.objects.filter(event_type=order_paid).exists()


def test_a_built_in_event_type_has_no_send_event(marketer, app, ann):
    opt_in = EventType.objects.get(app=app, name="@OPT_IN")
    page = marketer.get(f"/admin/events/eventtype/{opt_in.pk}/change/")
    assert "send_event" not in page.context
    assert marketer.post(send_url(opt_in), send_event_form(ann, "@OPT_IN")).status_code == 404


def test_another_apps_event_type_is_not_found(marketer, other_app, ann):
    theirs = event_type_create(app=other_app, name="order_paid")
    assert marketer.post(send_url(theirs), send_event_form(ann, "order_paid")).status_code == 404


def test_send_event_takes_only_a_post(marketer, order_paid):
    assert marketer.get(send_url(order_paid)).status_code == 405
