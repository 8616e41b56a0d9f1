"""Segments' services announce; segments.handlers enqueues, after commit and best effort."""

from __future__ import annotations

import logging

from segments.services import segment_create, segment_update
from segments.tasks import segment_refresh_task

HAS_EMAIL = {"type": "contact", "field": "email", "op": "exists"}


def test_a_created_or_changed_segment_is_refreshed_after_commit(
    app, monkeypatch, django_capture_on_commit_callbacks
):
    calls = []
    monkeypatch.setattr(segment_refresh_task, "delay", lambda *args: calls.append(args))
    with django_capture_on_commit_callbacks() as callbacks:
        segment = segment_create(app=app, name="Email", conditions=HAS_EMAIL)
    assert calls == []  # nothing before commit
    for callback in callbacks:
        callback()
    assert calls == [(segment.pk,)]
    with django_capture_on_commit_callbacks(execute=True):
        segment_update(segment=segment, name="Has email")  # conditions unchanged
    assert calls == [(segment.pk,)]


def test_a_broker_outage_fails_no_segment_write(
    app, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(*args):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(segment_refresh_task, "delay", broker_down)
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        segment_create(app=app, name="Email", conditions=HAS_EMAIL)
    assert "could not enqueue segments.tasks.segment_refresh_task" in caplog.text
