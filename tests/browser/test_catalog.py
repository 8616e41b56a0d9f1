"""The event catalog and the mapping rules in a real browser: an admin enables event types for
segmentation from the list, watches the counter move, meets the limit's message; and adds a
custom mapping rule under the built-in identity table. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest

from contacts.models import IdentifierRule
from contacts.services.apps import identifier_rule_create
from events.models import EventType
from events.services.event_types import event_type_set_segmentation
from tests.campaigns.factories import track

pytestmark = pytest.mark.django_db(transaction=True)


def enable_button(page, name: str):
    return page.locator(f'button[aria-label="Enable {name} for segmentation"]')


def counter(page) -> str:
    return page.locator(".segmentation-count").inner_text()


def test_an_admin_enables_event_types_up_to_the_limit(
    page, live_server, signed_in, app, settings, screenshot
):
    for name in ("logged_in", "cart_viewed"):
        event_type_set_segmentation(
            event_type=EventType.objects.get(app=app, name=name), enabled=True
        )
    for n in range(3):
        track(app, f"user-{n}", "purchase_completed", amount=10 * n)
    settings.SEGMENTATION_MAX_EVENTS = 3  # read at each request by the live server's thread
    signed_in("Admin", app)
    page.goto(f"{live_server.url}/admin/events/eventtype/")
    assert counter(page) == "2 / 3"

    enable_button(page, "purchase_completed").click()
    page.wait_for_selector(".messagelist .success")
    assert counter(page) == "3 / 3"
    assert (
        "Enabled purchase_completed for segmentation: 3 / 3 in Shop."
        in page.locator(".messagelist").inner_text()
    )
    row = page.locator(
        "tr", has=page.locator('button[aria-label="Disable purchase_completed for segmentation"]')
    )
    assert row.locator(".segmentation-state").inner_text() == "Enabled"
    assert row.locator("td.field-event_count").inner_text() == "3"
    assert "The limit is reached" in page.locator("#segmentation-usage").inner_text()
    screenshot("event-types")

    enable_button(page, "product_viewed").click()
    page.wait_for_selector(".messagelist .error")
    assert page.locator(".messagelist .error").inner_text() == (
        "Could not enable product_viewed: at most 3 event types may be enabled for "
        "segmentation; 3 already are: disable one first."
    )
    assert counter(page) == "3 / 3"
    assert not EventType.objects.get(app=app, name="product_viewed").segmentation_enabled
    screenshot("event-types-limit")

    page.locator('button[aria-label="Disable logged_in for segmentation"]').click()
    page.wait_for_selector(".messagelist .success")
    assert counter(page) == "2 / 3"


def test_an_admin_adds_a_mapping_rule_under_the_default_table(
    page, live_server, signed_in, app, screenshot
):
    identifier_rule_create(app=app, param="loyalty_card", field="custom", custom_field="card")
    signed_in("Admin", app)
    page.goto(f"{live_server.url}/admin/contacts/identifierrule/")
    defaults = page.locator("#identity-defaults").inner_text()
    assert "EmailAddress" in defaults and "anonymous_id" in defaults

    page.click(".object-tools a.addlink")
    page.select_option("#id_app", str(app.pk))
    page.fill("#id_param", "Email")
    page.select_option("#id_field", "email")
    page.click("input[name=_save]")
    page.wait_for_selector("p.errornote")
    error = page.locator(".field-param .errorlist").inner_text()
    assert error == "'Email' is a default identifier; choose another name"

    page.fill("#id_param", "email_client")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    rows = page.locator("#result_list tbody").inner_text()
    assert "email_client" in rows and "loyalty_card" in rows
    assert IdentifierRule.objects.filter(app=app, param="email_client", is_default=False).exists()
    screenshot("mapping-rules")
