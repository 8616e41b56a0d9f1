"""The dashboard in a real browser: a marketer signs in, sees the figures and the hourly chart
drawn, switches to another of their apps; screenshots are kept in test-artifacts/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from campaigns.models import Delivery
from campaigns.services.triggers import trigger_marks_process
from contacts.services.apps import app_create
from contacts.services.roles import MARKETER, roles_install
from events.models import EventType
from events.services.event_types import event_type_set_segmentation
from segments.services import segment_create, segment_refresh
from tests.browser.conftest import log_in
from tests.campaigns.factories import active_campaign, subscribe, track

pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = {"product_viewed": 9, "cart_updated": 4, "purchase_completed": 2, "search": 3}


def fill(app, users: list[str]) -> None:
    """A day of events of a few types, contacts with devices, segments and a sent campaign."""
    now = timezone.now()
    active_campaign(app, name=f"{app.name}: thanks for your order")
    for n, user in enumerate(users):
        subscribe(app, user, granted=n % 3 != 0)
    for name, per_hour in EVENTS.items():
        for hours_ago in range(0, 24, 2):
            for k in range((per_hour * (hours_ago % 5 + 1)) // 3):
                user = users[(hours_ago + k) % len(users)]
                track(app, user, name, at=now - timedelta(hours=hours_ago, minutes=k), k=k)
    trigger_marks_process()
    Delivery.objects.filter(app=app).update(status=Delivery.Status.SENT, sent_at=now)
    opened = Delivery.objects.filter(app=app).order_by("pk")[:2].values("pk")
    Delivery.objects.filter(pk__in=opened).update(opened_at=now)
    buyers = EventType.objects.get(app=app, name="purchase_completed")
    event_type_set_segmentation(event_type=buyers, enabled=True)
    for name, conditions in [
        ("Buyers", {"type": "event", "event": "purchase_completed", "performed": True}),
        ("Everyone with a device", {"type": "device"}),
    ]:
        segment_refresh(segment=segment_create(app=app, name=name, conditions=conditions))


@pytest.fixture
def marketer(app):
    """A marketer of two apps ("Shop" and "Second shop"), each with its own data."""
    second = app_create(name="Second shop", tenant_id="second")
    fill(app, [f"shop-{n}" for n in range(6)])
    fill(second, [f"second-{n}" for n in range(3)])
    user = get_user_model().objects.create_user("mia", password="pw-mia-123", is_staff=True)
    user.groups.add(roles_install()[MARKETER])
    app.members.add(user)
    second.members.add(user)
    return user, app, second


def wait_for_chart(page) -> None:
    page.wait_for_selector("#events-chart[data-rendered=true]")


def test_a_marketer_sees_the_dashboard_chart_and_switches_app(
    page, live_server, marketer, screenshot
):
    user, app, second = marketer
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, live_server, "mia", "pw-mia-123")
    wait_for_chart(page)
    assert page.locator("#dashboard-title").inner_text() == "All your apps"
    stacks = page.evaluate("() => beaconEventsChart.data.datasets.map((d) => d.label)")
    assert "product_viewed" in stacks and len(stacks) <= 6
    screenshot("dashboard-all-apps")

    page.select_option("#app-select-app", label="Shop")
    page.wait_for_selector("#dashboard-title:text-is('Shop')")
    wait_for_chart(page)
    campaigns = page.locator("#recent-campaigns tbody").inner_text()
    assert "Shop: thanks for your order" in campaigns and "Second shop" not in campaigns
    box = page.locator("#events-chart").bounding_box()
    assert box["width"] > 500 and box["height"] > 200
    screenshot("dashboard")

    page.select_option("#app-select-app", label="Second shop")
    page.wait_for_selector("#dashboard-title:text-is('Second shop')")
    wait_for_chart(page)
    campaigns = page.locator("#recent-campaigns tbody").inner_text()
    assert "Second shop: thanks for your order" in campaigns and "Shop: thanks" not in campaigns
    page.click("#recent-campaigns a")  # a page of the chosen app, in the same admin
    page.wait_for_selector("#content h1")
    assert page.locator("#app-select-app option[selected]").inner_text() == "Second shop"
    screenshot("dashboard-campaign-page")


def test_the_dashboard_of_an_app_without_data_draws_an_empty_chart(page, live_server, app):
    get_user_model().objects.create_user("new", password="pw-new-123", is_staff=True)
    get_user_model().objects.get(username="new").groups.add(roles_install()[MARKETER])
    app.members.add(get_user_model().objects.get(username="new"))
    log_in(page, live_server, "new", "pw-new-123")
    wait_for_chart(page)
    assert "No events in the last 24 hours." in page.locator("#events-per-type").inner_text()
    assert "No campaigns yet." in page.locator("#recent-campaigns").inner_text()
