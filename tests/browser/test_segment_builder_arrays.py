"""The segment builder on an array param (string_tags: ["sale", "new"]): a marketer picks the
param, is offered the array operators, picks contains and then contains any of, and the live
count follows."""

from __future__ import annotations

import json

import pytest

from events.models import EventType
from events.services.event_types import event_type_set_segmentation
from tests.campaigns.factories import track

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tagged_shop(app):
    """ann bought [sale, new], bob [new], cid "sale" (stored as [sale]), dan without tags."""
    track(app, "ann", "purchase_completed", string_tags=["sale", "new"])
    track(app, "bob", "purchase_completed", string_tags=["new"])
    track(app, "cid", "purchase_completed", string_tags="sale")
    track(app, "dan", "purchase_completed", amount=5)
    purchase = EventType.objects.get(app=app, name="purchase_completed")
    event_type_set_segmentation(event_type=purchase, enabled=True)
    return app


def wait_for_count(page, count: int) -> None:
    page.wait_for_selector(f"#segment-builder-count[data-status=ok][data-count='{count}']")


def test_picking_contains_on_an_array_param(page, live_server, tagged_shop, signed_in, screenshot):
    signed_in("Marketer", tagged_shop)
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    page.wait_for_selector(".sb[data-ready=true]")
    root = page.locator(".sb-root")
    root.locator(":scope > .sb-add .sb-add-condition").select_option("event")
    event = root.locator(".sb-condition[data-node-type=event]")
    event.locator(".sb-add-filter").click()
    row = event.locator(".sb-filter")
    row.locator(".sb-param").select_option("string_tags")
    assert "string_tags (string[])" in row.locator(".sb-param").inner_text()
    operators = row.locator(".sb-op option").all_inner_texts()
    assert operators == [
        "contains",
        "does not contain",
        "contains any of",
        "contains none of",
        "is set",
        "is not set",
    ]

    row.locator(".sb-op").select_option("contains")
    row.locator(".sb-value").fill("sale")
    wait_for_count(page, 2)  # ann and cid
    tree = json.loads(page.input_value("#id_conditions"))
    assert tree["conditions"][0]["where"] == [
        {"param": "string_tags", "op": "contains", "value": "sale"}
    ]
    screenshot("segment-builder-array-contains")

    row.locator(".sb-op").select_option("contains_any")
    row.locator(".sb-list").fill("new, sale")
    wait_for_count(page, 3)  # ann, bob and cid
    tree = json.loads(page.input_value("#id_conditions"))
    assert tree["conditions"][0]["where"] == [
        {"param": "string_tags", "op": "contains_any", "value": ["new", "sale"]}
    ]
