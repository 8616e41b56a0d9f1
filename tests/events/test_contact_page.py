"""The contact page's events: the timeline by keyset pages, "Send test event" with params typed as
rows, and "Resend"; through the same ingest service as the tracking API, scoped to the user's apps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from campaigns.models import TriggerMark
from contacts.access import SESSION_APP
from contacts.models import Contact
from contacts.typed_rows import RowType, typed_value
from events.models import Event, EventType
from events.selectors import contact_timeline_page
from events.services.event_types import event_attribute_declare
from events.services.ingest import events_ingest
from events.services.test_events import contact_event_send, event_resend
from segments.services import segment_create, segment_refresh
from tests.campaigns.factories import active_campaign, subscribe

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def history(app, user="ann", count=3, *, name="product_viewed", same_time=False) -> Contact:
    """`count` events a minute apart (or all at START), oldest first, params {"n": i}."""
    payloads = [
        {
            "event_name": name,
            "app_user_id": user,
            "event_time": (START if same_time else START + timedelta(minutes=i)).isoformat(),
            "params": {"n": i},
        }
        for i in range(count)
    ]
    results = events_ingest(app=app, payloads=payloads)
    assert all(result.errors is None for result in results)
    return Contact.objects.get(app=app, external_id=user)


def page_url(contact: Contact, suffix: str = "change/") -> str:
    return f"/admin/contacts/contact/{contact.pk}/{suffix}"


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def param_rows(**rows) -> dict:
    """The test event form's POST data: `name=(type, value)` param rows."""
    data = {"param-TOTAL_FORMS": str(len(rows)), "param-INITIAL_FORMS": "0"}
    for n, (param, (type_, value)) in enumerate(rows.items()):
        data.update({f"param-{n}-name": param, f"param-{n}-type": type_, f"param-{n}-value": value})
    return data


def section(response, section_id: str) -> dict:
    [found] = [s for s in response.context["contact_sections"] if s["id"] == section_id]
    return found


def newest(contact: Contact) -> Event:
    return Event.objects.filter(contact=contact).order_by("-occurred_at", "-id").first()


# Services ---------------------------------------------------------------------------------------
def test_a_test_event_is_recorded_for_the_contact_as_sent_from_the_ui(app):
    ann = history(app)
    result = contact_event_send(
        contact=ann,
        payload={"event_name": "coupon_applied", "params": {"code": "X"}, "app_user_id": "bob"},
        source="ui",
    )
    assert result.errors is None and result.contact_id == ann.pk
    event = newest(ann)
    assert (event.event_type.name, event.params, event.context) == (
        "coupon_applied",
        {"code": "X"},
        {"source": "ui"},
    )
    assert not Contact.objects.filter(external_id="bob").exists()
    # Not the contact's own activity: no session opened, last seen unchanged.
    assert not Event.objects.filter(contact=ann, event_type__name="@APP_OPEN", pk__gt=event.pk - 1)
    assert Contact.objects.get(pk=ann.pk).last_seen_at == ann.last_seen_at


def test_resend_records_exactly_one_new_event_with_the_same_name_and_params_now(app):
    ann = history(app, count=1)
    first = Event.objects.get(contact=ann, event_type__name="product_viewed")
    before = Event.objects.count()
    result = event_resend(event=first, source="ui")
    assert result.errors is None and result.duplicate is False
    assert Event.objects.count() == before + 1
    again = Event.objects.get(fingerprint=result.fingerprint)
    assert again.pk != first.pk and again.contact_id == ann.pk
    assert (again.event_type_id, again.params) == (first.event_type_id, first.params)
    assert again.occurred_at > first.occurred_at + timedelta(days=1)  # now, not then


def test_a_resent_event_is_matched_by_campaign_triggers_again(app):
    active_campaign(app, trigger_event="purchase_completed")
    ann = history(app, count=1, name="purchase_completed")
    first = Event.objects.get(contact=ann, event_type__name="purchase_completed")
    result = event_resend(event=first, source="ui")
    again = Event.objects.get(fingerprint=result.fingerprint)
    assert TriggerMark.objects.filter(event_id=again.pk, contact_id=ann.pk).exists()


def test_a_built_in_event_cannot_be_resent(app):
    ann = history(app, count=1)
    app_open = Event.objects.get(contact=ann, event_type__name="@APP_OPEN")
    before = Event.objects.count()
    result = event_resend(event=app_open, source="ui")
    assert "event_name" in result.errors and Event.objects.count() == before


# The timeline: keyset pages -----------------------------------------------------------------------
def walk(contact, size, **filters) -> list[list[int]]:
    pages, cursor = [], ""
    while True:
        page = contact_timeline_page(contact=contact, before=cursor, size=size, **filters)
        pages.append([event.pk for event in page.events])
        if page.older is None:
            return pages
        cursor = page.older


@pytest.mark.parametrize("same_time", [False, True])
def test_timeline_pages_walk_the_whole_history_newest_first(app, same_time):
    ann = history(app, count=12, same_time=same_time)
    expected = list(
        Event.objects.filter(contact=ann)
        .order_by("-occurred_at", "-id")
        .values_list("pk", flat=True)
    )
    pages = walk(ann, 5)
    assert [len(page) for page in pages] == [5, 5, 3]  # 12 events and the @APP_OPEN
    assert sum(pages, []) == expected


def test_newer_goes_back_to_the_page_before(app):
    ann = history(app, count=12)
    first = contact_timeline_page(contact=ann, size=5)
    second = contact_timeline_page(contact=ann, before=first.older, size=5)
    back = contact_timeline_page(contact=ann, after=second.newer, size=5)
    assert [e.pk for e in back.events] == [e.pk for e in first.events]
    assert first.newer is None and back.newer is None and back.older == first.older


def test_timeline_filters_by_event_name(app):
    ann = history(app, count=4)
    history(app, count=2, name="coupon_applied")
    page = contact_timeline_page(contact=ann, event_name="coupon_applied", size=25)
    assert [e.event_type.name for e in page.events] == ["coupon_applied", "coupon_applied"]
    assert contact_timeline_page(contact=ann, event_name="never_sent", size=25).events == []


@pytest.mark.parametrize("cursor", ["junk", "12.x", "99999999999999999999999.1", ""])
def test_an_unreadable_cursor_reads_as_the_newest_page(app, cursor):
    ann = history(app, count=3)
    page = contact_timeline_page(contact=ann, before=cursor, after=cursor, size=2)
    assert [e.pk for e in page.events] == [newest(ann).pk, newest(ann).pk - 1]


def test_a_timeline_page_reads_one_row_more_than_it_shows_whatever_the_history(app):
    ann = history(app, count=40)
    first = contact_timeline_page(contact=ann, size=10)
    with CaptureQueriesContext(connection) as queries:
        contact_timeline_page(contact=ann, before=first.older, size=10)
    [query] = queries.captured_queries
    assert "LIMIT 11" in query["sql"]


# The form: params as rows ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "type_", "value"),
    [
        ("39", RowType.AUTO, 39),
        ("19.99", RowType.AUTO, 19.99),
        ("-2e3", RowType.AUTO, -2000.0),
        ("true", RowType.AUTO, True),
        ("False", RowType.AUTO, False),
        ("hello", RowType.AUTO, "hello"),
        ("12345678901234567890", RowType.AUTO, "12345678901234567890"),
        ("9" * 5000, RowType.AUTO, "9" * 5000),
        ("02134", RowType.TEXT, "02134"),
        ("true", RowType.TEXT, "true"),
        (" 7 ", RowType.NUMBER, 7),
        ("yes", RowType.BOOLEAN, True),
        ("0", RowType.BOOLEAN, False),
    ],
)
def test_param_values_are_typed_as_chosen_or_guessed(text, type_, value):
    result = typed_value(text, type_)
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize(
    ("text", "type_"),
    [
        ("abc", RowType.NUMBER),
        ("1e999", RowType.NUMBER),
        ("12345678901234567890", RowType.NUMBER),
        ("maybe", RowType.BOOLEAN),
    ],
)
def test_a_param_value_not_of_its_chosen_type_is_refused(text, type_):
    with pytest.raises(ValidationError):
        typed_value(text, type_)


# The page ---------------------------------------------------------------------------------------
@pytest.fixture
def marketer(role_client, app):
    return role_client("Marketer", app)


def test_the_contact_page_shows_devices_segments_tools_and_the_timeline(marketer, app):
    ann = subscribe(app, "ann")
    history(app, count=2)
    segment_refresh(segment=segment_create(app=app, name="Pushable", conditions={"type": "device"}))
    response = marketer.get(page_url(ann))
    assert response.status_code == 200
    page = response.content.decode()
    assert "https://push.example/ann" in page and "Web" in page  # the device
    segment = ann.segment_memberships.get().segment
    assert f'href="/admin/segments/segment/{segment.pk}/change/">Pushable</a>' in page
    assert 'id="test-event"' in page and 'id="test-push"' in page
    rows = section(response, "timeline")["rows"]
    viewed = [event.params for event, _, _ in rows if event.event_type.name == "product_viewed"]
    assert viewed == [{"n": 1}, {"n": 0}]
    assert '<span class="param-name">n</span> 1' in page


def test_the_event_name_field_suggests_this_apps_events_only(marketer, app, other_app):
    ann = history(app, count=1, name="coupon_applied")
    history(other_app, user="theirs", count=1, name="their_secret_event")
    names = list(section(marketer.get(page_url(ann)), "test-event")["event_names"])
    assert "coupon_applied" in names and "purchase_completed" in names  # seen and catalog
    assert "their_secret_event" not in names and not [n for n in names if n.startswith("@")]


def test_the_timeline_shows_25_events_a_page_with_a_link_to_older_ones(marketer, app):
    ann = history(app, count=30)
    response = marketer.get(page_url(ann))
    timeline = section(response, "timeline")
    assert len(timeline["rows"]) == 25 and timeline["newer_url"] is None
    older = marketer.get(timeline["older_url"].removesuffix("#timeline"))
    rows = section(older, "timeline")["rows"]
    assert [event.params.get("n") for event, _, _ in rows] == [4, 3, 2, 1, 0, None]  # @APP_OPEN


def test_the_timeline_filters_by_event_name_from_its_drop_down(marketer, app):
    ann = history(app, count=3)
    history(app, count=1, name="coupon_applied")
    response = marketer.get(page_url(ann), {"event": "coupon_applied"})
    rows = section(response, "timeline")["rows"]
    assert [event.event_type.name for event, _, _ in rows] == ["coupon_applied"]
    assert '<option value="coupon_applied" selected>' in response.content.decode()


def test_a_marketer_sends_a_test_event_with_typed_params(marketer, app):
    ann = history(app, count=1)
    data = {
        "event_name": "coupon_applied",
        **param_rows(code=("auto", "SPRING"), discount=("auto", "12.5"), zip=("text", "02134")),
    }
    response = marketer.post(page_url(ann, "test-event/"), data, follow=True)
    assert response.redirect_chain == [(page_url(ann) + "#timeline", 302)]
    assert messages_of(response) == ["Test event “coupon_applied” recorded for ann."]
    event = newest(ann)
    assert event.event_type.name == "coupon_applied"
    assert event.params == {"code": "SPRING", "discount": 12.5, "zip": "02134"}
    first_row = section(response, "timeline")["rows"][0]
    assert first_row[0] == event


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("@OPT_IN", "reserved for built-in events"),
        ("a*b", "must not contain *, + or |"),
        ("", "This field is required."),
    ],
)
def test_an_invalid_event_name_is_shown_next_to_the_field(marketer, app, name, reason):
    ann = history(app, count=1)
    before = Event.objects.count()
    response = marketer.post(page_url(ann, "test-event/"), {"event_name": name, **param_rows()})
    assert response.status_code == 200
    form = section(response, "test-event")["form"]
    assert any(reason in error for error in form.errors["event_name"])
    assert reason in response.content.decode().replace("&#x27;", "'")
    assert Event.objects.count() == before


def test_a_value_refused_by_the_declared_attribute_type_is_shown_on_its_row(marketer, app):
    ann = history(app, count=1)
    event_type = EventType.objects.get(app=app, name="purchase_completed")
    event_attribute_declare(event_type=event_type, name="amount", type_="number")
    data = {
        "event_name": "purchase_completed",
        **param_rows(currency=("auto", "EUR"), amount=("text", "a lot")),
    }
    response = marketer.post(page_url(ann, "test-event/"), data)
    assert response.status_code == 200
    assert messages_of(response) == ["Not sent: see the form below."]
    rows = section(response, "test-event")["form"].params.forms
    assert rows[0].errors == {} and list(rows[1].errors) == ["value"]
    assert not Event.objects.filter(contact=ann, event_type=event_type).exists()


def test_a_param_row_marked_remove_is_not_sent(marketer, app):
    ann = history(app, count=1)
    rows = param_rows(code=("auto", "SPRING"), discount=("number", "not checked"))
    rows["param-1-DELETE"] = "on"
    response = marketer.post(page_url(ann, "test-event/"), {"event_name": "coupon_applied", **rows})
    assert response.status_code == 302
    assert newest(ann).params == {"code": "SPRING"}


def test_param_rows_without_a_name_or_with_a_repeated_name_are_refused(marketer, app):
    ann = history(app, count=1)
    rows = param_rows(a=("auto", "1"), b=("auto", "2"))
    rows.update({"param-1-name": "a", "param-TOTAL_FORMS": "3", "param-2-value": "orphan"})
    response = marketer.post(page_url(ann, "test-event/"), {"event_name": "x", **rows})
    params = section(response, "test-event")["form"].params.forms
    assert params[1].errors["name"] == ["this param is already given above"]
    assert params[2].errors["name"] == ["a param needs a name"]
    assert not Event.objects.filter(event_type__name="x").exists()


def test_the_form_keeps_what_was_typed_when_it_shows_errors(marketer, app):
    ann = history(app, count=1)
    data = {"event_name": "coupon_applied", **param_rows(discount=("number", "a lot"))}
    page = marketer.post(page_url(ann, "test-event/"), data).content.decode()
    assert 'value="coupon_applied"' in page and 'value="a lot"' in page
    assert '<option value="number" selected>' in page
    assert "is not a number" in page


def test_resend_on_the_timeline_records_one_new_event_and_comes_back(marketer, app):
    ann = history(app, count=2)
    event = newest(ann)
    before = Event.objects.count()
    back = page_url(ann) + "?event=product_viewed#timeline"
    response = marketer.post(f"/admin/events/event/{event.pk}/resend/", {"next": back}, follow=True)
    assert response.redirect_chain == [(back, 302)]
    assert Event.objects.count() == before + 1
    again = newest(ann)
    assert again.pk != event.pk and again.params == event.params == {"n": 1}
    assert messages_of(response)[0].startswith("Resent “product_viewed” for ann")


def test_resending_a_built_in_event_shows_why_not(marketer, app):
    ann = history(app, count=1)
    app_open = Event.objects.get(contact=ann, event_type__name="@APP_OPEN")
    response = marketer.post(f"/admin/events/event/{app_open.pk}/resend/", follow=True)
    assert response.status_code == 200
    assert "Not resent: event_name: names starting with @ are reserved" in messages_of(response)[0]


def test_resend_goes_back_only_to_this_site(marketer, app):
    ann = history(app, count=1)
    event = newest(ann)
    response = marketer.post(
        f"/admin/events/event/{event.pk}/resend/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == page_url(ann) + "#timeline"


# Methods, CSRF, permissions and other apps ----------------------------------------------------
def test_the_actions_take_posts_only(marketer, app):
    ann = history(app, count=1)
    before = Event.objects.count()
    assert marketer.get(page_url(ann, "test-event/")).status_code == 405
    assert marketer.get(f"/admin/events/event/{newest(ann).pk}/resend/").status_code == 405
    assert Event.objects.count() == before


def test_the_actions_need_the_csrf_token(app):
    ann = history(app, count=1)
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    before = Event.objects.count()
    sent = client.post(page_url(ann, "test-event/"), {"event_name": "x", **param_rows()})
    resent = client.post(f"/admin/events/event/{newest(ann).pk}/resend/")
    assert (sent.status_code, resent.status_code) == (403, 403)
    assert Event.objects.count() == before


def test_staff_who_may_only_view_contacts_see_no_tools_and_cannot_act(app):
    ann = history(app, count=1)
    viewer = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(codename__in=["view_contact", "view_event"])
    )
    app.members.add(viewer)
    client = Client()
    client.force_login(viewer)
    page = client.get(page_url(ann))
    assert page.status_code == 200
    assert 'id="test-event"' not in page.content.decode()
    assert "Resend" not in page.content.decode()
    activity = client.get("/admin/events/event/")
    assert activity.status_code == 200 and "Resend" not in activity.content.decode()
    before = Event.objects.count()
    sent = client.post(page_url(ann, "test-event/"), {"event_name": "x", **param_rows()})
    resent = client.post(f"/admin/events/event/{newest(ann).pk}/resend/")
    assert (sent.status_code, resent.status_code) == (403, 403)
    assert Event.objects.count() == before


def test_another_apps_contact_and_events_cannot_be_seen_or_acted_on(role_client, app, other_app):
    theirs = history(other_app, user="theirs", count=1)
    their_event = newest(theirs)
    client = role_client("Marketer", app)
    before = Event.objects.count()
    page = client.get(page_url(theirs), follow=True)
    assert "theirs" not in page.content.decode().replace(f"{theirs.pk}", "")
    assert client.post(page_url(theirs, "test-event/"), {"event_name": "x"}).status_code == 404
    assert client.post(f"/admin/events/event/{their_event.pk}/resend/").status_code == 404
    assert Event.objects.count() == before


def test_a_contact_of_an_app_not_selected_in_the_header_is_out_of_reach(
    role_client, app, other_app
):
    theirs = history(other_app, user="theirs", count=1)
    client = role_client("Marketer", app, other_app)
    session = client.session
    session[SESSION_APP] = app.pk
    session.save()
    assert client.post(page_url(theirs, "test-event/"), {"event_name": "x"}).status_code == 404
    assert client.post(f"/admin/events/event/{newest(theirs).pk}/resend/").status_code == 404
