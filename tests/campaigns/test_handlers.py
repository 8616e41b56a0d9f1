"""Campaigns' services announce; campaigns.handlers enqueues, after commit."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign
from campaigns.services.previews import campaign_send_test
from campaigns.tasks import broadcasts_start_due_task, deliveries_dispatch_task
from tests.campaigns.factories import active_campaign, subscribe


@pytest.fixture
def nudges(monkeypatch):
    calls = []
    for task in (broadcasts_start_due_task, deliveries_dispatch_task):
        monkeypatch.setattr(task, "delay", lambda name=task.name: calls.append(name))
    return calls


def test_an_activated_broadcast_nudges_the_broadcasts_task_after_commit(
    app, nudges, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        active_campaign(app, kind=Campaign.Kind.BROADCAST, name="Sale", title="Sale!")
    assert nudges == []
    for callback in callbacks:
        callback()
    assert nudges == [broadcasts_start_due_task.name]


def test_an_activated_event_campaign_nudges_nothing(
    app, nudges, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        active_campaign(app)
    assert nudges == []


def test_a_test_push_nudges_the_dispatch_after_commit(
    app, nudges, django_capture_on_commit_callbacks
):
    ann = subscribe(app, "ann")
    campaign = active_campaign(app)
    with django_capture_on_commit_callbacks() as callbacks:
        campaign_send_test(campaign=campaign, contact=ann)
    assert nudges == []
    for callback in callbacks:
        callback()
    assert nudges == [deliveries_dispatch_task.name]
