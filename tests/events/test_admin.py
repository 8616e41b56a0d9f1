"""The admin for event types, attributes, events and statistics, and the contact's events."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact
from events.admin import ProbedDatesQuerySet
from events.models import ContactEventStats, Event, EventAttribute, EventType
from events.services.ingest import events_ingest


def ingest(app, name="purchase_completed", **payload):
    [result] = events_ingest(app=app, payloads=[{"event_name": name, **payload}])
    assert result.errors is None, result.errors
    return result


def action(client, name: str, event_types, follow=True):
    ids = [str(event_type.pk) for event_type in event_types]
    return client.post(
        "/admin/events/eventtype/", {"action": name, "_selected_action": ids}, follow=follow
    )


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def types(app, *names):
    return [EventType.objects.get(app=app, name=name) for name in names]


def test_the_event_type_list_sums_events_from_the_statistics(staff_client, app):
    ingest(app, app_user_id="u1", event_time="2026-01-01T10:00:00Z")
    ingest(app, app_user_id="u1", event_time="2026-01-02T10:00:00Z")
    ingest(app, app_user_id="u2", event_time="2026-01-02T10:00:00Z")
    response = staff_client.get("/admin/events/eventtype/?q=purchase_completed")
    assert response.status_code == 200
    [row] = [t for t in response.context["cl"].result_list if t.name == "purchase_completed"]
    assert (row.name, row.event_count, row.category) == ("purchase_completed", 3, "E-Commerce")
    assert "system" in response.content.decode()


def test_the_event_type_list_runs_the_same_queries_whatever_the_number_of_events(staff_client, app):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get("/admin/events/eventtype/").status_code == 200
        return len(captured)

    ingest(app, app_user_id="u0")
    few = queries()
    for i in range(8):
        ingest(app, name=f"custom_{i}", app_user_id=f"u{i}")
    assert queries() == few


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=custom", {"my_custom_event"}),
        ("segmentation_enabled__exact=1", {"purchase_completed"}),
        ("category=E-Commerce&q=purchase_c", {"purchase_completed"}),
    ],
)
def test_event_types_filter_by_kind_segmentation_and_category(staff_client, app, query, expected):
    ingest(app, name="my_custom_event", app_user_id="u1")
    EventType.objects.filter(name="purchase_completed").update(segmentation_enabled=True)
    response = staff_client.get(f"/admin/events/eventtype/?app={app.pk}&{query}")
    assert response.status_code == 200
    assert {t.name for t in response.context["cl"].result_list} == expected


def test_enabling_for_segmentation_stops_at_the_cap_and_names_the_refused_types(
    staff_client, app, settings
):
    settings.SEGMENTATION_MAX_EVENTS = 2
    selected = types(app, "cart_viewed", "logged_in", "purchase_completed")
    response = action(staff_client, "enable_segmentation", selected)
    assert response.status_code == 200
    enabled = EventType.objects.filter(app=app, segmentation_enabled=True)
    assert sorted(enabled.values_list("name", flat=True)) == ["cart_viewed", "logged_in"]
    assert all(t.segmentation_enabled_at for t in enabled)
    assert page_messages(response) == [
        "Could not enable purchase_completed: at most 2 event types may be enabled for "
        "segmentation; 2 already are: disable one first.",
        "Enabled 2 event type(s) for segmentation.",
    ]


def test_disabling_frees_room_under_the_cap(staff_client, app, settings):
    settings.SEGMENTATION_MAX_EVENTS = 1
    action(staff_client, "enable_segmentation", types(app, "logged_in"))
    response = action(staff_client, "disable_segmentation", types(app, "logged_in"))
    assert page_messages(response) == ["Disabled 1 event type(s) for segmentation."]
    action(staff_client, "enable_segmentation", types(app, "purchase_completed"))
    enabled = EventType.objects.filter(app=app, segmentation_enabled=True)
    assert list(enabled.values_list("name", flat=True)) == ["purchase_completed"]


def change_form(event_type: EventType, **fields) -> dict:
    return {
        "category": event_type.category,
        "description": event_type.description,
        **fields,
        "attributes-TOTAL_FORMS": "0",
        "attributes-INITIAL_FORMS": "0",
    }


def test_enabling_on_the_change_form_goes_through_the_service(staff_client, app):
    [event_type] = types(app, "purchase_completed")
    url = f"/admin/events/eventtype/{event_type.pk}/change/"
    assert staff_client.get(url).status_code == 200
    data = change_form(event_type, segmentation_enabled="on", description="Paid orders")
    response = staff_client.post(url, data)
    assert response.status_code == 302
    event_type.refresh_from_db()
    assert event_type.segmentation_enabled and event_type.segmentation_enabled_at
    assert event_type.description == "Paid orders"


def test_enabling_past_the_cap_on_the_change_form_shows_the_error(staff_client, app, settings):
    settings.SEGMENTATION_MAX_EVENTS = 1
    action(staff_client, "enable_segmentation", types(app, "logged_in"))
    [event_type] = types(app, "purchase_completed")
    url = f"/admin/events/eventtype/{event_type.pk}/change/"
    data = change_form(event_type, segmentation_enabled="on", description="changed")
    response = staff_client.post(url, data, follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert page_messages(response) == [
        "at most 1 event types may be enabled for segmentation; 1 already are: disable one first"
    ]
    event_type.refresh_from_db()
    assert not event_type.segmentation_enabled
    assert event_type.description != "changed"  # the whole save was rolled back


def test_an_admin_corrects_and_declares_attribute_types_inline(staff_client, app):
    ingest(app, app_user_id="u1", params={"order_id": 1001})
    [event_type] = types(app, "purchase_completed")
    attribute = EventAttribute.objects.get(event_type=event_type, name="order_id")
    assert (attribute.type, attribute.declared) == ("number", False)
    data = change_form(event_type)
    data.update(
        {
            "attributes-TOTAL_FORMS": "2",
            "attributes-INITIAL_FORMS": "1",
            "attributes-0-id": str(attribute.pk),
            "attributes-0-event_type": str(event_type.pk),
            "attributes-0-type": "string",
            "attributes-1-event_type": str(event_type.pk),
            "attributes-1-name": "date_paid",
            "attributes-1-type": "date",
        }
    )
    response = staff_client.post(f"/admin/events/eventtype/{event_type.pk}/change/", data)
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    declared = EventAttribute.objects.filter(event_type=event_type, declared=True)
    assert sorted(declared.values_list("name", "type")) == [
        ("date_paid", "date"),
        ("order_id", "string"),
    ]


def test_the_attribute_admin_declares_through_the_service(staff_client, app):
    [event_type] = types(app, "purchase_completed")
    response = staff_client.post(
        "/admin/events/eventattribute/add/",
        {"event_type": event_type.pk, "name": "coupon", "type": "string"},
    )
    assert response.status_code == 302
    attribute = EventAttribute.objects.get(name="coupon")
    assert attribute.declared
    listing = staff_client.get(f"/admin/events/eventattribute/?app={app.pk}&declared__exact=1")
    assert [a.name for a in listing.context["cl"].result_list] == ["coupon"]
    page = staff_client.get(f"/admin/events/eventattribute/{attribute.pk}/change/")
    assert page.status_code == 200


def test_the_event_list_shows_events_and_filters_by_event_name(staff_client, app, other_app):
    ingest(app, app_user_id="u1", params={"amount": 49.99, "currency": "USD"})
    ingest(app, name="logged_in", app_user_id="u1")
    ingest(other_app, app_user_id="u9")
    response = staff_client.get(f"/admin/events/event/?app={app.pk}&event=purchase_completed")
    assert response.status_code == 200
    [event] = response.context["cl"].result_list
    assert event.contact.external_id == "u1"
    assert '<span class="param-name">currency</span> USD' in response.content.decode()
    everything = staff_client.get("/admin/events/event/")
    assert len(everything.context["cl"].result_list) == 5  # with @APP_OPEN per contact
    page = staff_client.get(f"/admin/events/event/{event.pk}/change/")
    assert page.status_code == 200 and "49.99" in page.content.decode()


def test_the_event_list_drills_down_by_date_and_is_read_only(staff_client, app):
    ingest(app, app_user_id="u1", event_time="2025-12-31T23:00:00Z")
    ingest(app, app_user_id="u1", event_time="2026-01-05T12:00:00Z")
    years = staff_client.get("/admin/events/event/").content.decode()
    assert "?occurred_at__year=2025" in years and "?occurred_at__year=2026" in years
    days = staff_client.get("/admin/events/event/?occurred_at__year=2026&occurred_at__month=1")
    assert "occurred_at__day=5" in days.content.decode()
    response = staff_client.get(
        "/admin/events/event/?occurred_at__year=2026&event=purchase_completed"
    )
    assert response.status_code == 200
    assert [e.occurred_at.year for e in response.context["cl"].result_list] == [2026]
    assert staff_client.get("/admin/events/event/add/").status_code == 403
    event = Event.objects.first()
    assert staff_client.get(f"/admin/events/event/{event.pk}/delete/").status_code == 403


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize("kind", ["year", "month", "day"])
def test_the_date_hierarchy_probes_find_the_periods_django_would_list(app, zone, kind):
    times = ["2025-12-31T23:30:00Z", "2026-01-01T03:00:00Z", "2026-01-15T12:00:00Z"]
    times += ["2026-03-02T00:30:00Z", "2026-03-08T07:30:00Z", "2026-11-01T05:30:00Z"]
    for i, moment in enumerate(times):
        ingest(app, app_user_id=f"u{i}", event_time=moment)
    with timezone.override(zone):
        for filters in [{}, {"occurred_at__gte": "2026-01-01T06:00:00Z"}]:
            django = list(Event.objects.filter(**filters).datetimes("occurred_at", kind))
            probed = ProbedDatesQuerySet(Event).filter(**filters).datetimes("occurred_at", kind)
            assert probed == django


def test_the_event_list_counts_at_most_the_cap(staff_client, app, monkeypatch):
    from common.admin import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "count_cap", 3)
    for i in range(3):
        ingest(app, app_user_id=f"u{i}")
    response = staff_client.get("/admin/events/event/")
    assert response.status_code == 200
    assert "more than 3 events" in response.content.decode()


def test_the_statistics_list_is_read_only(staff_client, app):
    ingest(app, app_user_id="u1")
    response = staff_client.get(f"/admin/events/contacteventstats/?app={app.pk}")
    assert response.status_code == 200
    assert {s.event_type.name for s in response.context["cl"].result_list} == {
        "purchase_completed",
        "@APP_OPEN",
    }
    stats = ContactEventStats.objects.first()
    page = staff_client.get(f"/admin/events/contacteventstats/{stats.pk}/change/")
    assert page.status_code == 200
    assert staff_client.get("/admin/events/contacteventstats/add/").status_code == 403


def test_deleting_a_contact_summarises_and_removes_its_history(staff_client, app):
    result = ingest(app, app_user_id="u1", device_token="t", platform="web")
    url = f"/admin/contacts/contact/{result.contact_id}/delete/"
    confirm = staff_client.get(url)
    assert confirm.status_code == 200
    assert dict(confirm.context["model_count"])["events"] == 2
    response = staff_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Contact.objects.exists() and not Event.objects.exists()
    assert not ContactEventStats.objects.exists()


def test_event_types_cannot_be_deleted_from_the_admin(staff_client, app):
    [event_type] = types(app, "purchase_completed")
    url = f"/admin/events/eventtype/{event_type.pk}/delete/"
    assert staff_client.get(url).status_code == 403
