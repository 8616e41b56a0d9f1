"""Keeping memberships up to date: full refresh, incremental updates after events and profile
changes, history and counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contacts.models import Contact
from contacts.services.contacts import contact_update
from events.models import EventType
from events.services.event_types import event_type_set_segmentation
from segments.models import Segment, SegmentChange, SegmentMembership
from segments.services import segment_create, segment_refresh, segments_refresh_contacts

PURCHASED_RECENTLY = {
    "type": "event",
    "event": "purchase",
    "period": {"type": "last", "amount": 14, "unit": "day"},
}


@pytest.fixture
def purchase(app):
    event_type, _ = EventType.objects.get_or_create(app=app, name="purchase")
    return event_type_set_segmentation(event_type=event_type, enabled=True)


def members(segment: Segment) -> set[str]:
    ids = SegmentMembership.objects.filter(segment=segment).values_list("contact_id", flat=True)
    return set(Contact.objects.filter(pk__in=ids).values_list("external_id", flat=True))


def test_a_new_segment_is_computed_on_commit(
    app, purchase, track, django_capture_on_commit_callbacks
):
    track(event_name="purchase", app_user_id="ann")
    track(event_name="login", app_user_id="bob")
    with django_capture_on_commit_callbacks(execute=True):
        segment = segment_create(app=app, name="Buyers", conditions=PURCHASED_RECENTLY)
    segment.refresh_from_db()
    assert members(segment) == {"ann"}
    assert segment.member_count == 1 and segment.last_computed_at is not None


def test_an_event_adds_the_contact_incrementally(
    app, purchase, track, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        segment = segment_create(app=app, name="Buyers", conditions=PURCHASED_RECENTLY)
    with django_capture_on_commit_callbacks(execute=True):
        track(event_name="purchase", app_user_id="cid")
    segment.refresh_from_db()
    assert members(segment) == {"cid"} and segment.member_count == 1
    [change] = SegmentChange.objects.filter(segment=segment)
    assert change.kind == "entered"


def test_time_passing_moves_contacts_out_on_full_refresh(app, purchase, track):
    old = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    track(event_name="purchase", app_user_id="ann", event_time=old)
    track(event_name="purchase", app_user_id="bob")
    segment = segment_create(app=app, name="Buyers", conditions=PURCHASED_RECENTLY)
    assert segment_refresh(segment=segment).entered
    assert members(segment) == {"ann", "bob"}
    result = segment_refresh(segment=segment, now=datetime.now(UTC) + timedelta(days=5))
    assert members(segment) == {"bob"}
    assert [Contact.objects.get(pk=pk).external_id for pk in result.exited] == ["ann"]
    segment.refresh_from_db()
    assert segment.member_count == 1
    kinds = list(
        SegmentChange.objects.filter(segment=segment).order_by("pk").values_list("kind", flat=True)
    )
    assert kinds == ["entered", "entered", "exited"]


def test_refreshing_twice_changes_nothing(app, purchase, track):
    track(event_name="purchase", app_user_id="ann")
    segment = segment_create(app=app, name="Buyers", conditions=PURCHASED_RECENTLY)
    segment_refresh(segment=segment)
    again = segment_refresh(segment=segment)
    assert (again.entered, again.exited) == (set(), set())
    assert SegmentChange.objects.filter(segment=segment).count() == 1


def test_incremental_update_only_touches_segments_that_depend_on_the_event(app, purchase, track):
    track(event_name="purchase", app_user_id="ann")
    ann = Contact.objects.get(external_id="ann")
    buyers = segment_create(app=app, name="Buyers", conditions=PURCHASED_RECENTLY)
    polish = segment_create(
        app=app,
        name="PL",
        conditions={"type": "contact", "field": "country", "op": "=", "value": "PL"},
    )
    results = segments_refresh_contacts(app=app, contact_ids=[ann.pk], event_type_names=["login"])
    assert set(results) == {polish.pk}  # contact-field segments follow every change
    results = segments_refresh_contacts(
        app=app, contact_ids=[ann.pk], event_type_names=["purchase"]
    )
    assert results[buyers.pk].entered == {ann.pk}


def test_changing_a_profile_updates_contact_field_segments(
    app, track, django_capture_on_commit_callbacks
):
    track(event_name="login", app_user_id="ann")
    ann = Contact.objects.get(external_id="ann")
    gmail = segment_create(
        app=app,
        name="Gmail",
        conditions={"type": "contact", "field": "email", "op": "contains", "value": "@gmail."},
    )
    with django_capture_on_commit_callbacks(execute=True):
        contact_update(contact=ann, data={"email": "Ann@Gmail.com"})
    assert members(gmail) == {"ann"}
    with django_capture_on_commit_callbacks(execute=True):
        contact_update(contact=ann, data={"email": "ann@example.com"})
    assert members(gmail) == set()


def test_a_segment_used_by_another_cannot_be_deleted(app, purchase):
    from django.core.exceptions import ValidationError

    from segments.services import segment_delete

    base = segment_create(app=app, name="Buyers", conditions=PURCHASED_RECENTLY)
    segment_create(
        app=app,
        name="Not buyers",
        conditions={"type": "not", "condition": {"type": "segment", "segment": base.pk}},
    )
    with pytest.raises(ValidationError) as error:
        segment_delete(segment=base)
    assert "Not buyers" in str(error.value)


def test_ingest_marks_contacts_and_the_drain_clears_them(app, purchase, track):
    from segments.models import EvaluationMark
    from segments.services import segments_evaluate_pending

    segment = segment_create(app=app, name="Buyers", conditions=PURCHASED_RECENTLY)
    track(event_name="purchase", app_user_id="ann")
    track(event_name="purchase", app_user_id="ann")
    ann = Contact.objects.get(app=app, external_id="ann")
    # One mark per contact and type however many events (the session's @APP_OPEN has one too).
    assert list(
        EvaluationMark.objects.filter(event_type_id=purchase.pk).values_list(
            "contact_id", flat=True
        )
    ) == [ann.pk]
    assert segments_evaluate_pending() == 1
    assert not EvaluationMark.objects.exists()
    assert members(segment) == {"ann"}
    assert segments_evaluate_pending() == 0


def test_nudges_are_throttled_and_a_broker_outage_fails_no_request(
    app, track, monkeypatch, django_capture_on_commit_callbacks
):
    from segments.tasks import segments_evaluate_pending_task

    calls = []

    def broker_down(*args):
        calls.append(args)
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(segments_evaluate_pending_task, "delay", broker_down)
    for name in ("a", "b", "c"):
        with django_capture_on_commit_callbacks(execute=True):
            assert track(event_name=name, app_user_id="ann").status_code == 200
    assert len(calls) == 1  # one nudge in 0.2 s, however many events


def test_erasing_a_member_records_its_exit_and_keeps_the_count_true(app, track):
    from contacts.services.contacts import contact_delete

    track(event_name="login", params={"Email": "a@x.io"})
    has_email = segment_create(
        app=app, name="Email", conditions={"type": "contact", "field": "email", "op": "exists"}
    )
    assert segment_refresh(segment=has_email).entered
    contact_delete(contact=Contact.objects.get(email="a@x.io"))
    has_email.refresh_from_db()
    assert has_email.member_count == 0
    kinds = (
        SegmentChange.objects.filter(segment=has_email)
        .order_by("pk")
        .values_list("kind", flat=True)
    )
    assert list(kinds) == ["entered", "exited"]


def test_a_long_purpose_is_a_validation_error(app):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        segment_create(app=app, name="x", purpose="p" * 501, conditions={"type": "device"})
    assert "purpose" in error.value.message_dict


def test_a_merge_marks_the_surviving_contact_for_the_merged_history(app, purchase, track):
    """The merging event is a login: only the merge's marks make the purchase count for bob."""
    from segments.services import segments_evaluate_pending

    segment = segment_create(app=app, name="Buyers", conditions=PURCHASED_RECENTLY)
    track(event_name="purchase", anonymous_id="visitor-1")
    track(event_name="login", app_user_id="bob")
    segments_evaluate_pending()
    assert members(segment) == {None}  # the anonymous visitor

    track(event_name="login", app_user_id="bob", anonymous_id="visitor-1")
    assert Contact.objects.filter(app=app).count() == 1
    segments_evaluate_pending()
    assert members(segment) == {"bob"}
