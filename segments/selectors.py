"""Reads on segments."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import BooleanField, Count, F, Q, QuerySet, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.utils import timezone

from common.db.dialect import dialect
from contacts.models import App, Contact
from events.formats import kind
from events.models import EventType
from segments.conditions.compiled import segment_contacts
from segments.conditions.evaluation import full_evaluation
from segments.conditions.validation import conditions_validate
from segments.models import Segment, SegmentChange, SegmentMembership


def segment_preview(
    *, app: App, conditions, sample_size: int = 10, segment_id: int | None = None
) -> tuple[int, list[Contact]]:
    """How many contacts match `conditions` now, and the `sample_size` seen last (nothing is
    saved). `segment_id` is the segment being edited, if any: a tree that would include it is
    refused as its save would be.

    One evaluation of the tree, not a count and then a sample: the matches with a window count
    of them all, in a subquery, and the latest seen of them. As one flat query, the planner
    would rather sort every contact by last seen first and probe each against the tree (4x
    slower on the bench for a churn-risk tree), so the subquery keeps the order by outside.
    Each returned row carries the total: no row means no match."""
    conditions_validate(app=app, conditions=conditions, segment_id=segment_id)
    latest, params = segment_preview_sql(app=app, conditions=conditions, limit=max(sample_size, 1))
    with full_evaluation(), connection.cursor() as cursor:
        cursor.execute(latest, params)
        rows = cursor.fetchall()
    members = [member for member, _ in rows[:sample_size]]
    contacts = Contact.objects.in_bulk(members)  # one erased meanwhile is left out
    return (rows[0][1] if rows else 0), [contacts[pk] for pk in members if pk in contacts]


def segment_preview_sql(
    *, app: App, conditions, limit: int, now: datetime | None = None
) -> tuple[str, list]:
    """The query of segment_preview: rows (contact id, count of all matches), the `limit`
    matches seen last."""
    matched = segment_contacts(app=app, conditions=conditions, now=now).values(
        member=F("pk"), seen=F("last_seen_at"), total=Window(Count("pk"))
    )
    sql, params = matched.query.sql_with_params()
    latest = (
        f"SELECT member, total FROM ({sql}) AS matched "
        "ORDER BY seen DESC NULLS LAST, member DESC LIMIT %s"
    )
    return latest, [*params, limit]


def segment_membership_difference(*, segment: Segment, now: datetime) -> tuple[set, set]:
    """(entered, exited) at `now`: the contacts the segment's tree matches that are not stored
    as its members, and the stored members it no longer matches. The database compares (a full
    join of the matches with the stored members), so only the differences travel, not two lists
    of every member: a steady-state refresh of a segment of 120,000 spent more time building
    those sets in Python than evaluating its tree."""
    with connection.cursor() as cursor:
        cursor.execute(*segment_membership_difference_sql(segment=segment, now=now))
        rows = cursor.fetchall()
    entered = {member for member, stored in rows if stored is None}
    return entered, {stored for member, stored in rows if member is None}


def segment_membership_difference_sql(*, segment: Segment, now: datetime) -> tuple[str, list]:
    """The query of segment_membership_difference: rows (match, stored member), one of them
    NULL."""
    matched = segment_contacts(app=segment.app, conditions=segment.conditions, now=now)
    sql, params = matched.values(member=F("pk")).query.sql_with_params()
    difference = (
        f"SELECT matched.member, stored.contact_id FROM ({sql}) AS matched "
        f'FULL OUTER JOIN (SELECT contact_id FROM "{SegmentMembership._meta.db_table}" '
        "WHERE segment_id = %s) AS stored ON stored.contact_id = matched.member "
        "WHERE matched.member IS NULL OR stored.contact_id IS NULL"
    )
    return difference, [*params, segment.pk]


def segment_list(*, app: App) -> QuerySet[Segment]:
    return Segment.objects.filter(app=app)


def segment_get(*, app: App, segment_id: int) -> Segment | None:
    return Segment.objects.filter(app=app, pk=segment_id).first()


def segments_largest(*, apps: QuerySet[App], limit: int = 5) -> list[Segment]:
    """By their last computed member count (kept on the row: no COUNT over memberships)."""
    segments = Segment.objects.filter(app__in=apps).select_related("app")
    return list(segments.order_by("-member_count", "name")[:limit])


def segments_tagged(queryset: QuerySet[Segment], *, tag: str) -> QuerySet[Segment]:
    """The segments whose tags list contains `tag` (exactly). Raw SQL, because Django has no
    JSON containment lookup on SQLite."""
    sql, params = dialect().json_array_contains(f'"{Segment._meta.db_table}"."tags"', tag)
    return queryset.filter(RawSQL(sql, params, output_field=BooleanField()))


def app_segment_tags(*, apps: Iterable[App]) -> list[str]:
    """The tags used by the segments of `apps`, sorted (an app has a few dozen segments)."""
    lists = Segment.objects.filter(app__in=apps).values_list("tags", flat=True)
    return sorted({tag for tags in lists for tag in tags or [] if isinstance(tag, str)})


def segment_member_list(*, segment: Segment, search: str = "") -> QuerySet[SegmentMembership]:
    """The segment's members, latest entries first, with their contacts; `search` keeps those
    whose external id or email starts with it (emails are stored lower-case)."""
    members = SegmentMembership.objects.filter(segment=segment)
    if search := search.strip():
        members = members.filter(
            Q(contact__external_id__startswith=search)
            | Q(contact__email__startswith=search.lower())
        )
    return members.select_related("contact").order_by("-entered_at", "-contact_id")


def segment_member_ids(*, segment: Segment) -> QuerySet:
    """The contact ids of the segment's stored members, as a subquery for another app's read
    (the dashboard's insights restrict events to them without events importing segments)."""
    return SegmentMembership.objects.filter(segment=segment).values("contact_id")


def segment_builder_catalog(*, app: App, segment_id: int | None = None) -> dict:
    """What the segment builder offers for `app`: the events enabled for segmentation with their
    attributes and types, and the app's other segments (not `segment_id`, the one being edited)."""
    event_types = (
        EventType.objects.filter(app=app, segmentation_enabled=True)
        .prefetch_related("attributes")
        .order_by("name")
    )
    events = [
        {
            "name": event_type.name,
            "attributes": [
                {"name": attribute.name, "type": kind(attribute.type, attribute.is_array)}
                for attribute in event_type.attributes.all()
            ],
        }
        for event_type in event_types
    ]
    segments = Segment.objects.filter(app=app).exclude(pk=segment_id).order_by("name", "pk")
    return {"events": events, "segments": list(segments.values("id", "name"))}


def contact_find(*, app: App, identifier: str) -> Contact | None:
    """The app's contact an identifier names: an external id, an email (any case), an anonymous
    id, or "#<id>" (a contact without identifiers, as the pages show it)."""
    identifier = identifier.strip()
    if not identifier:
        return None
    contacts = Contact.objects.filter(app=app)
    if identifier.startswith("#") and identifier[1:].isdigit():
        return contacts.filter(pk=int(identifier[1:])).first()
    named = Q(external_id=identifier) | Q(email=identifier.lower()) | Q(anonymous_id=identifier)
    return contacts.filter(named).order_by("pk").first()


def contact_segment_list(*, contact: Contact) -> QuerySet[SegmentMembership]:
    """The segments `contact` is in (their memberships), by segment name."""
    return (
        SegmentMembership.objects.filter(contact=contact, segment__app_id=contact.app_id)
        .select_related("segment")
        .order_by("segment__name", "segment_id")
    )


def segment_history(*, segment: Segment, days: int = 30, now: datetime | None = None) -> list[dict]:
    """Entries, exits and size at the end of each of the last `days` days (the app's calendar
    days, oldest first).

    The size is counted back from the current membership: the size at the end of a day is the
    current size minus the entries and plus the exits recorded after that day. So the last point
    is always the real size, whatever the history before the segment's first refresh."""
    tz = ZoneInfo(segment.app.timezone)
    today = (now or timezone.now()).astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=tz)
    counts: dict[tuple[date, str], int] = {
        (row["day"], row["kind"]): row["n"]
        for row in SegmentChange.objects.filter(segment=segment, at__gte=start)
        .annotate(day=TruncDate("at", tzinfo=tz))
        .values("day", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    }
    size = SegmentMembership.objects.filter(segment=segment).count()
    points = []
    for offset in range(days):
        day = today - timedelta(days=offset)
        entered = counts.get((day, SegmentChange.Kind.ENTERED.value), 0)
        exited = counts.get((day, SegmentChange.Kind.EXITED.value), 0)
        points.append({"date": day, "entered": entered, "exited": exited, "size": size})
        size -= entered - exited
    return points[::-1]
