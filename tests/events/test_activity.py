"""The Activity page (the event changelist): the latest events of the user's apps, newest first,
filterable by event, contact and time, each linking to its contact, with Resend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.access import SESSION_APP
from contacts.models import Contact
from events.models import Event
from events.services.ingest import events_ingest

ACTIVITY = "/admin/events/event/"


def track(app, user: str, name: str, *, hours_ago: float = 0, **params) -> Event:
    at = timezone.now() - timedelta(hours=hours_ago)
    payload = {"event_name": name, "app_user_id": user, "event_time": at.isoformat()}
    [result] = events_ingest(app=app, payloads=[{**payload, "params": params}])
    assert result.errors is None, result.errors
    return Event.objects.get(app=app, fingerprint=result.fingerprint)


def listed(response) -> list[tuple[str, str]]:
    return [(e.event_type.name, e.contact.external_id) for e in response.context["cl"].result_list]


@pytest.fixture
def marketer(role_client, app):
    return role_client("Marketer", app)


@pytest.fixture
def shop(app):
    """Three events of two contacts, an hour, a day and a week old (and their @APP_OPENs)."""
    track(app, "ann", "purchase_completed", hours_ago=1.5, amount=49.99)
    track(app, "bob", "product_viewed", hours_ago=30, product_id="SKU-1")
    track(app, "ann", "product_viewed", hours_ago=24 * 8, product_id="SKU-2")
    Contact.objects.filter(external_id="bob").update(email="bob@example.com")
    return app


def test_activity_lists_the_latest_events_with_links_to_their_contacts(marketer, shop):
    response = marketer.get(ACTIVITY)
    assert response.status_code == 200
    assert response.context["title"] == "Activity"
    custom = [row for row in listed(response) if not row[0].startswith("@")]
    assert custom == [
        ("purchase_completed", "ann"),
        ("product_viewed", "bob"),
        ("product_viewed", "ann"),
    ]
    page = response.content.decode()
    ann = Contact.objects.get(external_id="ann")
    assert f'<a href="/admin/contacts/contact/{ann.pk}/change/">ann</a>' in page
    assert '<span class="param-name">amount</span> 49.99' in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("event=product_viewed", [("product_viewed", "bob"), ("product_viewed", "ann")]),
        ("within=24h&event=purchase_completed", [("purchase_completed", "ann")]),
        ("within=7d&event=product_viewed", [("product_viewed", "bob")]),
        ("q=bob@example.com&event=product_viewed", [("product_viewed", "bob")]),
        ("q=ann&event=product_viewed", [("product_viewed", "ann")]),
    ],
)
def test_activity_filters_by_event_time_and_contact(marketer, shop, query, expected):
    response = marketer.get(f"{ACTIVITY}?{query}")
    assert response.status_code == 200
    assert listed(response) == expected


def test_activity_of_one_contact_names_it_in_the_filter(marketer, shop):
    bob = Contact.objects.get(external_id="bob")
    response = marketer.get(f"{ACTIVITY}?contact={bob.pk}")
    assert {row[1] for row in listed(response)} == {"bob"}
    choices = [spec for spec in response.context["cl"].filter_specs if spec.title == "contact"]
    assert choices[0].lookup_choices == [(str(bob.pk), "bob")]


def test_the_event_filter_offers_only_events_that_happened(marketer, shop):
    response = marketer.get(ACTIVITY)
    [names] = [spec for spec in response.context["cl"].filter_specs if spec.title == "event"]
    assert [name for name, _ in names.lookup_choices] == [
        "@APP_OPEN",
        "product_viewed",
        "purchase_completed",
    ]


def test_activity_shows_no_other_apps_events_or_contacts(marketer, shop, other_app):
    theirs = track(other_app, "theirs", "their_secret_event")
    everything = marketer.get(ACTIVITY)
    assert "theirs" not in {row[1] for row in listed(everything)}
    assert "their_secret_event" not in everything.content.decode()
    by_id = marketer.get(f"{ACTIVITY}?contact={theirs.contact_id}")
    assert listed(by_id) == [] and ">theirs<" not in by_id.content.decode()
    assert listed(marketer.get(f"{ACTIVITY}?q=theirs")) == []
    assert marketer.get(f"{ACTIVITY}{theirs.pk}/change/").status_code == 302  # "doesn't exist"


def test_the_app_chosen_in_the_header_narrows_activity(role_client, shop, other_app):
    track(other_app, "theirs", "their_event")
    client = role_client("Marketer", shop, other_app)
    assert "theirs" in {row[1] for row in listed(client.get(ACTIVITY))}
    session = client.session
    session[SESSION_APP] = shop.pk
    session.save()
    assert "theirs" not in {row[1] for row in listed(client.get(ACTIVITY))}


def test_resend_from_activity_records_one_event_and_returns_to_the_filtered_page(marketer, shop):
    purchase = Event.objects.get(event_type__name="purchase_completed")
    page = marketer.get(f"{ACTIVITY}?event=purchase_completed").content.decode()
    assert f'formaction="/admin/events/event/{purchase.pk}/resend/"' in page
    assert 'name="next" value="/admin/events/event/?event=purchase_completed"' in page
    before = Event.objects.count()
    back = f"{ACTIVITY}?event=purchase_completed"
    response = marketer.post(f"{ACTIVITY}{purchase.pk}/resend/", {"next": back}, follow=True)
    assert response.redirect_chain == [(back, 302)]
    assert Event.objects.count() == before + 1
    assert listed(response) == [("purchase_completed", "ann"), ("purchase_completed", "ann")]


def test_built_in_events_have_no_resend_button(marketer, shop):
    app_open = Event.objects.filter(event_type__name="@APP_OPEN").first()
    page = marketer.get(ACTIVITY).content.decode()
    assert f"/admin/events/event/{app_open.pk}/resend/" not in page


def test_activity_runs_the_same_queries_for_any_number_of_rows(marketer, app):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert marketer.get(ACTIVITY).status_code == 200
        return len(captured)

    track(app, "u0", "viewed")
    few = queries()
    for n in range(1, 8):
        track(app, f"u{n}", f"viewed_{n}", k=n)
    assert queries() == few
