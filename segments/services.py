"""Writes on segments: create/update/delete, and keeping memberships up to date.

Membership changes are applied under a lock on the segment row, so the periodic full refresh and
the incremental per-contact updates never double-count `member_count` or record an entry twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import BooleanField, F, ProtectedError
from django.db.models.expressions import RawSQL
from django.utils import timezone

from common import metrics
from contacts.models import App, Contact
from events.models import EventType
from segments.conditions.compiled import tree_conditions
from segments.conditions.compiler import segment_context
from segments.conditions.evaluation import full_evaluation
from segments.conditions.tree import event_names, segment_ids, uses_contact_fields
from segments.conditions.validation import conditions_validate
from segments.membership_sql import changes_insert, memberships_delete, memberships_insert
from segments.models import EvaluationMark, Segment, SegmentMembership
from segments.selectors import segment_membership_difference
from segments.signals import segment_membership_changed, segment_refresh_requested

EDITABLE_FIELDS = ("name", "purpose", "tags", "conditions")


@dataclass
class RefreshResult:
    entered: set[int] = field(default_factory=set)
    exited: set[int] = field(default_factory=set)


# Create, update, delete ---------------------------------------------------------------------
@transaction.atomic
def segment_create(*, app: App, name: str, purpose: str = "", tags=None, conditions) -> Segment:
    _validate_fields(app=app, name=name, purpose=purpose, tags=tags or [], conditions=conditions)
    segment = Segment.objects.create(
        app=app, name=name.strip(), purpose=purpose or "", tags=tags or [], conditions=conditions
    )
    segment_schedule_refresh(segment=segment)
    return segment


@transaction.atomic
def segment_update(*, segment: Segment, **fields) -> Segment:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["cannot be changed"] for name in sorted(unknown)})
    merged = {name: fields.get(name, getattr(segment, name)) for name in EDITABLE_FIELDS}
    _validate_fields(app=segment.app, segment_id=segment.pk, **merged)
    for name, value in fields.items():
        setattr(segment, name, value.strip() if name == "name" else value)
    segment.save()
    if "conditions" in fields:
        segment_schedule_refresh(segment=segment)
    return segment


def segment_delete(*, segment: Segment) -> None:
    used_by = [
        s.name
        for s in Segment.objects.filter(app=segment.app)
        if segment.pk in segment_ids(s.conditions)
    ]
    if used_by:
        raise ValidationError({"segment": [f"used by the segment(s) {', '.join(used_by)}"]})
    try:
        segment.delete()
    except ProtectedError as exc:  # the audience or entry segment of a campaign
        names = ", ".join(sorted({str(obj) for obj in exc.protected_objects}))
        raise ValidationError({"segment": [f"used by the campaign(s) {names}"]}) from None


def _validate_fields(*, app, name, tags, conditions, purpose="", segment_id=None) -> None:
    errors = {}
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors["name"] = ["must be 1 to 200 characters"]
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        errors["tags"] = ["must be a list of non-empty strings"]
    if not isinstance(purpose, str) or len(purpose) > 500:
        errors["purpose"] = ["must be at most 500 characters"]
    try:
        conditions_validate(app=app, conditions=conditions, segment_id=segment_id)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


def segment_schedule_refresh(*, segment: Segment) -> None:
    """Announce, after commit, that the segment must be recomputed (segments.handlers queues the
    task; best effort: the periodic refresh catches up if the broker is down)."""
    transaction.on_commit(
        lambda: segment_refresh_requested.send(sender=Segment, segment=segment), robust=True
    )


# Refresh --------------------------------------------------------------------------------------
@metrics.SEGMENT_REFRESH_SECONDS.labels(kind="full").time()
def segment_refresh(*, segment: Segment, now: datetime | None = None) -> RefreshResult:
    """Recompute the whole segment and apply the difference to its membership. The compute runs
    under the segment's lock, so an incremental update cannot land between compute and apply."""
    now = now or timezone.now()
    with full_evaluation():
        locked = Segment.objects.select_for_update().select_related("app").get(pk=segment.pk)
        entered, exited = segment_membership_difference(segment=locked, now=now)
        result = _apply(locked, entered, exited, now)
        # The exact size, whatever happened before (e.g. a contact erased mid-way).
        size = SegmentMembership.objects.filter(segment=locked).count()
        Segment.objects.filter(pk=locked.pk).update(last_computed_at=now, member_count=size)
    return result


def segments_forget_contact(*, contact_id: int, now: datetime | None = None) -> None:
    """A contact is about to be erased or merged away: record its exits from every segment."""
    now = now or timezone.now()
    segment_ids_ = SegmentMembership.objects.filter(contact_id=contact_id).values_list(
        "segment_id", flat=True
    )
    for segment in Segment.objects.filter(pk__in=list(segment_ids_)).order_by("pk"):
        with transaction.atomic():
            locked = Segment.objects.select_for_update().get(pk=segment.pk)
            _apply(locked, set(), {contact_id}, now)


@metrics.SEGMENT_REFRESH_SECONDS.labels(kind="contacts").time()
def segments_refresh_contacts(
    *,
    app: App,
    contact_ids: Iterable[int],
    event_type_names: Iterable[str] | None = None,
    now: datetime | None = None,
) -> dict[int, RefreshResult]:
    """Re-evaluate, for these contacts only, the segments that depend on what changed: the given
    event types (None: every segment), and contact fields or devices. One query evaluates all
    affected segments for all the contacts."""
    now, contact_ids = now or timezone.now(), sorted(set(contact_ids))
    every_segment = list(Segment.objects.filter(app=app))
    segments = _affected_segments(every_segment, event_type_names)
    if not segments or not contact_ids:
        return {}
    # One context for all the trees: event types, attributes and referenced segments load once.
    every_tree = {"type": "and", "conditions": [segment.conditions for segment in segments]}
    trees = {segment.pk: segment.conditions for segment in every_segment}
    context = segment_context(app, every_tree, trees=trees)
    flags = tree_conditions(
        {f"s{segment.pk}": segment.conditions for segment in segments},
        context,
        app=app,
        now=now,
        contact_ids=contact_ids,
    )
    stored_flags = {f"stored_{segment.pk}": _stored_flag(segment.pk) for segment in segments}
    rows = Contact.objects.filter(app=app, pk__in=contact_ids).values("pk", **flags, **stored_flags)
    members = {segment.pk: set() for segment in segments}
    stored = {segment.pk: set() for segment in segments}
    for row in rows:
        for segment in segments:
            if row[f"s{segment.pk}"]:
                members[segment.pk].add(row["pk"])
            if row[f"stored_{segment.pk}"]:
                stored[segment.pk].add(row["pk"])
    # Only segments whose membership changes take their lock (and re-read under it).
    return {
        segment.pk: _apply_for_contacts(segment, contact_ids, members[segment.pk], now)
        if members[segment.pk] != stored[segment.pk]
        else RefreshResult()
        for segment in segments
    }


def segments_evaluate_pending(*, limit: int = 2000, now: datetime | None = None) -> int:
    """Re-evaluate the contacts that ingest marked as changed (segments/evaluation_marks.py) and
    delete the marks, in one transaction (a crash leaves the marks for the next run). Returns the
    contacts done."""
    with transaction.atomic():
        marked = EvaluationMark.objects.all()
        if connection.features.has_select_for_update_skip_locked:
            marked = marked.select_for_update(skip_locked=True)
        rows = list(
            marked.order_by("contact_id").values_list(
                "pk", "app_id", "contact_id", "event_type_id"
            )[:limit]
        )
        if not rows:
            return 0
        EvaluationMark.objects.filter(pk__in=[row[0] for row in rows]).delete()
        type_names = dict(
            EventType.objects.filter(pk__in={row[3] for row in rows}).values_list("pk", "name")
        )
        changes: dict[int, tuple[set, set]] = {}
        for _, app_id, contact_id, type_id in rows:
            contacts, names = changes.setdefault(app_id, (set(), set()))
            contacts.add(contact_id)
            if type_id in type_names:  # (a type deleted meanwhile changes nothing)
                names.add(type_names[type_id])
        for app in App.objects.filter(pk__in=changes):
            contacts, names = changes[app.pk]
            segments_refresh_contacts(
                app=app, contact_ids=contacts, event_type_names=names, now=now
            )
    return len({row[2] for row in rows})


def _stored_flag(segment_id: int) -> RawSQL:
    """Whether the contact is stored as a member, in the same query as the trees' flags (one
    round trip less per update). Written as SQL because an ORM Exists per segment costs more
    Python to build than the whole query takes to run for one contact."""
    return RawSQL(
        f'EXISTS (SELECT 1 FROM "{SegmentMembership._meta.db_table}" '
        f'WHERE segment_id = %s AND contact_id = "{Contact._meta.db_table}"."id")',
        [segment_id],
        output_field=BooleanField(),
    )


def _affected_segments(segments: list[Segment], event_type_names) -> list[Segment]:
    if event_type_names is None:
        return segments
    changed = set(event_type_names)
    trees = {segment.pk: segment.conditions for segment in segments}

    def depends(tree, seen=frozenset()) -> bool:
        if uses_contact_fields(tree) or event_names(tree) & changed:
            return True
        return any(
            depends(trees[pk], seen | {pk}) for pk in segment_ids(tree) - seen if pk in trees
        )

    return [segment for segment in segments if depends(segment.conditions)]


def _apply_for_contacts(
    segment: Segment, contact_ids: list[int], members: set[int], now
) -> RefreshResult:
    with transaction.atomic():
        locked = Segment.objects.select_for_update().get(pk=segment.pk)
        stored = set(
            SegmentMembership.objects.filter(
                segment=locked, contact_id__in=contact_ids
            ).values_list("contact_id", flat=True)
        )
        return _apply(locked, members - stored, stored - members, now)


def _apply(segment: Segment, entered: set[int], exited: set[int], now: datetime) -> RefreshResult:
    """Record entries and exits of a locked segment (history, count, subscribers on commit)."""
    if entered:
        memberships_insert(segment_id=segment.pk, contact_ids=entered, at=now)
    if exited:
        memberships_delete(segment_id=segment.pk, contact_ids=exited)
    for kind, contact_ids in (("entered", entered), ("exited", exited)):
        if contact_ids:
            changes_insert(segment_id=segment.pk, contact_ids=contact_ids, kind=kind, at=now)
    if entered or exited:
        Segment.objects.filter(pk=segment.pk).update(
            member_count=F("member_count") + len(entered) - len(exited)
        )
        transaction.on_commit(
            lambda: segment_membership_changed.send(
                sender=Segment, segment=segment, entered=entered, exited=exited
            )
        )
    return RefreshResult(entered=entered, exited=exited)
