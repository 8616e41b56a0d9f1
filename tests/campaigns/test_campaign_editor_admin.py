"""The campaign editor, its live preview, the activate / pause buttons and the campaign page,
through the Django client: each kind saved through the services, the service's errors next to
their fields, and no way to reach another app's campaigns, segments, event types, contacts or
events from these pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from campaigns.models import Campaign, Delivery, TriggeringEventType
from campaigns.selectors import campaign_activity
from campaigns.services.campaigns import campaign_create
from campaigns.services.policy import push_policy_update
from campaigns.services.triggers import trigger_marks_process
from contacts.services.contacts import contact_update
from events.models import Event, EventType
from events.services.event_types import event_attribute_declare
from segments.services import segment_create
from tests.campaigns.factories import active_campaign, subscribe, track

ADD = "/admin/campaigns/campaign/add/"


def form(**fields) -> dict:
    """An event-triggered campaign as the editor posts it; `fields` replace or add."""
    data = {
        "name": "After purchase",
        "kind": "event",
        "title": "Thanks {{ contact.first_name }}",
        "body": "Order {{ event.order_id }}",
        "url": "",
        "icon": "",
        "image": "",
        "ttl_seconds": 86400,
        "urgency": "normal",
        "send_mode": "now",
        "trigger_event": "purchase_completed",
        "trigger_where-param": ["amount", ""],
        "trigger_where-op": [">", "="],
        "trigger_where-value": ["50", ""],
        "delay_amount": 15,
        "delay_unit": "minutes",
        "cancel_event": "order_cancelled",
        "cancel_match_param": "order_id",
        "reentry": "always",
        "quiet_action": "delay",
    }
    return {**data, **fields}


def errors_of(response) -> dict:
    assert response.status_code == 200, response.status_code
    return response.context["adminform"].form.errors


@pytest.fixture
def marketer(role_client, app):
    return role_client("Marketer", app)


# The form, kind by kind --------------------------------------------------------------------
def test_an_event_triggered_campaign_is_saved_through_the_service(marketer, app):
    response = marketer.post(ADD, form(recheck_audience="on"))
    assert response.status_code == 302, errors_of(response)
    campaign = Campaign.objects.get()
    assert (campaign.app, campaign.status, campaign.kind) == (app, "draft", "event")
    assert campaign.trigger_where == [{"param": "amount", "op": ">", "value": 50}]
    assert (campaign.delay_seconds, campaign.cancel_match_param) == (900, "order_id")
    assert campaign.recheck_audience is True
    # The service registers event names the app has not sent yet.
    assert EventType.objects.filter(app=app, name="order_cancelled").exists()


def test_a_broadcast_now_or_at_a_time_keeps_none_of_the_trigger_fields(marketer):
    response = marketer.post(ADD, form(kind="broadcast", recheck_audience="on"))
    assert response.status_code == 302, errors_of(response)
    now = Campaign.objects.get()
    assert (now.send_at, now.trigger_event, now.trigger_where) == (None, "", [])
    assert (now.delay_seconds, now.cancel_event, now.recheck_audience) == (0, "", False)

    scheduled = form(
        kind="broadcast", name="Sale", send_mode="scheduled", send_at="2030-01-02T09:30"
    )
    assert marketer.post(ADD, scheduled).status_code == 302
    assert Campaign.objects.get(name="Sale").send_at == datetime(2030, 1, 2, 9, 30, tzinfo=UTC)


def test_a_scheduled_broadcast_needs_its_time(marketer):
    errors = errors_of(marketer.post(ADD, form(kind="broadcast", send_mode="scheduled")))
    assert errors["send_at"] == ["Choose when to send, or send when activated."]
    assert not Campaign.objects.exists()


def test_a_segment_entry_campaign_needs_a_segment_of_the_app(marketer, app):
    errors = errors_of(marketer.post(ADD, form(kind="segment_entry")))
    assert errors["entry_segment"] == ["is required for a segment entry campaign"]
    segment = segment_create(app=app, name="Newcomers", conditions={"type": "device"})
    response = marketer.post(ADD, form(kind="segment_entry", entry_segment=segment.pk))
    assert response.status_code == 302, errors_of(response)
    campaign = Campaign.objects.get()
    assert (campaign.entry_segment, campaign.trigger_event) == (segment, "")


@pytest.mark.parametrize(
    ("amount", "unit", "error"),
    [
        (31, "days", "must be at most 30 days (2592000 seconds)"),
        (-1, "minutes", "Ensure this value is greater than or equal to 0."),
        ("soon", "minutes", "Enter a whole number."),
    ],
)
def test_a_bad_delay_is_refused_next_to_it(marketer, amount, unit, error):
    errors = errors_of(marketer.post(ADD, form(delay_amount=amount, delay_unit=unit)))
    assert errors["delay_amount"] == [error]
    assert not Campaign.objects.exists()


def test_thirty_days_is_the_longest_delay(marketer):
    assert marketer.post(ADD, form(delay_amount=30, delay_unit="days")).status_code == 302
    assert Campaign.objects.get().delay_seconds == 30 * 86400


def test_bad_liquid_and_bad_filters_are_shown_next_to_their_fields(marketer):
    data = form(
        title="Hi {{ contact.name",
        body="{% if %}",
        **{"trigger_where-op": ["contains", "="]},
    )
    errors = errors_of(marketer.post(ADD, data))
    assert errors["title"][0].startswith("is not a valid Liquid template: ")
    assert errors["body"][0].startswith("is not a valid Liquid template: missing expression")
    assert errors["trigger_where"] == [
        "Filter 1, operator: 'contains' does not apply to a number value; "
        "use one of =, !=, >, >=, <, <=, between, in, not_in, exists, not_exists"
    ]
    assert not Campaign.objects.exists()


def test_filter_values_take_the_type_of_the_attribute(marketer, app):
    track(app, "ann", "purchase_completed", amount=10, order_id="A-1", paid=True)
    event_type = EventType.objects.get(app=app, name="purchase_completed")
    event_attribute_declare(event_type=event_type, name="coupon", type_="string")
    rows = {
        "trigger_where-param": ["order_id", "amount", "coupon", "paid", "amount"],
        "trigger_where-op": ["in", "between", "=", "=", "exists"],
        "trigger_where-value": ["12, A-7", "10, 99.5", "007", "true", ""],
    }
    response = marketer.post(ADD, form(**rows))
    assert response.status_code == 302, errors_of(response)
    assert Campaign.objects.get().trigger_where == [
        {"param": "order_id", "op": "in", "value": ["12", "A-7"]},
        {"param": "amount", "op": "between", "value": [10, 99.5]},
        {"param": "coupon", "op": "=", "value": "007"},
        {"param": "paid", "op": "=", "value": True},
        {"param": "amount", "op": "exists"},
    ]


def where_rows(*rows: tuple[str, str, str]) -> dict:
    """The editor's filter rows (param, operator, value)."""
    return {
        f"trigger_where-{part}": [row[index] for row in rows]
        for index, part in enumerate(("param", "op", "value"))
    }


@pytest.fixture
def typed_params(app):
    """purchase_completed's arrays, location and date, as segments type them."""
    event_type, _ = EventType.objects.get_or_create(app=app, name="purchase_completed")
    for name, type_, is_array in (
        ("tags", "string", True),
        ("sizes", "number", True),
        ("place", "geoloc", False),
        ("due", "date", False),
    ):
        event_attribute_declare(event_type=event_type, name=name, type_=type_, is_array=is_array)


# Each operator of the segment grammar the editor offers beyond plain values: the spec it stores
# and the text the row shows when the campaign is opened again.
NEW_OPERATOR_ROWS = [
    ("tags", "contains_any", ["sale", "new"], "sale, new"),
    ("sizes", "not_contains_any", [38, 40.5], "38, 40.5"),  # the array's elements' type
    ("place", "within", {"lat": 48.85, "lon": 2.35, "km": 10}, "10 km of 48.85, 2.35"),
    ("place", "not_within", {"lat": -33.9, "lon": 18.4, "km": 2.5}, "2.5 km of -33.9, 18.4"),
    ("due", "within_last", {"amount": 3, "unit": "day"}, "3 days"),
    ("due", "within_next", {"amount": 1, "unit": "month"}, "1 month"),
]


@pytest.mark.parametrize(("param", "op", "value", "text"), NEW_OPERATOR_ROWS)
def test_new_operators_are_saved_as_specs_and_shown_back_as_typed(
    marketer, app, typed_params, param, op, value, text
):
    response = marketer.post(ADD, form(**where_rows((param, op, text))))
    assert response.status_code == 302, errors_of(response)
    campaign = Campaign.objects.get()
    assert campaign.trigger_where == [{"param": param, "op": op, "value": value}]

    html = marketer.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    assert f'name="trigger_where-value" value="{text}"' in html
    assert f'<option value="{op}" selected>' in html
    # Saved again as shown, the filter is unchanged.
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    assert marketer.post(url, form(**where_rows((param, op, text)))).status_code == 302
    campaign.refresh_from_db()
    assert campaign.trigger_where == [{"param": param, "op": op, "value": value}]


def test_distances_and_relative_dates_are_read_with_lenient_spacing_and_case(
    marketer, app, typed_params
):
    rows = where_rows(
        ("place", "within", "10km of 48.85,2.35"),
        ("place", "not_within", "  0.5 KM  OF  -1 ,  -2.25 "),
        ("due", "within_last", "1 Day"),
        ("due", "within_next", "2weeks"),
    )
    response = marketer.post(ADD, form(**rows))
    assert response.status_code == 302, errors_of(response)
    assert [spec["value"] for spec in Campaign.objects.get().trigger_where] == [
        {"lat": 48.85, "lon": 2.35, "km": 10},
        {"lat": -1, "lon": -2.25, "km": 0.5},
        {"amount": 1, "unit": "day"},
        {"amount": 2, "unit": "week"},
    ]


def test_a_distance_or_relative_date_that_does_not_parse_names_its_filter(
    marketer, app, typed_params
):
    rows = where_rows(
        ("amount", ">", "50"),
        ("place", "within", "near Paris"),
        ("due", "within_last", "3 fortnights"),
        ("due", "within_next", "-2 days"),
        ("place", "not_within", "10 km of 48.85"),
    )
    errors = errors_of(marketer.post(ADD, form(**rows)))
    distance = "expected a distance in km of a latitude, longitude, like “10 km of 48.85, 2.35”"
    days = "expected a number of days, weeks or months, like “3 days”"
    assert errors["trigger_where"] == [
        f"Filter 2, value: {distance}; got “near Paris”",
        f"Filter 3, value: {days}; got “3 fortnights”",
        f"Filter 4, value: {days}; got “-2 days”",
        f"Filter 5, value: {distance}; got “10 km of 48.85”",
    ]
    assert not Campaign.objects.exists()
    # The rows come back as typed, to be corrected.
    html = marketer.post(ADD, form(**rows)).content.decode()
    assert 'name="trigger_where-value" value="near Paris"' in html


def test_the_services_errors_on_parts_of_a_value_name_the_filter_and_the_part(
    marketer, app, typed_params
):
    rows = where_rows(
        ("place", "within", "0 km of 100, 2.35"),
        ("due", "within_last", "0 days"),
    )
    errors = errors_of(marketer.post(ADD, form(**rows)))
    assert sorted(errors["trigger_where"]) == [
        "Filter 1, value (distance): must be a number of kilometres above 0",
        "Filter 1, value (latitude): must be a number from -90 to 90",
        "Filter 2, value (amount): must be a whole number from 1 to 1000",
    ]
    assert "__all__" not in errors
    assert not Campaign.objects.exists()


def test_the_page_types_array_params_as_arrays_so_their_operators_are_offered(
    marketer, typed_params
):
    page = marketer.get(ADD)
    types = dict(page.context["event_attributes"]["purchase_completed"])
    assert (types["tags"], types["sizes"], types["place"]) == ("string[]", "number[]", "geoloc")
    assert "contains_any" in page.context["operators_by_type"]["string[]"]


def test_filter_rows_left_behind_are_not_read_for_a_broadcast(marketer):
    data = form(kind="broadcast", **where_rows(("place", "within", "near Paris")))
    response = marketer.post(ADD, data)
    assert response.status_code == 302, errors_of(response)
    assert Campaign.objects.get().trigger_where == []


def test_a_day_typed_for_a_date_reaches_the_services_unchanged(marketer, app, typed_params):
    rows = where_rows(
        ("due", "=", "2026-12-24"),
        ("due", "between", "2026-12-01, 2026-12-24"),
        ("due", "<", "2026-12-24T10:00:00+01:00"),
        ("delivery_day", "=", "2026-12-24"),  # a param never seen: a day is no number
    )
    response = marketer.post(ADD, form(**rows))
    assert response.status_code == 302, errors_of(response)
    assert [spec["value"] for spec in Campaign.objects.get().trigger_where] == [
        "2026-12-24",
        ["2026-12-01", "2026-12-24"],
        "2026-12-24T10:00:00+01:00",
        "2026-12-24",
    ]


def test_a_campaign_saved_with_the_new_operators_fires_only_on_matching_events(
    marketer, app, typed_params
):
    rows = where_rows(("tags", "contains_any", "sale, new"), ("due", "within_last", "3 days"))
    response = marketer.post(ADD, form(**rows))
    assert response.status_code == 302, errors_of(response)
    campaign = Campaign.objects.get()
    assert marketer.post(f"/admin/campaigns/campaign/{campaign.pk}/activate/").status_code == 302
    now = datetime.now(UTC)
    for user, tags, due in (
        ("ann", ["new", "kids"], now - timedelta(days=1)),  # both hold
        ("bob", ["kids"], now - timedelta(days=1)),  # none of the tags
        ("cid", ["sale"], now - timedelta(days=10)),  # due too long ago
    ):
        subscribe(app, user)
        track(app, user, "purchase_completed", tags=tags, due=due.isoformat())
    trigger_marks_process()
    sent_to = Delivery.objects.filter(campaign=campaign).values_list(
        "contact__external_id", flat=True
    )
    assert list(sent_to) == ["ann"]


def test_reopening_a_campaign_shows_the_delay_in_its_unit_and_the_filter_rows(marketer, app):
    campaign = campaign_create(
        app=app,
        name="Cart",
        kind="event",
        title="Back?",
        trigger_event="cart_updated",
        trigger_where=[{"param": "items", "op": "in", "value": [1, 2]}],
        delay_seconds=2 * 3600,
    )
    page = marketer.get(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    form_ = page.context["adminform"].form
    assert (form_["delay_amount"].value(), form_["delay_unit"].value()) == (2, "hours")
    html = page.content.decode()
    assert 'name="trigger_where-param" value="items"' in html
    assert 'name="trigger_where-value" value="1, 2"' in html
    assert '<option value="in" selected>is one of</option>' in html


def test_a_delay_the_api_set_to_the_second_is_kept_as_it_is(marketer, app):
    campaign = campaign_create(
        app=app,
        name="Cart",
        kind="event",
        title="Back?",
        trigger_event="cart_updated",
        delay_seconds=90,
    )
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    form_ = marketer.get(url).context["adminform"].form
    assert (form_["delay_amount"].value(), form_["delay_unit"].value()) == (90, "seconds")
    response = marketer.post(url, form(name="Cart", delay_amount=90, delay_unit="seconds"))
    assert response.status_code == 302, errors_of(response)
    campaign.refresh_from_db()
    assert campaign.delay_seconds == 90
    # A new campaign offers minutes, hours and days only.
    assert errors_of(marketer.post(ADD, form(delay_unit="seconds")))["delay_unit"]


def test_changing_the_kind_on_a_saved_campaign_goes_through_the_update_service(marketer, app):
    campaign = campaign_create(
        app=app, name="Cart", kind="event", title="Back?", trigger_event="cart_updated"
    )
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    response = marketer.post(url, form(name="Cart", kind="broadcast"))
    assert response.status_code == 302, errors_of(response)
    campaign.refresh_from_db()
    assert (campaign.kind, campaign.trigger_event, campaign.delay_seconds) == ("broadcast", "", 0)


def button_rows(*rows: tuple[str, str, str, str]) -> dict:
    """The editor's two button rows (id, title, action, URL or event), blank ones filling in."""
    rows = [*rows, *[("", "", "open_url", "")] * (2 - len(rows))]
    return {
        f"buttons-{part}": [row[index] for row in rows]
        for index, part in enumerate(("id", "title", "action", "target"))
    }


def test_button_rows_are_saved_as_buttons(marketer, app):
    rows = button_rows(
        (
            "",
            "Track {{ event.order_id }}",
            "open_url",
            "https://shop.example/o/{{ event.order_id }}",
        ),
        ("later", "Remind me", "track_event", "remind_later"),
    )
    response = marketer.post(ADD, form(**rows))
    assert response.status_code == 302, errors_of(response)
    assert Campaign.objects.get().buttons == [
        {
            "id": "button1",  # a row without an id takes its place's
            "title": "Track {{ event.order_id }}",
            "action": "open_url",
            "url": "https://shop.example/o/{{ event.order_id }}",
        },
        {"id": "later", "title": "Remind me", "action": "track_event", "event": "remind_later"},
    ]


def test_a_blank_button_row_is_no_button(marketer):
    response = marketer.post(ADD, form(**button_rows()))
    assert response.status_code == 302, errors_of(response)
    assert Campaign.objects.get().buttons == []


def test_the_services_button_errors_are_shown_next_to_the_buttons(marketer):
    rows = button_rows(
        ("shop", "Shop", "open_url", "shop.example"),
        ("shop", "{{ contact.name", "track_event", "@OPT_IN"),
    )
    errors = errors_of(marketer.post(ADD, form(**rows)))
    assert (
        errors["buttons"][0]
        == "button 1: url must be an http(s) URL, e.g. https://shop.example/sale"
    )
    assert any(
        e.startswith("button 2: title is not a valid Liquid template") for e in errors["buttons"]
    )
    assert (
        "button 2: event names starting with @ are reserved for built-in events"
        in errors["buttons"]
    )
    assert "button 2: id 'shop' is button 1's too" in errors["buttons"]
    assert not Campaign.objects.exists()


def test_reopening_a_campaign_shows_its_button_rows(marketer, app):
    campaign = campaign_create(
        app=app,
        name="Cart",
        kind="event",
        title="Back?",
        trigger_event="cart_updated",
        buttons=[{"id": "later", "title": "Later", "action": "track_event", "event": "snooze"}],
    )
    html = marketer.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    assert 'name="buttons-id" value="later"' in html
    assert 'name="buttons-target" value="snooze"' in html
    assert '<option value="track_event" selected>Track an event</option>' in html
    assert html.count('class="button-row"') == 2  # its button and a blank row


def test_the_rules_section_shows_the_apps_daily_cap(role_client, app):
    push_policy_update(app=app, daily_cap=3)
    marketer = role_client("Marketer", app)
    page = marketer.get(ADD).content.decode()
    assert "at most 3 pushes per contact per day" in page
    assert "/admin/campaigns/pushpolicy/" not in page  # marketers may not open it
    admin = role_client("Admin", app, username="admin")
    assert "/admin/campaigns/pushpolicy/" in admin.get(ADD).content.decode()


# Scoping -----------------------------------------------------------------------------------
def test_a_new_campaign_is_for_one_of_the_users_apps(role_client, app, other_app):
    both = role_client("Marketer", app, other_app)
    chooser = both.get(ADD)
    assert [a.name for a in chooser.context["apps"]] == ["Other", "Shop"]
    stranger = type(app).objects.create(name="Stranger", tenant_id="stranger")
    assert "apps" in both.get(f"{ADD}?app={stranger.pk}").context  # not one of theirs
    response = both.post(f"{ADD}?app={other_app.pk}", form())
    assert response.status_code == 302
    assert Campaign.objects.get().app == other_app


def test_another_apps_segments_cannot_be_picked(marketer, app, other_app):
    theirs = segment_create(app=other_app, name="Theirs", conditions={"type": "device"})
    page = marketer.get(ADD).content.decode()
    assert "Theirs" not in page
    for field, kind in (("audience_segment", "event"), ("entry_segment", "segment_entry")):
        errors = errors_of(marketer.post(ADD, form(kind=kind, **{field: theirs.pk})))
        assert "Select a valid choice" in errors[field][0]
    assert not Campaign.objects.exists()


def test_another_apps_event_types_are_neither_offered_nor_touched(marketer, app, other_app):
    track(other_app, "zed", "their_secret_event", secret_param=1)
    page = marketer.get(ADD)
    assert "their_secret_event" not in page.content.decode()
    assert "their_secret_event" not in page.context["event_attributes"]
    response = marketer.post(
        ADD,
        form(
            trigger_event="their_secret_event",
            **{"trigger_where-param": [""], "trigger_where-op": ["="], "trigger_where-value": [""]},
        ),
    )
    assert response.status_code == 302, errors_of(response)
    # The name is registered in the marketer's app; the other app's type is not used.
    assert EventType.objects.filter(name="their_secret_event").count() == 2
    theirs = EventType.objects.get(app=other_app, name="their_secret_event")
    assert not TriggeringEventType.objects.filter(event_type=theirs).exists()


def test_another_apps_campaign_cannot_be_opened_activated_or_paused(role_client, app, other_app):
    theirs = active_campaign(other_app, name="Theirs")
    marketer = role_client("Marketer", app)
    assert marketer.get(f"/admin/campaigns/campaign/{theirs.pk}/change/").status_code == 302
    for action in ("activate", "pause"):
        url = f"/admin/campaigns/campaign/{theirs.pk}/{action}/"
        assert marketer.post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "active"


# Activate and pause ------------------------------------------------------------------------
def test_activate_and_pause_buttons_go_through_the_services(marketer, app):
    campaign = campaign_create(
        app=app, name="Cart", kind="event", title="Back?", trigger_event="cart_updated"
    )
    base = f"/admin/campaigns/campaign/{campaign.pk}"
    page = marketer.get(f"{base}/change/").content.decode()
    assert 'id="campaign-activate"' in page and 'id="campaign-pause"' not in page
    response = marketer.post(f"{base}/activate/", follow=True)
    assert "Cart is active." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == "active"
    cart_updated = EventType.objects.get(app=app, name="cart_updated")
    assert TriggeringEventType.objects.filter(event_type=cart_updated).exists()
    assert 'id="campaign-pause"' in response.content.decode()
    marketer.post(f"{base}/pause/")
    campaign.refresh_from_db()
    assert campaign.status == "paused"
    refused = marketer.post(f"{base}/pause/", follow=True).content.decode()
    assert "only an active campaign can be paused (it is paused)" in refused
    assert marketer.get(f"{base}/activate/").status_code == 405


def test_a_user_who_may_only_view_campaigns_can_neither_activate_nor_preview(app):
    campaign = campaign_create(
        app=app, name="Cart", kind="event", title="Back?", trigger_event="cart_updated"
    )
    user = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_campaign"))
    app.members.add(user)
    client = Client()
    client.force_login(user)
    page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    assert page.status_code == 200
    assert 'id="campaign-activate"' not in page.content.decode()
    assert client.post(f"/admin/campaigns/campaign/{campaign.pk}/activate/").status_code == 403
    preview = f"/admin/campaigns/campaign/preview/{app.pk}/"
    assert client.post(preview, {"title": "Hi"}).status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == "draft"


# The live preview --------------------------------------------------------------------------
@pytest.fixture
def ann(app):
    contact = subscribe(app, "ann")
    contact_update(contact=contact, data={"custom_fields": {"first_name": "Ann"}})
    track(app, "ann", "purchase_completed", amount=80, order_id="A-17")
    return contact


def preview(client, app, **fields):
    data = {"title": "Thanks {{ contact.first_name }}", "body": "Order {{ event.order_id }}"}
    return client.post(f"/admin/campaigns/campaign/preview/{app.pk}/", {**data, **fields})


def test_the_preview_renders_for_a_contact_and_a_sample_event(marketer, app, ann):
    event = Event.objects.get(contact=ann, event_type__name="purchase_completed")
    response = preview(
        marketer,
        app,
        trigger_event="purchase_completed",
        preview_contact="ann",
        preview_event=str(event.pk),
        icon="https://shop.example/icon.png",
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["preview"] == {
        "title": "Thanks Ann",
        "body": "Order A-17",
        "url": "",
        "icon": "https://shop.example/icon.png",
        "image": "",
        "buttons": [],
        "warnings": [],
    }
    assert data["contact"] == "ann"
    assert [sample["id"] for sample in data["samples"]] == [event.pk]
    assert "amount=80" in data["samples"][0]["label"]


def test_the_preview_renders_the_buttons_for_the_contact(marketer, app, ann):
    rows = button_rows(
        ("shop", "Hi {{ contact.first_name }}", "open_url", "https://s.example/{{ contact.id }}"),
        ("later", "Later", "track_event", "remind_later"),
    )
    response = preview(marketer, app, preview_contact="ann", **rows)
    assert response.status_code == 200, response.content
    assert response.json()["preview"]["buttons"] == [
        {
            "id": "shop",
            "title": "Hi Ann",
            "action": "open_url",
            "url": f"https://s.example/{ann.pk}",
        },
        {"id": "later", "title": "Later", "action": "track_event"},
    ]


def test_bad_liquid_in_a_button_is_a_400_on_the_buttons(marketer, app):
    rows = button_rows(("shop", "Hi", "open_url", "https://s.example/{% if %}"))
    response = preview(marketer, app, **rows)
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "buttons": ["button 1 url is not a valid Liquid template: missing expression"]
    }


def test_sample_events_are_the_contacts_own_else_anyones(marketer, app, ann):
    track(app, "bob", "purchase_completed", order_id="B-1")
    track(app, "cid", "page_viewed")
    own = preview(marketer, app, trigger_event="purchase_completed", preview_contact="ann")
    assert [s["label"].split(" · ")[1] for s in own.json()["samples"]] == ["ann"]
    anyone = preview(marketer, app, trigger_event="purchase_completed", preview_contact="cid")
    assert [s["label"].split(" · ")[1] for s in anyone.json()["samples"]] == ["bob", "ann"]


def test_the_preview_finds_a_contact_by_id_or_email(marketer, app, ann):
    contact_update(contact=ann, data={"email": "ann@example.com"})
    for query in (f"#{ann.pk}", str(ann.pk), "ANN@example.com"):
        assert preview(marketer, app, preview_contact=query).json()["contact"] == "ann"


def test_bad_liquid_in_the_preview_is_a_readable_400_per_field(marketer, app):
    response = preview(marketer, app, title="Hi {{ contact.name", url="{% if %}")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"title", "url"}
    assert errors["url"] == ["is not a valid Liquid template: missing expression"]


def test_a_template_that_fails_on_its_values_is_a_400_too(marketer, app):
    response = preview(marketer, app, body="{{ 1 | divided_by: 0 }}")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "body": ["cannot be rendered for these values: divided_by: can't divide by 0"]
    }


def test_the_preview_never_reaches_another_apps_contacts_or_events(marketer, app, other_app):
    zed = subscribe(other_app, "zed")
    contact_update(contact=zed, data={"custom_fields": {"first_name": "Zed"}})
    track(other_app, "zed", "purchase_completed", order_id="SECRET")
    theirs = Event.objects.get(contact=zed, event_type__name="purchase_completed")
    response = preview(
        marketer,
        app,
        trigger_event="purchase_completed",
        preview_contact=f"#{zed.pk}",
        preview_event=str(theirs.pk),
    )
    assert response.status_code == 400
    data = response.json()
    assert data["errors"] == {
        "preview_contact": [f"no contact '#{zed.pk}' in this app"],
        "preview_event": ["is not an event of this app"],
    }
    assert data["samples"] == []
    assert "SECRET" not in response.content.decode() and "Zed" not in response.content.decode()
    assert preview(marketer, app, preview_contact="zed").status_code == 400
    huge = "9" * 30  # an id no database column holds: refused, not a server error
    response = preview(marketer, app, preview_contact=huge, preview_event=huge)
    assert set(response.json()["errors"]) == {"preview_contact", "preview_event"}
    # Nor another app itself, by its id in the URL.
    assert preview(marketer, other_app).status_code == 404


def test_the_preview_is_posted_with_csrf(app, role_client):
    role_client("Marketer", app)
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.get(username="marketer"))
    assert preview(client, app).status_code == 403
    assert client.get(f"/admin/campaigns/campaign/preview/{app.pk}/").status_code == 405


# The campaign page -------------------------------------------------------------------------
def test_the_campaign_page_shows_stats_chart_and_the_delivery_log(marketer, app):
    campaign = active_campaign(app, name="Thanks")
    for user in ("ann", "bob", "cid"):
        subscribe(app, user)
        track(app, user, "purchase_completed", amount=1)
    trigger_marks_process()
    now = datetime.now(UTC)
    deliveries = Delivery.objects.filter(campaign=campaign).order_by("pk")
    Delivery.objects.filter(pk=deliveries[0].pk).update(status="sent", sent_at=now, opened_at=now)
    Delivery.objects.filter(pk=deliveries[1].pk).update(status="failed", last_error="410 Gone")
    page = marketer.get(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    stats = page.context["stats"]
    assert (stats["sent"], stats["failed"], stats["scheduled"], stats["opened"]) == (1, 1, 1, 1)
    assert page.context["open_percent"] == 100.0
    chart = page.context["activity_chart"]
    assert (len(chart["labels"]), sum(chart["sent"]), chart["opened"][-1]) == (48, 1, 1)
    html = page.content.decode()
    assert "410 Gone" in html and 'id="campaign-chart-data"' in html
    assert f"/admin/campaigns/delivery/?campaign={campaign.pk}" in html
    daily = marketer.get(f"/admin/campaigns/campaign/{campaign.pk}/change/?activity=day")
    assert len(daily.context["activity_chart"]["labels"]) == 30


def test_the_delivery_log_is_paged(marketer, app):
    campaign = active_campaign(app, name="Thanks")
    for n in range(21):
        track(app, f"user-{n}", "purchase_completed")
    trigger_marks_process()
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    first = marketer.get(url).context["log_page"]
    second = marketer.get(f"{url}?log_page=2").context["log_page"]
    assert (len(first), len(second), first.paginator.count) == (20, 1, 21)
    assert not {d.pk for d in first} & {d.pk for d in second}


def test_the_activity_selector_buckets_sends_and_opens_by_hour_and_day(app):
    campaign = active_campaign(app, name="Thanks")
    contact = subscribe(app, "ann")
    now = datetime(2026, 5, 10, 12, 30, tzinfo=UTC)
    times = [now - timedelta(hours=h) for h in (0, 0, 1, 30)] + [now - timedelta(days=40)]
    for n, moment in enumerate(times):
        Delivery.objects.create(
            app=app,
            campaign=campaign,
            contact=contact,
            source=f"t:{n}",
            due_at=moment,
            status="sent",
            sent_at=moment,
            opened_at=moment if n == 0 else None,
            open_token=f"token-{n}",
            created_at=moment,
        )
    hourly = campaign_activity(campaign=campaign, now=now, bucket="hour")
    assert hourly["slots"][-1] == datetime(2026, 5, 10, 12, tzinfo=UTC)
    assert (hourly["sent"][-1], hourly["sent"][-2], hourly["sent"][-31]) == (2, 1, 1)
    assert (sum(hourly["sent"]), sum(hourly["opened"])) == (4, 1)
    daily = campaign_activity(campaign=campaign, now=now, bucket="day")
    assert daily["slots"][-1] == datetime(2026, 5, 10, tzinfo=UTC)
    assert (daily["sent"][-1], daily["sent"][-2], sum(daily["sent"])) == (3, 1, 4)
