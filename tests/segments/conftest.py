"""Fixtures for the segment engine tests: event types ready for segmentation, events through the
real ingest, and `members`, which answers a tree with the SQL engine or the reference evaluator."""

from __future__ import annotations

from datetime import datetime

import pytest

from contacts.models import Contact
from tests.segments.helpers import (
    NOW,
    engine_members,
    event_types_prepare,
    ingest,
    payload,
    reference_members,
)


@pytest.fixture
def segmentable_app(app):
    event_types_prepare(app=app)
    return app


@pytest.fixture
def send(segmentable_app):
    """Ingest events given as (name, user, time, params) through the real pipeline."""

    def send(*events: tuple, app=None) -> None:
        payloads = [payload(*item) for item in events]
        ingest(app=app or segmentable_app, payloads=payloads)

    return send


@pytest.fixture(params=["engine", "reference"])
def members(request, segmentable_app):
    """members(tree, now=...) -> the external ids (else "#pk") of the contacts in the tree, as
    the SQL engine or the reference evaluator sees them: every edge test runs with both."""
    evaluator = engine_members if request.param == "engine" else reference_members

    def members(conditions: dict, *, now: datetime = NOW, app=None) -> set[str]:
        app = app or segmentable_app
        ids = evaluator(app=app, conditions=conditions, now=now)
        labels = dict(Contact.objects.filter(pk__in=ids).values_list("pk", "external_id"))
        return {labels[pk] or f"#{pk}" for pk in ids}

    return members
