"""Insights in a real browser: a marketer adds a chart from the dashboard, fills the form, and
finds it drawn on the dashboard (test-artifacts/dashboard-insights.png) and previewed on its
edit page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.models import Insight
from tests.campaigns.factories import track

pytestmark = pytest.mark.django_db(transaction=True)

SHOPS = {"north": 12.5, "south": 40, "east": 7, "west": 3}


@pytest.fixture
def orders(app):
    """A week of orders from four shops, a few a day."""
    now = timezone.now()
    for day in range(7):
        for n, (shop, amount) in enumerate(SHOPS.items()):
            for k in range(n + 1):
                at = now - timedelta(days=day, hours=1 + k, minutes=n)
                track(app, f"user{k}", "order", at=at, shop=shop, amount=amount + day)
    return app


def test_a_marketer_adds_a_chart_and_sees_it_on_the_dashboard(
    page, live_server, signed_in, orders, screenshot
):
    signed_in("Marketer", orders)
    page.click("#dashboard-insights .insight-add")
    page.wait_for_selector("#insight_form")
    page.fill("#id_name", "Revenue by shop")
    page.select_option("#id_event_type", label="order (Shop)")
    page.select_option("#id_measure", "sum")
    page.fill("#id_param", "amount")
    page.fill("#id_split_param", "shop")
    page.fill("#id_top_n", "2")
    page.select_option("#id_period", "7d")
    page.select_option("#id_granularity", "day")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")

    insight = Insight.objects.get()
    page.goto(f"{live_server.url}/admin/")
    chart = f"#insight-chart-{insight.pk}"
    page.wait_for_selector(f"{chart}[data-rendered=true]")
    labels = page.evaluate(
        f"() => beaconInsightCharts['{chart[1:]}'].data.datasets.map((d) => d.label)"
    )
    assert labels == ["south", "east", "other"]  # by sum: 40 a order x3, 7 x4; then the rest
    card = page.locator(f"#insight-{insight.pk}")
    assert "Revenue by shop" in card.inner_text()
    assert "split by shop (top 2)" in card.inner_text()
    box = page.locator(chart).bounding_box()
    assert box["width"] > 300 and box["height"] > 150
    card.scroll_into_view_if_needed()
    screenshot("dashboard-insights")

    card.locator(".insight-edit").click()
    page.wait_for_selector(f"#insight-preview {chart}[data-rendered=true]")
    assert page.locator("#id_name").input_value() == "Revenue by shop"
