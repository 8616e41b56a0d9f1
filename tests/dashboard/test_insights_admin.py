"""The insights admin: a marketer adds a chart through the form (checked by the services), sees
its preview on the edit page and the chart on the dashboard; only an Admin deletes one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.models import Insight
from dashboard.services import insight_create
from events.models import EventType
from tests.campaigns.factories import track

ADD = "/admin/dashboard/insight/add/"


@pytest.fixture
def orders(app):
    now = timezone.now()
    for n, amount in enumerate([12, 30]):
        track(app, "ann", "order", at=now - timedelta(hours=n + 1), amount=amount, shop="north")
    return EventType.objects.get(app=app, name="order")


def form(app, event_type, **fields) -> dict:
    return {
        "app": app.pk,
        "name": "Revenue",
        "event_type": event_type.pk,
        "measure": "sum",
        "param": "amount",
        "split_param": "",
        "top_n": 5,
        "segment": "",
        "period": "7d",
        "date_from": "",
        "date_to": "",
        "granularity": "day",
        "on_dashboard": "on",
        **fields,
    }


def test_a_marketer_adds_a_chart_and_sees_it_on_the_dashboard(role_client, app, orders):
    client = role_client("Marketer", app)
    assert client.get(ADD).status_code == 200
    response = client.post(ADD, form(app, orders))
    assert response.status_code == 302, response.content.decode()
    insight = Insight.objects.get()
    assert (insight.app, insight.measure, insight.param) == (app, "sum", "amount")
    assert insight.position == 0  # the first: last of none
    page = client.get("/admin/").content.decode()
    assert f'id="insight-chart-{insight.pk}"' in page
    assert f'href="/admin/dashboard/insight/{insight.pk}/change/"' in page
    assert ">42<" in page  # 12 + 30, the week's figure
    assert "Sum of amount (order) · last 7 days · by day (UTC)" in page


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"param": "shop"}, "“shop” is not a number attribute of order"),
        ({"measure": "count"}, "only for sum, average, min and max"),
        ({"split_param": "amount"}, "“amount” is not a string attribute of order"),
        ({"period": "range"}, "is required for a from – to range"),
    ],
)
def test_a_wrong_chart_is_shown_on_the_form_and_not_saved(role_client, app, orders, fields, reason):
    response = role_client("Marketer", app).post(ADD, form(app, orders, **fields))
    assert response.status_code == 200
    assert reason in response.content.decode()
    assert not Insight.objects.exists()


def test_the_edit_page_previews_the_chart_and_saves_through_the_service(role_client, app, orders):
    insight = insight_create(app=app, name="Orders", event_type=orders)
    client = role_client("Marketer", app)
    url = f"/admin/dashboard/insight/{insight.pk}/change/"
    page = client.get(url).content.decode()
    assert 'id="insight-preview"' in page and f'id="insight-data-{insight.pk}"' in page
    assert "dashboard/insights.js" in page
    data = form(app, orders, measure="max", on_dashboard="", position=3)
    del data["app"]  # read-only once created
    assert client.post(url, data).status_code == 302
    insight.refresh_from_db()
    assert (insight.measure, insight.on_dashboard, insight.position) == ("max", False, 3)
    assert f'id="insight-{insight.pk}"' not in client.get("/admin/").content.decode()


def test_only_an_admin_deletes_a_chart(role_client, app, orders):
    insight = insight_create(app=app, name="Orders", event_type=orders)
    url = f"/admin/dashboard/insight/{insight.pk}/delete/"
    assert role_client("Marketer", app).get(url).status_code == 403
    admin = role_client("Admin", app)
    assert admin.post(url, {"post": "yes"}).status_code == 302
    assert not Insight.objects.exists()


def test_the_dashboard_orders_charts_by_position_and_shows_no_other_apps(
    role_client, app, other_app, orders
):
    insight_create(app=app, name="Second chart", event_type=orders, position=2)
    insight_create(app=app, name="First chart", event_type=orders, position=1)
    track(other_app, "eve", "order", at=timezone.now() - timedelta(hours=1))
    theirs = EventType.objects.get(app=other_app, name="order")
    insight_create(app=other_app, name="Their chart", event_type=theirs)
    page = role_client("Marketer", app).get("/admin/").content.decode()
    assert page.index("First chart") < page.index("Second chart")
    assert "Their chart" not in page
    assert (
        role_client("Marketer", other_app, username="eve")
        .get(f"/admin/dashboard/insight/{Insight.objects.get(name='First chart').pk}/change/")
        .status_code
        == 302
    )  # Django's answer to another app's object: back to the list
