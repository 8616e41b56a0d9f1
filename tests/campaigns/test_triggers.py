"""Event-triggered campaigns: matching (filters, age, audience, re-entry), delays, cancel and
keyed cancel, and replays that schedule nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.models import Campaign, Delivery, TriggeringEventType, TriggerMark
from campaigns.services.campaigns import campaign_pause
from campaigns.services.scheduling import Reach, deliveries_schedule
from campaigns.services.triggers import trigger_marks_process
from events.models import EventType
from events.services.event_types import event_type_set_segmentation
from events.services.ingest import events_ingest
from segments.services import segment_create
from tests.campaigns.factories import active_campaign, subscribe, track


def deliveries(**filters):
    return Delivery.objects.filter(**filters).order_by("pk")


def test_a_trigger_event_schedules_one_delivery_per_device_after_the_delay(app):
    ann = subscribe(app, "ann")
    subscribe(app, "ann", endpoint="https://push.example/ann-laptop")
    campaign = active_campaign(app, delay_seconds=900)
    at = datetime.now(UTC) - timedelta(minutes=1)
    track(app, "ann", "purchase_completed", at=at, order_id="A1", amount=49.99)

    batch = trigger_marks_process()

    assert (batch.marks, batch.scheduled, batch.due_now) == (1, 2, False)
    rows = list(deliveries(campaign=campaign))
    assert {row.device.token for row in rows} == {
        "https://push.example/ann",
        "https://push.example/ann-laptop",
    }
    assert {row.contact_id for row in rows} == {ann.pk}
    assert all(
        abs(row.due_at - (at + timedelta(minutes=15))) < timedelta(seconds=1) for row in rows
    )
    assert rows[0].event_params == {"order_id": "A1", "amount": 49.99}
    assert rows[0].status == Delivery.Status.SCHEDULED
    assert not TriggerMark.objects.exists()


def test_only_events_passing_the_filters_trigger(app):
    subscribe(app, "ann")
    campaign = active_campaign(app, trigger_where=[{"param": "amount", "op": ">", "value": 50}])
    track(app, "ann", "purchase_completed", amount=20)
    track(app, "ann", "purchase_completed", amount=80)
    trigger_marks_process()
    assert [row.event_params["amount"] for row in deliveries(campaign=campaign)] == [80]


def test_events_older_than_the_trigger_age_never_trigger(app, settings):
    settings.TRIGGER_MAX_AGE_HOURS = 72
    subscribe(app, "ann")
    campaign = active_campaign(app)
    now = datetime.now(UTC)
    track(app, "ann", "purchase_completed", at=now - timedelta(hours=73), order_id="old")
    track(app, "ann", "purchase_completed", at=now - timedelta(hours=71), order_id="new")
    trigger_marks_process()
    assert [row.event_params["order_id"] for row in deliveries(campaign=campaign)] == ["new"]


def test_a_past_due_time_is_due_now(app):
    subscribe(app, "ann")
    campaign = active_campaign(app, delay_seconds=60)
    track(app, "ann", "purchase_completed", at=datetime.now(UTC) - timedelta(hours=2))
    batch = trigger_marks_process()
    assert batch.due_now
    assert deliveries(campaign=campaign).get().due_at <= datetime.now(UTC)


def test_a_cancel_event_cancels_the_contacts_scheduled_deliveries(app):
    subscribe(app, "ann")
    subscribe(app, "bob")
    campaign = active_campaign(app, delay_seconds=900, cancel_event="order_cancelled")
    track(app, "ann", "purchase_completed")
    track(app, "bob", "purchase_completed")
    trigger_marks_process()
    track(app, "ann", "order_cancelled")
    trigger_marks_process()
    statuses = {row.contact.external_id: row.status for row in deliveries(campaign=campaign)}
    assert statuses == {"ann": Delivery.Status.CANCELLED, "bob": Delivery.Status.SCHEDULED}
    assert "order_cancelled" in deliveries(status=Delivery.Status.CANCELLED).get().reason


def test_a_trigger_and_its_cancel_in_one_batch_send_nothing(app):
    subscribe(app, "ann")
    campaign = active_campaign(app, delay_seconds=900, cancel_event="order_cancelled")
    track(app, "ann", "purchase_completed")
    track(app, "ann", "order_cancelled")
    trigger_marks_process()
    assert deliveries(campaign=campaign).get().status == Delivery.Status.CANCELLED


def test_keyed_cancel_only_cancels_the_same_order(app):
    subscribe(app, "ann")
    campaign = active_campaign(
        app, delay_seconds=900, cancel_event="order_cancelled", cancel_match_param="order_id"
    )
    track(app, "ann", "purchase_completed", order_id=1001)
    track(app, "ann", "purchase_completed", order_id=1002)
    trigger_marks_process()
    track(app, "ann", "order_cancelled", order_id=1003)
    track(app, "ann", "order_cancelled")  # no order id: cancels nothing
    trigger_marks_process()
    assert not deliveries(status=Delivery.Status.CANCELLED).exists()
    track(app, "ann", "order_cancelled", order_id="1001")  # same order, typed as text
    trigger_marks_process()
    statuses = {row.cancel_key: row.status for row in deliveries(campaign=campaign)}
    assert statuses == {"1001": Delivery.Status.CANCELLED, "1002": Delivery.Status.SCHEDULED}


def test_a_replayed_trigger_schedules_nothing_twice(app):
    ann = subscribe(app, "ann")
    campaign = active_campaign(app)
    now = datetime.now(UTC)
    reach = Reach(contact_id=ann.pk, source="event:42", due_at=now)
    deliveries_schedule(campaign=campaign, reaches=[reach], now=now)
    deliveries_schedule(campaign=campaign, reaches=[reach], now=now)
    assert deliveries(campaign=campaign).count() == 1


def test_a_retried_event_triggers_once(app):
    subscribe(app, "ann")
    campaign = active_campaign(app)
    for _ in range(2):
        payload = {"event_name": "purchase_completed", "app_user_id": "ann", "event_id": "e1"}
        events_ingest(app=app, payloads=[payload])
        trigger_marks_process()
    assert deliveries(campaign=campaign).count() == 1


def test_reentry_once_records_the_skip(app):
    subscribe(app, "ann")
    campaign = active_campaign(app, reentry=Campaign.Reentry.ONCE)
    track(app, "ann", "purchase_completed", order_id=1)
    track(app, "ann", "purchase_completed", order_id=2)
    trigger_marks_process()
    track(app, "ann", "purchase_completed", order_id=3)
    trigger_marks_process()
    rows = list(deliveries(campaign=campaign))
    assert [row.status for row in rows] == [
        Delivery.Status.SCHEDULED,
        Delivery.Status.SKIPPED,
        Delivery.Status.SKIPPED,
    ]
    assert rows[1].reason.startswith("re-entry rule")


def test_reentry_hours_counts_only_recent_deliveries(app):
    subscribe(app, "ann")
    campaign = active_campaign(app, reentry=Campaign.Reentry.HOURS, reentry_hours=24)
    track(app, "ann", "purchase_completed", order_id=1)
    trigger_marks_process()
    Delivery.objects.update(created_at=datetime.now(UTC) - timedelta(hours=25))
    track(app, "ann", "purchase_completed", order_id=2)
    trigger_marks_process()
    assert deliveries(campaign=campaign, status=Delivery.Status.SCHEDULED).count() == 2


def test_a_contact_without_a_permitted_device_is_recorded_as_skipped(app):
    subscribe(app, "ann", granted=False)
    campaign = active_campaign(app)
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    row = deliveries(campaign=campaign).get()
    assert (row.status, row.reason, row.device) == (
        Delivery.Status.SKIPPED,
        "no push-permitted device",
        None,
    )


def test_the_audience_is_checked_on_the_contacts_live_data(app):
    vip_type, _ = EventType.objects.get_or_create(app=app, name="vip_joined")
    event_type_set_segmentation(event_type=vip_type, enabled=True)
    vips = segment_create(app=app, name="VIPs", conditions={"type": "event", "event": "vip_joined"})
    subscribe(app, "ann")
    subscribe(app, "bob")
    campaign = active_campaign(app, audience_segment_id=vips.pk)
    track(app, "ann", "vip_joined")  # not yet reflected in the stored membership: no matter
    track(app, "ann", "purchase_completed")
    track(app, "bob", "purchase_completed")
    trigger_marks_process()
    assert [row.contact.external_id for row in deliveries(campaign=campaign)] == ["ann"]


def test_a_paused_campaign_leaves_no_marks_and_schedules_nothing(app):
    subscribe(app, "ann")
    campaign = active_campaign(app)
    campaign_pause(campaign=campaign)
    track(app, "ann", "purchase_completed")
    assert not TriggerMark.objects.exists()
    assert trigger_marks_process().marks == 0
    assert not deliveries(campaign=campaign).exists()


@pytest.mark.parametrize("event_name", ["purchase_completed", "order_cancelled"])
def test_activation_makes_ingest_mark_trigger_and_cancel_events(app, event_name):
    active_campaign(app, cancel_event="order_cancelled")
    event_type = EventType.objects.get(app=app, name=event_name)
    assert TriggeringEventType.objects.filter(event_type=event_type).exists()
    track(app, "ann", event_name)
    assert TriggerMark.objects.count() == 1
