"""The preview names each variable a message reads that the chosen contact and event lack:
`{{ event.params.x }}` renders empty, and the marketer is told so, from Liquid's own analysis."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign
from campaigns.services.previews import campaign_preview
from campaigns.services.templates import templates_unknown_variables
from contacts.services.contacts import contact_update
from events.models import Event, EventType
from events.services.event_types import event_attribute_declare
from tests.campaigns.factories import subscribe, track

PARAMS = {"order_id": "A-17", "items": [{"sku": "x1"}], "amount": 80}


@pytest.fixture
def ann(app):
    contact = subscribe(app, "ann")
    contact_update(contact=contact, data={"custom_fields": {"first_name": "Ann"}})
    return contact


def unknown(contact=None, event_params=PARAMS, attributes=(), **templates) -> list[str]:
    return templates_unknown_variables(
        templates, contact=contact, event_params=event_params, event_attributes=attributes
    )


def test_a_path_the_event_lacks_is_reported_once_in_the_order_used(ann):
    assert unknown(
        ann,
        title="{{ event.params.x }} {{ event.order_id }} {{ event.coupon }}",
        body="{{ event.params.x }} again",
    ) == ["event.params.x", "event.coupon"]


def test_keys_indexes_and_size_first_last_are_followed_into_the_values(ann):
    assert unknown(
        ann,
        title="{{ event.items[0].sku }} {{ event.items.size }} {{ event.items.first.sku }}",
        body="{{ event.items[3].sku }} {{ event.items.first.price }} {{ event.amount.cents }}",
    ) == ["event.items[3].sku", "event.items.first.price", "event.amount.cents"]


def test_the_contacts_fields_are_checked_against_the_chosen_contact(ann):
    templates = {"title": "{{ contact.first_name }} {{ contact.email }} {{ contact.nickname }}"}
    assert unknown(ann, **templates) == ["contact.nickname"]
    assert unknown(None, **templates) == []  # no contact chosen: nothing to check against


def test_a_declared_attribute_of_the_trigger_is_known_without_a_sample(ann):
    assert unknown(ann, None, ["coupon"], title="{{ event.coupon }} {{ event.order_id }}") == [
        "event.order_id"
    ]


def test_names_other_than_contact_and_event_are_unknown_but_a_templates_own_are_not(ann):
    title = (
        "{% assign greeting = 'Hi' %}{{ greeting }} {{ user.name }}"
        "{% for item in event.items %}{{ item.sku }}{% endfor %}{{ forloop.index }}"
    )
    assert unknown(ann, title=title) == ["user.name", "forloop.index"]


def test_a_lookup_by_another_variable_is_not_guessed(ann):
    assert unknown(ann, title="{{ event[contact.first_name] }}") == []


def test_plain_text_and_broken_templates_report_nothing(ann):
    assert unknown(ann, title="Hello", body="{{ event.x") == []


def test_the_preview_warns_about_the_trigger_params_the_event_type_does_not_have(app, ann):
    track(app, "ann", "purchase_completed", amount=80)
    event_type = EventType.objects.get(app=app, name="purchase_completed")
    event_attribute_declare(event_type=event_type, name="coupon", type_="string")
    campaign = Campaign(
        app=app,
        kind=Campaign.Kind.EVENT,
        trigger_event="purchase_completed",
        title="{{ event.amount }} {{ event.coupon }} {{ event.params.x }}",
        buttons=[{"id": "b", "title": "{{ event.nope }}", "action": "open_url", "url": "x"}],
    )
    preview = campaign_preview(campaign=campaign, contact=ann, event_params=None)
    assert preview["warnings"] == [
        "event.params.x is not known: it will render empty",
        "event.nope is not known: it will render empty",
    ]


def test_a_broadcast_has_no_event_so_every_event_variable_is_reported(app, ann):
    track(app, "ann", "purchase_completed", amount=80)  # an attribute, but not the broadcast's
    campaign = Campaign(
        app=app, kind=Campaign.Kind.BROADCAST, trigger_event="", title="{{ event.amount }}"
    )
    assert campaign_preview(campaign=campaign, contact=ann, event_params=None)["warnings"] == [
        "event.amount is not known: it will render empty"
    ]


def test_the_editors_preview_reports_them_for_its_sample_event(role_client, app, ann):
    track(app, "ann", "purchase_completed", amount=80, order_id="A-17")
    event = Event.objects.get(contact=ann, event_type__name="purchase_completed")
    response = role_client("Marketer", app).post(
        f"/admin/campaigns/campaign/preview/{app.pk}/",
        {
            "title": "Thanks {{ contact.first_name }}",
            "body": "Order {{ event.order_id }} {{ event.params.x }}",
            "kind": "event",
            "trigger_event": "purchase_completed",
            "preview_contact": "ann",
            "preview_event": str(event.pk),
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["preview"]["body"] == "Order A-17 "
    assert response.json()["preview"]["warnings"] == [
        "event.params.x is not known: it will render empty"
    ]


def test_the_apis_preview_reports_them_too(admin_client, app, ann):
    campaign = Campaign.objects.create(
        app=app, name="n", kind="event", title="{{ event.params.x }}", trigger_event="e"
    )
    response = admin_client.post(
        f"/api/v1/campaigns/{campaign.pk}/preview",
        {"contact_id": ann.pk, "event_params": {"amount": 1}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["warnings"] == ["event.params.x is not known: it will render empty"]
