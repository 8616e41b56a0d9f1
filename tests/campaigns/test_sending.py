"""Sending for real: deliveries claimed, encrypted with pywebpush and posted to a local push
service that decrypts them and checks the VAPID signature; every answer's consequence; the
send-time rules; opens; and the guarantees (a duplicated task or a dead worker sends once)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns import tasks as tasks_module
from campaigns.models import Campaign, Delivery, PushedMark, TriggerMark
from campaigns.providers.base import MAX_ATTEMPTS
from campaigns.services import dispatch as dispatch_module
from campaigns.services import sending as sending_module
from campaigns.services.broadcasts import broadcasts_start_due
from campaigns.services.dispatch import (
    deliveries_claim_due,
    deliveries_release_expired,
)
from campaigns.services.entries import segment_entries_match
from campaigns.services.policy import push_policy_update
from campaigns.services.sending import deliveries_record_pushed, deliveries_send
from campaigns.services.triggers import trigger_marks_process
from campaigns.vapid import vapid_keys
from contacts.models import Contact, Device
from events import catalog
from events.models import Event, EventType
from events.services.event_types import event_type_set_segmentation
from segments.services import segment_create, segment_refresh
from tests.campaigns.factories import active_campaign, subscribe, track


@pytest.fixture
def shopper(app, push_service):
    """Ann, subscribed in a browser whose push service is the local one."""
    subscription = push_service.subscription()
    contact = subscribe(app, "ann", subscription=subscription)
    contact.subscription = subscription
    return contact


def dispatch(now=None) -> None:
    """What the periodic dispatcher and its send tasks do, inline."""
    for claim in deliveries_claim_due(now=now):
        deliveries_send(claim=claim, now=now)


def sent_events(name: str) -> list[Event]:
    return list(Event.objects.filter(event_type__name=name).order_by("pk"))


def test_a_triggered_push_arrives_decrypted_with_its_headers(app, shopper, push_service):
    campaign = active_campaign(
        app,
        title="Thanks {{ contact.first_name | default: 'there' }}",
        body="{{ event.amount }} paid",
        url="https://shop.example/orders/{{ event.order_id }}",
        urgency="high",
        ttl_seconds=3600,
    )
    track(app, "ann", "purchase_completed", amount=49.99, order_id="A1")
    trigger_marks_process()
    dispatch()

    [received] = push_service.wait_for(1)
    delivery = Delivery.objects.get()
    assert received.payload["title"] == "Thanks there"
    assert received.payload["body"] == "49.99 paid"
    assert received.payload["url"] == "https://shop.example/orders/A1"
    assert received.payload["open_token"] == delivery.open_token
    assert received.payload["open_url"].endswith("/api/v1/push/opened")
    assert (received.ttl, received.urgency, received.topic) == (3600, "high", f"d{delivery.pk}")
    assert received.claims["sub"].startswith("mailto:")
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SENT, 1)
    assert delivery.sent_at is not None
    [sent] = sent_events(catalog.NOTIFICATION_SENT)
    assert sent.params["campaign_id"] == campaign.pk
    assert sent.contact_id == shopper.pk


def test_the_whole_chain_runs_from_the_commit_of_the_event(
    app, shopper, push_service, django_capture_on_commit_callbacks
):
    active_campaign(app)
    with django_capture_on_commit_callbacks(execute=True):
        track(app, "ann", "purchase_completed")
    push_service.wait_for(1)
    assert Delivery.objects.get().status == Delivery.Status.SENT


def test_a_gone_subscription_invalidates_the_device_and_is_never_retried(
    app, shopper, push_service
):
    active_campaign(app)
    push_service.answer(shopper.subscription, 410)
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    dispatch()

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "gone" in delivery.last_error
    device = Device.objects.get(contact=shopper)
    assert device.invalidated_at is not None and not device.push_permission_granted
    assert [e.params for e in sent_events(catalog.OPT_OUT)] == [{"subtype": "invalidated"}]
    assert len(sent_events(catalog.NOTIFICATION_FAILED)) == 1
    dispatch(now=datetime.now(UTC) + timedelta(days=1))
    assert len(push_service.received()) == 1


def test_too_many_requests_is_retried_after_retry_after(app, shopper, push_service):
    active_campaign(app)
    push_service.answer(shopper.subscription, 429, retry_after="120")
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    before = datetime.now(UTC)
    dispatch(now=before)

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SCHEDULED, 1)
    assert delivery.due_at == before + timedelta(seconds=120)
    push_service.answer(shopper.subscription, 201)
    dispatch(now=before + timedelta(seconds=60))
    assert len(push_service.received()) == 1  # not yet due
    dispatch(now=before + timedelta(seconds=121))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SENT, 2)


def test_server_errors_retry_with_backoff_then_give_up(app, shopper, push_service):
    active_campaign(app)
    push_service.answer(shopper.subscription, 503)
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    now = datetime.now(UTC)
    for _ in range(MAX_ATTEMPTS):
        dispatch(now=now)
        now += timedelta(days=1)  # past any backoff
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, MAX_ATTEMPTS)
    assert delivery.last_error.startswith(f"gave up after {MAX_ATTEMPTS} attempts")
    assert len(push_service.received()) == MAX_ATTEMPTS


def test_a_payload_the_push_service_refuses_as_too_large_fails_for_good(app, shopper, push_service):
    active_campaign(app)
    push_service.answer(shopper.subscription, 413)
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    dispatch()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "too large" in delivery.last_error


def test_a_message_that_fails_on_one_contacts_values_fails_that_row_alone(app, push_service):
    active_campaign(app, body="{{ 100 | divided_by: event.qty }} each")
    for user, qty in [("ann", 4), ("bob", 0)]:
        subscribe(app, user, subscription=push_service.subscription())
        track(app, user, "purchase_completed", qty=qty)
    trigger_marks_process()
    dispatch()
    by_user = {row.contact.external_id: row for row in Delivery.objects.select_related("contact")}
    assert by_user["ann"].status == Delivery.Status.SENT
    assert [message.payload["body"] for message in push_service.received()] == ["25 each"]
    assert by_user["bob"].status == Delivery.Status.FAILED
    assert by_user["bob"].last_error == (
        "the message body cannot be rendered for these values: divided_by: can't divide by 0"
    )
    assert len(sent_events(catalog.NOTIFICATION_FAILED)) == 1


def test_a_task_delivered_twice_sends_once(app, shopper, push_service):
    active_campaign(app)
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    [claim] = deliveries_claim_due()
    deliveries_send(claim=claim)
    deliveries_send(claim=claim)  # the broker redelivered the task
    assert len(push_service.received()) == 1


def test_a_claim_whose_worker_died_is_sent_once_after_the_lease(
    app, shopper, push_service, settings
):
    settings.DELIVERY_LEASE_SECONDS = 60
    active_campaign(app)
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    now = datetime.now(UTC)
    [lost] = deliveries_claim_due(now=now)  # ... and the worker is killed
    assert deliveries_release_expired(now=now + timedelta(seconds=30)) == 0
    assert deliveries_claim_due(now=now + timedelta(seconds=30)) == []
    assert deliveries_release_expired(now=now + timedelta(seconds=61)) == 1
    dispatch(now=now + timedelta(seconds=61))
    deliveries_send(claim=lost)  # the old task finally runs: the rows are no longer its
    assert len(push_service.received()) == 1
    assert Delivery.objects.get().attempts == 2


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs (not an Exception, so nothing catches it)."""


def test_a_push_accepted_before_its_worker_died_is_recorded_not_sent_again(
    app, shopper, push_service, settings, monkeypatch
):
    settings.DELIVERY_LEASE_SECONDS = 60
    active_campaign(app)
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    now = datetime.now(UTC)
    [claim] = deliveries_claim_due(now=now)

    def killed(*args, **kwargs):
        raise WorkerKilled  # after the push was answered and marked, before the outcomes

    with monkeypatch.context() as patch:
        patch.setattr(sending_module, "_record", killed)
        with pytest.raises(WorkerKilled):
            deliveries_send(claim=claim, now=now)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SENDING
    [mark] = PushedMark.objects.all()
    assert (mark.delivery_id, mark.claim, mark.pushed_at) == (delivery.pk, delivery.claim, now)

    assert deliveries_record_pushed(now=now + timedelta(seconds=30)) == 0  # within the lease
    later = now + timedelta(seconds=61)
    assert deliveries_release_expired(now=later) == 0  # not sent again ...
    assert deliveries_record_pushed(now=later) == 1  # ... but recorded
    dispatch(now=later)

    assert len(push_service.received()) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.claim, delivery.sent_at) == (Delivery.Status.SENT, None, now)
    assert not PushedMark.objects.exists()
    [sent] = sent_events(catalog.NOTIFICATION_SENT)
    assert (sent.contact_id, sent.occurred_at) == (shopper.pk, now)
    deliveries_send(claim=claim, now=now)  # the dead worker's task, redelivered: nothing to do
    assert len(sent_events(catalog.NOTIFICATION_SENT)) == 1


def test_at_most_push_send_concurrency_pushes_are_ever_unmarked(
    app, push_service, settings, monkeypatch
):
    """What bounds the repeats of a killed worker: a push starts only while fewer than
    PUSH_SEND_CONCURRENCY pushes are started and not marked."""
    settings.PUSH_SEND_CONCURRENCY = 3
    for index in range(20):
        subscribe(app, f"user{index}", subscription=push_service.subscription())
    active_campaign(app, kind=Campaign.Kind.BROADCAST, name="Sale", title="Sale!")
    broadcasts_start_due()
    lock, counts, unmarked = threading.Lock(), {"started": 0, "marked": 0}, []
    push, mark = sending_module._push, sending_module._mark_pushed

    def counting_push(*args):
        with lock:
            counts["started"] += 1
            unmarked.append(counts["started"] - counts["marked"])
        return push(*args)

    def counting_mark(own, answered, now):
        mark(own, answered, now)
        with lock:
            counts["marked"] += len(answered)

    monkeypatch.setattr(sending_module, "_push", counting_push)
    monkeypatch.setattr(sending_module, "_mark_pushed", counting_mark)
    dispatch()

    assert len(push_service.wait_for(20)) == 20
    assert counts == {"started": 20, "marked": 20}
    assert max(unmarked) == 3


def test_expired_claims_are_taken_back_by_the_periodic_dispatch_only(app, shopper, push_service):
    active_campaign(app)
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    deliveries_claim_due()  # ... and the worker that claimed it died an hour ago
    Delivery.objects.update(claimed_at=datetime.now(UTC) - timedelta(hours=1))

    assert tasks_module.deliveries_dispatch() == 0  # inline, after a trigger batch
    assert Delivery.objects.get().status == Delivery.Status.SENDING
    assert tasks_module.deliveries_dispatch_task() == 1  # every 2 s (tasks run eagerly here)

    assert len(push_service.wait_for(1)) == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SENT, 2)


def test_one_trigger_task_run_handles_marks_past_a_batch(app, push_service, monkeypatch):
    monkeypatch.setattr(tasks_module, "TRIGGER_BATCH", 2)
    active_campaign(app)
    for index in range(5):
        subscribe(app, f"user{index}", subscription=push_service.subscription())
        track(app, f"user{index}", "purchase_completed")

    assert tasks_module.trigger_marks_process_task() == 5  # batches of 2, 2 and 1

    assert not TriggerMark.objects.exists()
    assert len(push_service.wait_for(5)) == 5


def test_a_paused_campaign_sends_nothing_until_resumed(app, shopper, push_service):
    from campaigns.services.campaigns import campaign_activate, campaign_pause

    campaign = active_campaign(app)
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    campaign_pause(campaign=campaign)
    dispatch()
    assert Delivery.objects.get().status == Delivery.Status.SCHEDULED
    campaign_activate(campaign=campaign)
    dispatch()
    assert len(push_service.received()) == 1


def test_a_pending_cancel_holds_the_due_push_back(app, shopper, push_service):
    active_campaign(app, cancel_event="order_cancelled")
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    track(app, "ann", "order_cancelled")  # marked, not handled yet
    dispatch()
    assert push_service.received() == []
    trigger_marks_process()
    dispatch()
    assert Delivery.objects.get().status == Delivery.Status.CANCELLED
    assert push_service.received() == []


def test_the_daily_cap_skips_and_says_so(app, shopper, push_service):
    push_policy_update(app=app, daily_cap=1)
    active_campaign(app)
    track(app, "ann", "purchase_completed", order_id=1)
    trigger_marks_process()
    dispatch()
    track(app, "ann", "purchase_completed", order_id=2)
    trigger_marks_process()
    dispatch()
    statuses = list(Delivery.objects.order_by("pk").values_list("status", "reason"))
    assert statuses == [("sent", ""), ("skipped", "daily cap of 1 pushes reached")]
    assert len(push_service.received()) == 1


def test_the_daily_cap_holds_within_one_claim(app, push_service):
    push_policy_update(app=app, daily_cap=1)
    subscription = push_service.subscription()
    subscribe(app, "ann", subscription=subscription)
    active_campaign(app)
    track(app, "ann", "purchase_completed", order_id=1)
    track(app, "ann", "purchase_completed", order_id=2)
    trigger_marks_process()
    dispatch()  # both deliveries are due and claimed together
    statuses = sorted(Delivery.objects.values_list("status", flat=True))
    assert statuses == ["sent", "skipped"]
    assert len(push_service.received()) == 1


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (Campaign.QuietAction.DELAY, Delivery.Status.SCHEDULED),
        (Campaign.QuietAction.DROP, "skipped"),
    ],
)
def test_quiet_hours_delay_or_drop(app, shopper, push_service, action, status):
    shopper.timezone = "Europe/Berlin"
    shopper.save()
    active_campaign(app, quiet_start=time(22, 0), quiet_end=time(8, 0), quiet_action=action)
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    night = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # 00:30 in Berlin
    Delivery.objects.update(due_at=night)
    dispatch(now=night)
    delivery = Delivery.objects.get()
    assert delivery.status == status
    if status == Delivery.Status.SCHEDULED:
        assert delivery.due_at == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 08:00 in Berlin
    else:
        assert delivery.reason == "quiet hours"
    assert push_service.received() == []


def test_recheck_audience_skips_contacts_who_left_it(app, shopper, push_service):
    vips = segment_create(
        app=app,
        name="Germans",
        conditions={"type": "contact", "field": "country", "op": "=", "value": "DE"},
    )
    shopper.country = "DE"
    shopper.save()
    segment_refresh(segment=vips)
    active_campaign(app, audience_segment_id=vips.pk, recheck_audience=True, delay_seconds=60)
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    shopper.country = "FR"
    shopper.save()
    segment_refresh(segment=vips)
    dispatch(now=datetime.now(UTC) + timedelta(minutes=2))
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.reason) == ("skipped", "no longer in the audience segment")


def test_an_open_report_records_the_open_once(app, shopper, push_service, client):
    campaign = active_campaign(app)
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    dispatch()
    [received] = push_service.wait_for(1)
    for _ in range(2):  # a double click
        response = client.post(
            "/api/v1/push/opened",
            {"token": received.payload["open_token"]},
            content_type="application/json",
        )
        assert response.status_code == 200
    assert Delivery.objects.get().opened_at is not None
    [opened] = sent_events(catalog.NOTIFICATION_OPENED)
    assert opened.params["campaign_id"] == campaign.pk


def test_a_broadcast_reaches_every_reachable_device_of_the_audience_once(app, push_service):
    subscriptions = [push_service.subscription() for _ in range(3)]
    for index, subscription in enumerate(subscriptions):
        subscribe(app, f"user{index}", subscription=subscription)
    subscribe(app, "muted", subscription=push_service.subscription(), granted=False)
    campaign = active_campaign(app, kind=Campaign.Kind.BROADCAST, name="Sale", title="Sale!")
    broadcasts_start_due()
    broadcasts_start_due()  # a second sweep finds it done
    dispatch()
    received = push_service.wait_for(3)
    assert sorted(r.endpoint for r in received) == sorted(s["endpoint"] for s in subscriptions)
    campaign.refresh_from_db()
    assert campaign.fanned_out_at is not None
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 3


def test_a_broadcast_flows_through_the_tasks_a_few_claims_at_a_time(
    app, push_service, monkeypatch, django_capture_on_commit_callbacks
):
    """Never more than MAX_IN_FLIGHT rows in sending; each full claim, once sent, asks for more
    (tasks run eagerly here, as a worker would run them one after the other)."""
    monkeypatch.setattr(dispatch_module, "CLAIM_BATCH", 2)
    monkeypatch.setattr(tasks_module, "CLAIM_BATCH", 2)
    monkeypatch.setattr(dispatch_module, "MAX_IN_FLIGHT", 4)
    subscriptions = [push_service.subscription() for _ in range(9)]
    for index, subscription in enumerate(subscriptions):
        subscribe(app, f"user{index}", subscription=subscription)
    claimed = []
    claim_due = dispatch_module.deliveries_claim_due

    def recording(**kwargs):
        claims = claim_due(**kwargs)
        claimed.append(Delivery.objects.filter(status=Delivery.Status.SENDING).count())
        return claims

    monkeypatch.setattr(tasks_module, "deliveries_claim_due", recording)
    with django_capture_on_commit_callbacks(execute=True):
        active_campaign(app, kind=Campaign.Kind.BROADCAST, name="Sale", title="Sale!")
    received = push_service.wait_for(9)
    assert sorted(r.endpoint for r in received) == sorted(s["endpoint"] for s in subscriptions)
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 9
    assert max(claimed) <= 4


# A send claim's statements, the same number on SQLite and PostgreSQL (every raw statement goes
# through Django's connection, common/db/executor.py, so CaptureQueriesContext sees them all),
# besides one mark of the pushes accepted per group of answers.
CLAIM_STATEMENTS = 17
MARK = "INSERT INTO campaigns_pushedmark"


def test_a_claims_queries_do_not_grow_with_its_rows(app, push_service):
    """Rows, contacts, devices and campaigns are read once per claim (a field the send path
    reads that the row query left out would cost a query per row), and the outcomes written
    once; only the marks of accepted pushes come per group of answers, one statement each."""
    for index in range(6):
        contact_id = track(app, f"user{index}", "page_viewed")
        Contact.objects.filter(pk=contact_id).update(
            timezone="Europe/Paris", custom_fields={"first_name": f"U{index}"}
        )
        subscribe(app, f"user{index}", subscription=push_service.subscription())
    active_campaign(
        app,
        kind=Campaign.Kind.BROADCAST,
        name="Sale",
        title="Hi {{ contact.first_name }} ({{ contact.timezone }}, {{ contact.external_id }})",
        quiet_start=time(0, 0),
        quiet_end=time(0, 1),
    )
    broadcasts_start_due()
    small, large = deliveries_claim_due(limit=1)[0], deliveries_claim_due(limit=5)[0]
    vapid_keys()  # the key pair is read once per process (and minute), not per claim
    # as in a running server, @NOTIFICATION_SENT was seen within the minute (its last-seen time
    # is written at most once a minute: event_types_seen)
    EventType.objects.filter(app=app).update(last_seen_at=datetime.now(UTC))
    statements, marks = {}, {}
    noon = datetime.now(UTC).replace(hour=12, minute=0)  # outside the quiet hours in Paris
    for claim in (small, large):
        with CaptureQueriesContext(connection) as captured:
            deliveries_send(claim=claim, now=noon)
        rows = len(claim.delivery_ids)
        marks[rows] = sum((query["sql"] or "").startswith(MARK) for query in captured)
        statements[rows] = len(captured) - marks[rows]

    assert statements[1] == statements[5] == CLAIM_STATEMENTS, statements  # both databases
    assert marks[1] == 1 and 1 <= marks[5] <= 5, marks
    titles = {received.payload["title"] for received in push_service.wait_for(6)}
    assert titles == {f"Hi U{index} (Europe/Paris, user{index})" for index in range(6)}


def test_a_scheduled_broadcast_waits_for_its_time(app, shopper, push_service):
    later = datetime.now(UTC) + timedelta(hours=1)
    active_campaign(app, kind=Campaign.Kind.BROADCAST, name="Later", title="x", send_at=later)
    assert broadcasts_start_due() == []
    assert [r.scheduled for r in broadcasts_start_due(now=later)] == [1]


def test_a_segment_entry_campaign_reaches_new_members_only(app, push_service):
    vip_type, _ = EventType.objects.get_or_create(app=app, name="vip_joined")
    event_type_set_segmentation(event_type=vip_type, enabled=True)
    vips = segment_create(app=app, name="VIPs", conditions={"type": "event", "event": "vip_joined"})
    old = push_service.subscription()
    subscribe(app, "old", subscription=old)
    track(app, "old", "vip_joined")
    segment_refresh(segment=vips)
    active_campaign(
        app,
        kind=Campaign.Kind.SEGMENT_ENTRY,
        name="Welcome VIP",
        title="Hi",
        entry_segment_id=vips.pk,
    )
    new = push_service.subscription()
    subscribe(app, "new", subscription=new)
    track(app, "new", "vip_joined")
    segment_refresh(segment=vips)
    assert segment_entries_match().scheduled == 1
    assert segment_entries_match().scheduled == 0
    dispatch()
    [received] = push_service.wait_for(1)
    assert received.endpoint == new["endpoint"]


def test_a_test_send_goes_out_now_for_a_draft(admin_client, app, shopper, push_service):
    from campaigns.services.campaigns import campaign_create

    draft = campaign_create(
        app=app, name="Draft", kind="broadcast", title="Hello {{ contact.email }}"
    )
    response = admin_client.post(
        f"/api/v1/campaigns/{draft.pk}/test", {"contact_id": shopper.pk}, format="json"
    )
    assert response.status_code == 202
    dispatch()
    [received] = push_service.wait_for(1)
    assert received.payload["title"] == "Hello "
    assert Delivery.objects.get().is_test
