"""Exports of contacts, a segment's members and events of a period (issue 19): each format parsed
back and compared with the database, tenancy, bad input, the admin's buttons and pages, the
command, and a 200,000-member segment streamed in constant memory."""

from __future__ import annotations

import csv
import io
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import resolve

from contacts.models import Contact
from events.models import Event
from events.services.ingest import events_ingest
from segments.models import Segment, SegmentMembership
from transfers.api import views
from transfers.selectors.exports import (
    CONTACT_FIELDS,
    EVENT_FIELDS,
    MEMBER_FIELDS,
    contact_export_rows,
    event_export_rows,
)

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TRICKY = {
    "plan": "pro, yearly",
    "quote": 'say "hi"',
    "lines": "one\ntwo",
    "name": "Zoë 日本",
    "score": 4.5,
    "tags": ["a", "b"],
    "nested": {"deep": True, "none": None},
}


# Reading an export back --------------------------------------------------------------------------


def parsed(response) -> list[dict]:
    """The rows of a streamed export, whatever its format, with JSON columns and times decoded."""
    assert response.streaming, "an export must be streamed"
    body = b"".join(response.streaming_content)
    if response["Content-Type"].startswith("text/csv"):
        return [_typed_csv_row(row) for row in csv.DictReader(io.StringIO(body.decode()))]
    return [_typed_json_row(orjson.loads(line)) for line in body.splitlines()]


def csv_header(response) -> list[str]:
    return next(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def _typed_csv_row(row: dict) -> dict:
    typed = {}
    for name, text in row.items():
        if name in ("custom_fields", "params", "context"):
            typed[name] = orjson.loads(text)
        elif name in ("id", "contact_id"):
            typed[name] = int(text)
        elif text == "":
            typed[name] = None
        elif name.endswith("_at"):
            typed[name] = datetime.fromisoformat(text)
        else:
            typed[name] = text
    return typed


def _typed_json_row(row: dict) -> dict:
    return {
        name: datetime.fromisoformat(value) if name.endswith("_at") and value else value
        for name, value in row.items()
    }


def expected_contact(contact: Contact) -> dict:
    row = {name: getattr(contact, name) for name in CONTACT_FIELDS}
    row["id"] = contact.pk
    return row


def _blank(value):
    """CSV has no null: an empty text field reads back as None."""
    return None if value == "" else value


def same_rows(got: list[dict], want: list[dict], *, csv_format: bool) -> None:
    if csv_format:
        want = [{k: _blank(v) for k, v in row.items()} for row in want]
    assert got == want


# Data ------------------------------------------------------------------------------------------


@pytest.fixture
def contacts(app, other_app):
    """Three contacts of `app` with every field set somewhere, and one of the other app."""
    seen = T0 - timedelta(days=3)
    made = [
        Contact.objects.create(
            app=app,
            external_id="ann",
            email="ann@example.com",
            phone="+33 6 12 34 56 78",
            custom_fields=TRICKY,
            timezone="Europe/Paris",
            language="fr",
            country="FR",
            first_seen_at=seen,
            last_seen_at=T0,
        ),
        Contact.objects.create(app=app, anonymous_id="anon-1", custom_fields={}),
        Contact.objects.create(
            app=app,
            external_id="=HYPERLINK(1)",
            email_status=Contact.EmailStatus.UNSUBSCRIBED,
            custom_fields={"n": 1},
        ),
    ]
    Contact.objects.create(app=other_app, external_id="theirs", custom_fields={"x": 1})
    return made


@pytest.fixture
def segment(app, contacts):
    """Two of the three contacts, entered at different times."""
    segment = Segment.objects.create(app=app, name="Fans", conditions={"type": "device"})
    for offset, contact in enumerate([contacts[0], contacts[2]]):
        SegmentMembership.objects.create(
            segment=segment, contact=contact, entered_at=T0 + timedelta(minutes=offset)
        )
    return segment


@pytest.fixture
def other_segment(other_app):
    return Segment.objects.create(app=other_app, name="Theirs", conditions={"type": "device"})


def ingest(app, *payloads) -> None:
    results = events_ingest(app=app, payloads=list(payloads), received_at=T0 + timedelta(days=1))
    assert all(not result.errors for result in results), [r.errors for r in results]


@pytest.fixture
def events(app, other_app):
    """Events of `app` at, inside and just past the period [T0, T0 + 1 h), and of the other app."""
    hour = timedelta(hours=1)
    at = {
        "before": T0 - timedelta(seconds=1),
        "start": T0,
        "inside": T0 + timedelta(minutes=30),
        "end": T0 + hour,
    }
    for label, moment in at.items():
        for name in ("purchase", "view"):
            ingest(
                app,
                {
                    "event_name": name,
                    "app_user_id": "ann",
                    "event_time": moment.isoformat(),
                    "session_id": f"s-{label}",
                    "params": {"label": label, "amount": 12.5, "sku": 'a,b"c'},
                },
            )
    ingest(other_app, {"event_name": "purchase", "app_user_id": "x", "event_time": T0.isoformat()})
    return {"from": T0.isoformat(), "to": (T0 + hour).isoformat()}


def expected_events(app, *, start, end, name=None) -> list[dict]:
    events = Event.objects.filter(app=app, occurred_at__gte=start, occurred_at__lt=end)
    if name:
        events = events.filter(event_type__name=name)
    return [
        {
            "id": event.pk,
            "event": event.event_type.name,
            "occurred_at": event.occurred_at,
            "received_at": event.received_at,
            "contact_id": event.contact_id,
            "contact_external_id": event.contact.external_id,
            "session_id": event.session_id,
            "params": event.params,
            "context": event.context,
        }
        for event in events.select_related("event_type", "contact").order_by("occurred_at", "pk")
    ]


# The API ---------------------------------------------------------------------------------------

FORMATS = ["csv", "jsonl"]


def test_export_addresses_reach_the_export_views_not_earlier_patterns():
    assert resolve("/api/v1/contacts/export").func.view_class is views.ContactExportView
    assert resolve("/api/v1/events/export").func.view_class is views.EventExportView
    members = resolve("/api/v1/segments/7/members/export")
    assert members.func.view_class is views.SegmentMemberExportView


@pytest.mark.parametrize("file_format", FORMATS)
def test_contacts_export_matches_the_database(admin_client, app, contacts, file_format):
    response = admin_client.get("/api/v1/contacts/export", {"format": file_format})
    assert response.status_code == 200
    want = [expected_contact(c) for c in Contact.objects.filter(app=app).order_by("pk")]
    same_rows(parsed(response), want, csv_format=file_format == "csv")
    assert len(want) == 3 and want[0]["custom_fields"] == TRICKY


def test_csv_and_json_lines_have_their_content_types_and_file_names(admin_client, contacts):
    csv_response = admin_client.get("/api/v1/contacts/export", {"format": "csv"})
    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = csv_response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="shop-contacts-')
    assert disposition.endswith('.csv"')
    assert csv_header(csv_response) == CONTACT_FIELDS
    jsonl = admin_client.get("/api/v1/contacts/export", {"format": "jsonl"})
    assert jsonl["Content-Type"] == "application/x-ndjson"
    assert jsonl["Content-Disposition"].endswith('.jsonl"')
    # CSV is the default, and an Accept header asks for nothing else.
    default = admin_client.get("/api/v1/contacts/export", HTTP_ACCEPT="application/x-ndjson")
    assert default["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize("file_format", FORMATS)
def test_segment_members_export_matches_the_database(admin_client, segment, file_format):
    url = f"/api/v1/segments/{segment.pk}/members/export"
    response = admin_client.get(url, {"format": file_format})
    assert response.status_code == 200
    assert f'filename="shop-segment-{segment.pk}-' in response["Content-Disposition"]
    memberships = SegmentMembership.objects.filter(segment=segment).select_related("contact")
    want = [
        {**expected_contact(m.contact), "entered_at": m.entered_at}
        for m in memberships.order_by("contact_id")
    ]
    assert len(want) == 2
    got = parsed(response)
    same_rows(got, want, csv_format=file_format == "csv")
    assert list(got[0]) == MEMBER_FIELDS


@pytest.mark.parametrize("file_format", FORMATS)
def test_events_export_holds_the_period_from_included_to_excluded(
    admin_client, app, events, file_format
):
    response = admin_client.get("/api/v1/events/export", {**events, "format": file_format})
    assert response.status_code == 200
    got = parsed(response)
    want = expected_events(app, start=T0, end=T0 + timedelta(hours=1))
    same_rows(got, want, csv_format=file_format == "csv")
    assert [row["params"]["label"] for row in got] == ["start", "start", "inside", "inside"]
    assert list(got[0]) == EVENT_FIELDS and got[0]["contact_external_id"] == "ann"


def test_events_export_of_one_event_name(admin_client, app, events):
    query = {**events, "format": "jsonl", "event_name": "view"}
    response = admin_client.get("/api/v1/events/export", query)
    got = parsed(response)
    assert [row["event"] for row in got] == ["view", "view"]
    assert got == expected_events(app, start=T0, end=T0 + timedelta(hours=1), name="view")
    assert (
        "shop-events-view-20260601-120000-20260601-130000.jsonl"
        in (response["Content-Disposition"])
    )


def test_an_app_key_exports_only_its_own_app(
    other_admin_client, other_app, contacts, segment, events
):
    contacts_body = parsed(other_admin_client.get("/api/v1/contacts/export", {"format": "jsonl"}))
    assert [row["external_id"] for row in contacts_body] == ["theirs", "x"]
    events_body = parsed(other_admin_client.get("/api/v1/events/export", events))
    assert {row["contact_external_id"] for row in events_body} == {"x"}
    theirs = expected_events(other_app, start=T0, end=T0 + timedelta(hours=1))
    same_rows(events_body, theirs, csv_format=True)  # CSV, the default
    response = other_admin_client.get(f"/api/v1/segments/{segment.pk}/members/export")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "no such segment"}


def test_exports_need_an_admin_key(client, ingest_client, segment):
    for url in ("/api/v1/contacts/export", f"/api/v1/segments/{segment.pk}/members/export"):
        assert client.get(url).status_code == 401
        assert ingest_client.get(url).status_code == 403


def refused(response, field: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "validation" and field in body["detail"], body


@pytest.mark.parametrize("value", ["xml", "CSV", "json", "csv\0", ""])
def test_an_unknown_format_is_refused_naming_it(admin_client, segment, value):
    refused(admin_client.get("/api/v1/contacts/export", {"format": value}), "format")
    url = f"/api/v1/segments/{segment.pk}/members/export"
    refused(admin_client.get(url, {"format": value}), "format")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"to": "2026-06-01T13:00:00Z"}, "from"),
        ({"from": "2026-06-01T12:00:00Z"}, "to"),
        ({"from": "2026-06-01", "to": "2026-06-02T00:00:00Z"}, "from"),
        ({"from": "2026-06-01T12:00:00Z", "to": "2026-06-01T12:00:00+16:00"}, "to"),
        ({"from": "2026-06-01T12:00:00Z", "to": "2026-06-01T12:00:00Z"}, "to"),
        ({"from": "2026-06-01T12:00:00Z", "to": "2026-06-01T11:00:00Z"}, "to"),
        ({"from": "2026-06-01T12:00:00Z", "to": "2026-06-02T00:00:00Z", "format": "x"}, "format"),
        (
            {"from": "2026-06-01T12:00:00Z", "to": "2026-06-02T00:00:00Z", "event_name": "nope"},
            "event_name",
        ),
        (
            {"from": "2026-06-01T12:00:00Z", "to": "2026-06-02T00:00:00Z", "event_name": "a\0"},
            "event_name",
        ),
        (
            {"from": "2026-06-01T12:00:00Z", "to": "2026-06-02T00:00:00Z", "event_name": ""},
            "event_name",
        ),
        ({"from": "", "to": "2026-06-02T00:00:00Z"}, "from"),
    ],
)
def test_bad_event_export_queries_are_refused_naming_the_field(admin_client, events, query, field):
    refused(admin_client.get("/api/v1/events/export", query), field)


def test_an_unknown_segment_is_404_in_the_error_shape(admin_client, app):
    response = admin_client.get("/api/v1/segments/999999/members/export")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


# Paging ----------------------------------------------------------------------------------------


def test_pages_cover_every_row_once_in_order(app, contacts):
    rows = contact_export_rows(app=app, page_size=2)
    pages = list(rows.pages)
    assert [len(page) for page in pages] == [2, 1]
    ids = [row[0] for page in pages for row in page]
    assert ids == sorted(c.pk for c in contacts)


def test_event_pages_keep_ties_on_the_same_instant(app):
    """Five events at one instant, read two at a time: the (occurred_at, id) key neither skips
    nor repeats the ties."""
    ingest(
        app,
        *(
            {"event_name": "tick", "app_user_id": f"u{i}", "event_time": T0.isoformat()}
            for i in range(5)
        ),
        {
            "event_name": "tick",
            "app_user_id": "late",
            "event_time": (T0 + timedelta(seconds=1)).isoformat(),
        },
    )
    rows = event_export_rows(app=app, start=T0, end=T0 + timedelta(hours=1), page_size=2)
    ids = [row[0] for page in rows.pages for row in page]
    assert ids == [e.pk for e in Event.objects.filter(app=app).order_by("occurred_at", "pk")]
    # Ingest adds each new contact's session opening (@APP_OPEN) at the same instant: more ties.
    assert len(ids) == len(set(ids)) == Event.objects.filter(app=app).count() >= 6


# The admin -------------------------------------------------------------------------------------


def test_the_admin_pages_show_an_export_button(role_client, app, segment, events):
    browser = role_client("Marketer", app)
    pages = {
        "/admin/contacts/contact/": "/admin/exports/contacts/",
        "/admin/events/event/": "/admin/exports/events/",
        f"/admin/segments/segment/{segment.pk}/page/": f"/admin/exports/segments/{segment.pk}/",
    }
    for page, export in pages.items():
        response = browser.get(page)
        assert response.status_code == 200, page
        assert f'href="{export}" class="export-link">Export</a>' in response.content.decode(), page
        form = browser.get(export)
        assert form.status_code == 200 and 'id="export-form"' in form.content.decode()


@pytest.mark.parametrize("file_format", FORMATS)
def test_the_admin_downloads_each_export(role_client, app, segment, events, file_format):
    browser = role_client("Marketer", app)
    got = parsed(browser.get("/admin/exports/contacts/", {"app": app.pk, "format": file_format}))
    assert [row["id"] for row in got] == list(
        Contact.objects.filter(app=app).order_by("pk").values_list("pk", flat=True)
    )
    members = browser.get(f"/admin/exports/segments/{segment.pk}/", {"format": file_format})
    assert members["Content-Disposition"].startswith("attachment;")
    assert len(parsed(members)) == 2
    # Days in the app's timezone (UTC here), the last one included.
    query = {"app": app.pk, "start": "2026-06-01", "end": "2026-06-01", "format": file_format}
    rows = parsed(browser.get("/admin/exports/events/", {**query, "event_name": "purchase"}))
    day = expected_events(
        app, start=T0.replace(hour=0), end=T0.replace(hour=0) + timedelta(days=1), name="purchase"
    )
    same_rows(rows, day, csv_format=file_format == "csv")
    assert len(rows) == 4


def test_the_admin_exports_only_the_users_apps(role_client, app, other_app, other_segment, events):
    browser = role_client("Marketer", app)
    assert browser.get(f"/admin/exports/segments/{other_segment.pk}/").status_code == 404
    response = browser.get("/admin/exports/contacts/", {"app": other_app.pk, "format": "csv"})
    assert not response.streaming and "errornote" in response.content.decode()
    query = {"app": app.pk, "start": "2026-06-02", "end": "2026-06-01", "format": "csv"}
    response = browser.get("/admin/exports/events/", {**query, "event_name": "nope"})
    page = response.content.decode()
    assert not response.streaming and "no event of this name in Shop" in page
    assert "must be the same day as From or later" in page
    query = {"app": app.pk, "start": "9999-12-31", "end": "9999-12-31", "format": "csv"}
    response = browser.get("/admin/exports/events/", query)
    assert not response.streaming and "between years 1 and 9999" in response.content.decode()


def test_a_user_who_may_not_view_contacts_cannot_export(app, segment):
    user = get_user_model().objects.create_user("clerk", password="pw", is_staff=True)
    app.members.add(user)
    browser = Client()
    browser.force_login(user)
    for url in (
        "/admin/exports/contacts/",
        "/admin/exports/events/",
        f"/admin/exports/segments/{segment.pk}/",
    ):
        assert browser.get(url, {"format": "csv"}).status_code == 403, url


# The command -----------------------------------------------------------------------------------


def run_export(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("beacon_export", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_writes_each_export(app, contacts, segment, events, tmp_path):
    target = tmp_path / "contacts.jsonl"
    out, err = run_export("--app", "shop", "contacts", "--format", "jsonl", "--output", str(target))
    assert out == ""
    lines = [orjson.loads(line) for line in target.read_bytes().splitlines()]
    assert [line["id"] for line in lines] == [c.pk for c in contacts]
    assert lines[0]["custom_fields"] == TRICKY
    assert "done: 3 rows" in err and "rows/s" in err

    out, err = run_export("--app", "shop", "segment", str(segment.pk))
    members = list(csv.DictReader(io.StringIO(out)))
    assert [int(row["id"]) for row in members] == [contacts[0].pk, contacts[2].pk]
    assert "done: 2 rows" in err

    out, _ = run_export(
        "--app",
        "shop",
        "events",
        "--from",
        events["from"],
        "--to",
        events["to"],
        "--event-name",
        "purchase",
        "--format",
        "jsonl",
    )
    got = [_typed_json_row(orjson.loads(line)) for line in out.splitlines()]
    assert got == expected_events(app, start=T0, end=T0 + timedelta(hours=1), name="purchase")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--app", "nope", "contacts"], "no app"),
        (["--app", "shop", "segment"], "segment's id"),
        (["--app", "shop", "contacts", "12"], "takes no id"),
        (["--app", "shop", "segment", "999999"], "no segment"),
        (["--app", "shop", "events", "--to", "2026-06-01T00:00:00Z"], "--from is required"),
        (
            ["--app", "shop", "events", "--from", "yesterday", "--to", "2026-06-01T00:00:00Z"],
            "--from",
        ),
        (
            [
                "--app",
                "shop",
                "events",
                "--from",
                "2026-06-02T00:00:00Z",
                "--to",
                "2026-06-01T00:00:00Z",
            ],
            "after",
        ),
    ],
)
def test_the_command_refuses_bad_arguments(app, args, message):
    with pytest.raises(CommandError, match=message):
        run_export(*args)


# Constant memory -------------------------------------------------------------------------------

BIG = 200_000
SMALL = 20_000


def contacts_insert(app, count: int) -> None:
    """`count` contacts in one statement (a recursive row source both databases take)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO contacts_contact (app_id, external_id, email, custom_fields, source, "
            "timezone, language, country, created_at) "
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
            "SELECT %s, 'user-' || i, 'user' || i || '@example.com', "
            """'{"plan": "pro", "score": 3}', 'import', 'Europe/Paris', 'fr', 'FR', %s FROM n""",
            [count, app.pk, T0],
        )


def members_insert(segment, count: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO segments_segmentmembership (segment_id, contact_id, entered_at) "
            "SELECT %s, id, %s FROM contacts_contact WHERE app_id = %s ORDER BY id LIMIT %s",
            [segment.pk, T0, segment.app_id, count],
        )


def streamed(client, segment, file_format: str) -> tuple[int, int]:
    """Rows and bytes of the segment's export, read chunk by chunk as a client would."""
    response = client.get(f"/api/v1/segments/{segment.pk}/members/export", {"format": file_format})
    assert response.status_code == 200
    lines = size = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
        size += len(chunk)
    return lines - (file_format == "csv"), size


def traced_peak(client, segment, file_format: str) -> tuple[int, int, int]:
    tracemalloc.start()
    try:
        rows, size = streamed(client, segment, file_format)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return rows, size, peak


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_200000_member_segment_streams_in_constant_memory(admin_client, app, file_format):
    contacts_insert(app, BIG)
    big = Segment.objects.create(app=app, name="Big", conditions={"type": "device"})
    small = Segment.objects.create(app=app, name="Small", conditions={"type": "device"})
    members_insert(big, BIG)
    members_insert(small, SMALL)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the planner sees the tables' new sizes
            cursor.execute("ANALYZE contacts_contact; ANALYZE segments_segmentmembership")

    started = time.perf_counter()
    assert streamed(admin_client, big, file_format)[0] == BIG  # untraced: the rate, and warm-up
    elapsed = time.perf_counter() - started

    small_rows, _, small_peak = traced_peak(admin_client, small, file_format)
    big_rows, big_size, big_peak = traced_peak(admin_client, big, file_format)
    assert (small_rows, big_rows) == (SMALL, BIG)
    print(
        f"\n{connection.vendor} {file_format}: {BIG:,} rows in {elapsed:.2f} s "
        f"({BIG / elapsed:,.0f} rows/s), {big_size / 1e6:.1f} MB; traced peak "
        f"{small_peak / 1e6:.2f} MB for {SMALL:,} rows, {big_peak / 1e6:.2f} MB for {BIG:,}"
    )
    # Ten times the rows, about the same peak: a page at a time, whatever the size.
    assert big_peak < 1.5 * small_peak + 256 * 1024
    # And far below the file itself (a page of rows is about 6 MB in Python objects and text).
    assert big_peak < big_size / 3


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/contacts/export?format=csv",
        "/api/v1/events/export?format=jsonl&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z",
    ],
)
def test_an_ingest_key_may_not_export(app, ingest_client, path):
    """Ingest keys sit in web pages and apps: they may send events, never read contacts out."""
    Contact.objects.create(app=app, external_id="secret-customer")
    response = ingest_client.get(path)
    assert response.status_code == 403, response.content
    assert b"secret-customer" not in response.content
