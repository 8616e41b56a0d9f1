"""The contact page and the Activity page in a real browser: a marketer changes the contact's
custom fields through rows of name, type and value; sends a test event with params typed into the
form, sees it on the timeline, resends it and sees it twice, then finds both on the Activity page;
screenshots are kept in test-artifacts/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.services.contacts import contact_update
from events.models import Event
from segments.services import segment_create, segment_refresh
from tests.campaigns.factories import subscribe, track

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ann(app):
    """A shopper with a web push device, a few days of events and a segment to be in."""
    contact = subscribe(app, "ann")
    now = timezone.now()
    for hours_ago, name, params in [
        (50, "product_viewed", {"product_id": "SKU-1", "price": 19.99}),
        (49, "cart_updated", {"items": 1, "cart_total": 19.99}),
        (26, "product_viewed", {"product_id": "SKU-7", "price": 5}),
        (2, "purchase_completed", {"order_id": "A-100", "amount": 24.99, "currency": "EUR"}),
    ]:
        track(app, "ann", name, at=now - timedelta(hours=hours_ago), **params)
    segment_refresh(segment=segment_create(app=app, name="Web push", conditions={"type": "device"}))
    return contact


def timeline_names(page) -> list[str]:
    return page.locator("#timeline .timeline-event .event-name").all_inner_texts()


def test_a_marketer_sends_a_test_event_then_resends_it(
    page, live_server, signed_in, screenshot, app, ann
):
    signed_in("Marketer", app)
    page.goto(f"{live_server.url}/admin/contacts/contact/{ann.pk}/change/")
    assert page.locator("#segments").get_by_role("link", name="Web push").is_visible()

    form = page.locator("#test-event")
    form.get_by_label("Event name").fill("coupon_applied")
    names, types, values = (
        form.get_by_label(label) for label in ("Param name", "Param type", "Param value")
    )
    names.nth(0).fill("code")
    values.nth(0).fill("SPRING")
    names.nth(1).fill("discount")
    values.nth(1).fill("12.5")
    names.nth(2).fill("zip")
    types.nth(2).select_option("text")
    values.nth(2).fill("02134")
    form.get_by_role("button", name="Add a param").click()
    names.nth(3).fill("first_order")
    types.nth(3).select_option("boolean")
    values.nth(3).fill("yes")
    form.get_by_role("button", name="Send test event").click()

    page.wait_for_selector(".messagelist .success")
    assert timeline_names(page)[0] == "coupon_applied"
    newest = page.locator("#timeline .timeline-event").first
    assert "SPRING" in newest.inner_text() and "12.5" in newest.inner_text()
    [sent] = Event.objects.filter(event_type__name="coupon_applied")
    assert sent.params == {"code": "SPRING", "discount": 12.5, "zip": "02134", "first_order": True}
    assert sent.contact_id == ann.pk and sent.context == {"source": "ui"}
    screenshot("contact-page")

    newest.get_by_role("button", name="Resend").click()
    page.wait_for_selector(".messagelist .success")
    assert "Resent “coupon_applied”" in page.locator(".messagelist").inner_text()
    assert timeline_names(page)[:2] == ["coupon_applied", "coupon_applied"]
    assert Event.objects.filter(event_type__name="coupon_applied").count() == 2

    page.get_by_role("link", name="This contact on the Activity page").click()
    page.wait_for_selector("#result_list")
    assert page.title().startswith("Activity")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == Event.objects.filter(contact=ann).count()
    assert "coupon_applied" in rows.first.inner_text()
    screenshot("activity")
    rows.first.get_by_role("link", name="ann").click()
    page.wait_for_selector("#timeline")
    assert page.url.endswith(f"/admin/contacts/contact/{ann.pk}/change/")


def test_a_bad_param_value_is_shown_on_its_row_and_nothing_is_sent(
    page, live_server, signed_in, screenshot, app, ann
):
    signed_in("Marketer", app)
    page.goto(f"{live_server.url}/admin/contacts/contact/{ann.pk}/change/")
    form = page.locator("#test-event")
    form.get_by_label("Event name").fill("coupon_applied")
    form.get_by_label("Param name").nth(0).fill("discount")
    form.get_by_label("Param type").nth(0).select_option("number")
    form.get_by_label("Param value").nth(0).fill("a lot")
    form.get_by_role("button", name="Send test event").click()

    error = page.locator("#test-event .errorlist")
    assert "is not a number" in error.inner_text()
    assert form.get_by_label("Param value").nth(0).input_value() == "a lot"  # kept to correct
    assert not Event.objects.filter(event_type__name="coupon_applied").exists()
    page.locator("#test-event").scroll_into_view_if_needed()
    screenshot("contact-page-test-event-error")


def test_a_marketer_changes_custom_fields_through_the_rows(
    page, live_server, signed_in, screenshot, app, ann
):
    fields = {"first_name": "Ann", "plan": "free", "tags": ["new", "eu"]}
    contact_update(contact=ann, data={"custom_fields": fields})
    signed_in("Marketer", app)
    page.goto(f"{live_server.url}/admin/contacts/contact/{ann.pk}/change/")
    rows = page.locator(".field-custom_fields .typed-row")
    first_name, plan, tags, blank = (rows.nth(n) for n in range(4))  # by name
    assert first_name.get_by_label("Field name").input_value() == "first_name"
    assert tags.get_by_label("Field value").input_value() == '["new", "eu"]'
    assert tags.get_by_label("Field value").get_attribute("readonly") is not None
    assert tags.get_by_text("Kept as it is").is_visible()

    first_name.get_by_label("Field value").fill("Annie")
    plan.get_by_text("Remove").click()
    assert not plan.is_visible()
    blank.get_by_label("Field name").fill("points")
    blank.get_by_label("Field type").select_option("number")
    blank.get_by_label("Field value").fill("120")
    page.get_by_role("button", name="Add a field").click()
    added = rows.last
    added.get_by_label("Field name").fill("renewal")
    added.get_by_label("Field type").select_option("date")
    added.get_by_label("Field value").fill("2026-12-01")
    page.locator(".field-custom_fields").scroll_into_view_if_needed()
    screenshot("contact-profile")
    page.get_by_role("button", name="Save and continue editing").click()

    page.wait_for_selector(".messagelist .success")
    ann.refresh_from_db()
    assert ann.custom_fields == {
        "first_name": "Annie",
        "tags": ["new", "eu"],
        "points": 120,
        "renewal": "2026-12-01",
    }
    shown = [rows.nth(n).get_by_label("Field name").input_value() for n in range(4)]
    assert shown == ["first_name", "points", "renewal", "tags"]  # by name
    assert rows.nth(2).get_by_label("Field type").input_value() == "date"


def test_a_bad_custom_field_value_is_shown_on_its_row_and_nothing_is_saved(
    page, live_server, signed_in, screenshot, app, ann
):
    signed_in("Marketer", app)
    page.goto(f"{live_server.url}/admin/contacts/contact/{ann.pk}/change/")
    row = page.locator(".field-custom_fields .typed-row").first
    row.get_by_label("Field name").fill("points")
    row.get_by_label("Field type").select_option("number")
    row.get_by_label("Field value").fill("lots")
    page.get_by_role("button", name="Save and continue editing").click()

    page.wait_for_selector(".errornote")
    row = page.locator(".field-custom_fields .typed-row").first
    assert "is not a number" in row.locator(".errorlist").inner_text()
    assert row.get_by_label("Field value").input_value() == "lots"
    page.locator(".field-custom_fields").scroll_into_view_if_needed()
    screenshot("contact-profile-error")
    ann.refresh_from_db()
    assert ann.custom_fields == {}
