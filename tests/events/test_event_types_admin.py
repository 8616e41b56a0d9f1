"""The event types page: the segmentation counter, the enable/disable button of each row, the
cap's message, attribute declarations, and what marketers and other apps' users may not do."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils.html import escape

from events.models import EventAttribute, EventType
from events.services.event_types import event_type_set_segmentation
from events.services.ingest import events_ingest

LIST = "/admin/events/eventtype/"


def toggle_url(event_type: EventType) -> str:
    return f"/admin/events/eventtype/{event_type.pk}/segmentation/"


def enable(*event_types: EventType) -> None:
    for event_type in event_types:
        event_type_set_segmentation(event_type=event_type, enabled=True)


def named(app, name: str) -> EventType:
    return EventType.objects.get(app=app, name=name)


def counters(response) -> dict[str, tuple[int, int]]:
    usage = response.context["segmentation_usage"]
    return {u["app"].name: (u["enabled"], u["limit"]) for u in usage}


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def admin(role_client, app):
    return role_client("Admin", app)


def test_the_counter_shows_the_apps_enabled_types_against_the_limit(admin, app, settings):
    settings.SEGMENTATION_MAX_EVENTS = 50
    enable(named(app, "logged_in"), named(app, "purchase_completed"))
    response = admin.get(LIST)
    assert counters(response) == {"Shop": (2, 50)}
    assert '<span class="segmentation-count"><strong>2</strong> / 50</span>' in response.text
    assert "The limit is reached" not in response.text


def test_the_counter_is_per_app_when_several_apps_are_listed(role_client, app, other_app):
    enable(named(other_app, "logged_in"))
    client = role_client("Admin", app, other_app)
    assert counters(client.get(LIST)) == {"Other": (1, 50), "Shop": (0, 50)}
    assert counters(client.get(f"{LIST}?app={other_app.pk}")) == {"Other": (1, 50)}


def test_an_admin_enables_an_event_type_from_its_row_and_comes_back_to_the_list(admin, app):
    event_type = named(app, "purchase_completed")
    page = admin.get(f"{LIST}?q=purchase").text
    assert f'formaction="{toggle_url(event_type)}" name="enabled" value="1"' in page
    back = f"{LIST}?q=purchase"
    response = admin.post(toggle_url(event_type), {"enabled": "1", "next": back}, follow=True)
    assert response.redirect_chain == [(back, 302)]
    assert page_messages(response) == [
        "Enabled purchase_completed for segmentation: 1 / 50 in Shop."
    ]
    assert counters(response) == {"Shop": (1, 50)}
    event_type.refresh_from_db()
    assert event_type.segmentation_enabled and event_type.segmentation_enabled_at
    assert f'formaction="{toggle_url(event_type)}" name="enabled" value="0"' in response.text


def test_an_admin_disables_an_event_type_from_its_row(admin, app):
    event_type = named(app, "logged_in")
    enable(event_type)
    response = admin.post(toggle_url(event_type), {"enabled": "0"}, follow=True)
    assert response.redirect_chain == [(LIST, 302)]
    assert page_messages(response) == ["Disabled logged_in for segmentation: 0 / 50 in Shop."]
    event_type.refresh_from_db()
    assert not event_type.segmentation_enabled and event_type.segmentation_enabled_at is None


def test_enabling_past_the_limit_is_refused_with_the_limit_and_what_to_do(admin, app, settings):
    settings.SEGMENTATION_MAX_EVENTS = 2
    enable(named(app, "logged_in"), named(app, "cart_viewed"))
    listing = admin.get(LIST)
    assert counters(listing) == {"Shop": (2, 2)}
    assert "The limit is reached: disable one to enable another." in listing.text
    event_type = named(app, "purchase_completed")
    response = admin.post(toggle_url(event_type), {"enabled": "1"}, follow=True)
    assert page_messages(response) == [
        "Could not enable purchase_completed: at most 2 event types may be enabled for "
        "segmentation; 2 already are: disable one first."
    ]
    assert not named(app, "purchase_completed").segmentation_enabled
    assert counters(response) == {"Shop": (2, 2)}


def test_the_button_only_posts_and_never_leaves_the_site(admin, app):
    event_type = named(app, "logged_in")
    assert admin.get(toggle_url(event_type)).status_code == 405
    response = admin.post(toggle_url(event_type), {"enabled": "1", "next": "https://evil.test/"})
    assert response.status_code == 302 and response.url == LIST


def test_the_button_needs_the_csrf_token(role_client, app):
    role_client("Admin", app)
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.get(username="admin"))
    event_type = named(app, "logged_in")
    assert client.post(toggle_url(event_type), {"enabled": "1"}).status_code == 403
    assert not named(app, "logged_in").segmentation_enabled


def test_a_marketer_reads_the_list_and_counter_but_cannot_enable(role_client, app):
    enable(named(app, "logged_in"))
    client = role_client("Marketer", app)
    response = client.get(LIST)
    assert response.status_code == 200
    assert counters(response) == {"Shop": (1, 50)}
    assert "An admin chooses them." in response.text
    assert "segmentation-toggle" not in response.text and 'name="action"' not in response.text
    event_type = named(app, "purchase_completed")
    assert client.post(toggle_url(event_type), {"enabled": "1"}).status_code == 403
    action = {"action": "enable_segmentation", "_selected_action": [event_type.pk]}
    client.post(LIST, action)
    page = client.post(f"{LIST}{event_type.pk}/change/", {"segmentation_enabled": "on"})
    assert page.status_code == 403
    assert not named(app, "purchase_completed").segmentation_enabled


def test_another_apps_event_type_cannot_be_toggled_or_opened(role_client, app, other_app):
    client = role_client("Admin", app)
    theirs = named(other_app, "purchase_completed")
    assert client.post(toggle_url(theirs), {"enabled": "1"}).status_code == 404
    client.post(LIST, {"action": "enable_segmentation", "_selected_action": [theirs.pk]})
    response = client.get(f"{LIST}{theirs.pk}/change/")
    assert response.status_code == 302 and response.url == "/admin/"  # "doesn't exist"
    assert not named(other_app, "purchase_completed").segmentation_enabled
    assert counters(client.get(LIST)) == {"Shop": (0, 50)}
    assert f"/admin/events/eventtype/{theirs.pk}/" not in client.get(LIST).text


def attribute_form(event_type: EventType, rows: list[dict], initial: int = 0) -> dict:
    data = {
        "category": event_type.category,
        "description": event_type.description,
        "attributes-TOTAL_FORMS": str(len(rows)),
        "attributes-INITIAL_FORMS": str(initial),
    }
    for n, row in enumerate(rows):
        data.update({f"attributes-{n}-{key}": value for key, value in row.items()})
        data[f"attributes-{n}-event_type"] = str(event_type.pk)
    return data


def test_the_event_type_page_tells_declared_from_discovered_attributes(admin, app):
    [result] = events_ingest(
        app=app,
        payloads=[{"event_name": "purchase_completed", "app_user_id": "u1", "params": {"n": 1}}],
    )
    event_type = named(app, "purchase_completed")
    admin.post(
        f"{LIST}{event_type.pk}/change/",
        attribute_form(event_type, [{"name": "coupon", "type": "string"}]),
    )
    page = admin.get(f"{LIST}{event_type.pk}/change/").text
    assert "discovered from the events" in page and "declared by an admin" in page
    assert EventAttribute.objects.get(event_type=event_type, name="coupon").declared


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ({"name": "coupon", "type": "money"}, ("type", "Select a valid choice.")),
        ({"name": "", "type": "string"}, ("name", "This field is required.")),
        ({"name": "x" * 256, "type": "string"}, ("name", "at most 255 characters")),
        ({"name": "order_id", "type": "string"}, ("name", "order_id is already listed")),
    ],
)
def test_a_bad_attribute_declaration_is_shown_next_to_its_field(admin, app, row, error):
    event_type = named(app, "purchase_completed")
    EventAttribute.objects.create(event_type=event_type, name="order_id", type="number")
    existing = {"id": str(event_type.attributes.get().pk), "type": "number"}
    data = attribute_form(event_type, [existing, row], initial=1)
    response = admin.post(f"{LIST}{event_type.pk}/change/", data)
    assert response.status_code == 200
    [formset] = response.context["inline_admin_formsets"]
    field, text = error
    assert text in " ".join(formset.formset.forms[1].errors[field])
    assert escape(text) in response.text
    assert list(event_type.attributes.values_list("name", "type")) == [("order_id", "number")]


def test_another_apps_event_type_is_not_offered_when_declaring_an_attribute(
    role_client, app, other_app
):
    client = role_client("Admin", app)
    theirs = named(other_app, "purchase_completed")
    response = client.post(
        "/admin/events/eventattribute/add/",
        {"event_type": theirs.pk, "name": "planted", "type": "string"},
    )
    assert response.status_code == 200
    assert "event_type" in response.context["adminform"].form.errors
    assert not EventAttribute.objects.filter(name="planted").exists()


def test_another_apps_attribute_cannot_be_opened_or_retyped(role_client, app, other_app):
    theirs = EventAttribute.objects.create(
        event_type=named(other_app, "purchase_completed"), name="secret", type="number"
    )
    client = role_client("Admin", app)
    url = f"/admin/events/eventattribute/{theirs.pk}/change/"
    assert client.get(url).status_code == 302
    client.post(url, {"type": "string"})
    assert EventAttribute.objects.get(pk=theirs.pk).type == "number"
    listing = client.get("/admin/events/eventattribute/").text
    assert "secret" not in listing


def test_another_apps_attribute_cannot_be_retyped_through_an_own_event_types_page(
    admin, app, other_app
):
    theirs = EventAttribute.objects.create(
        event_type=named(other_app, "purchase_completed"), name="secret", type="number"
    )
    mine = named(app, "purchase_completed")
    data = attribute_form(mine, [{"id": str(theirs.pk), "type": "string"}], initial=1)
    response = admin.post(f"{LIST}{mine.pk}/change/", data)
    assert response.status_code == 200  # the form again, with the error
    assert EventAttribute.objects.get(pk=theirs.pk).type == "number"
    assert not mine.attributes.exists()
