"""Importing contacts and historical events: the services (CSV with a mapping, JSON Lines, rejected
rows with reasons, resumption, de-duplication, no campaign for old events, tenancy), the admin's
pages, and `manage.py beacon_import`."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from campaigns.models import Delivery
from campaigns.services.triggers import trigger_marks_process
from contacts.models import Contact
from events.models import Event
from tests.campaigns.factories import active_campaign, subscribe
from transfers.models import ImportChunk, ImportJob, ImportRejection
from transfers.services.imports.jobs import (
    LEASE,
    import_job_create,
    import_job_map,
    import_job_run,
    import_jobs_waiting,
)
from transfers.services.imports.reading import chunks, jsonl_lines, rows_parse, text_stream
from transfers.services.imports.store import import_rows_store
from transfers.tasks import imports_resume_task

pytestmark = pytest.mark.django_db

CONTACTS_CSV = (
    "User ID,E-mail,Plan,Age,VIP,country\n"
    "u1,ann@example.com,gold,41,yes,TR\n"
    "u2,not-an-email,silver,33,no,FR\n"
    'u3,,"bronze, old",,,\n'
    "u4,dan@example.com,gold,forty,no,DE\n"
    ",eve@example.com,gold,20,no,DE\n"
)
CONTACTS_MAPPING = {
    "User ID": "external_id",
    "E-mail": "email",
    "Plan": "custom.plan",
    "Age": "custom.age:number",
    "VIP": "custom.vip:boolean",
    "country": "country",
}


def create(app, text: str, *, kind: str, format: str = "csv", name: str = "file") -> ImportJob:
    return import_job_create(
        app=app, kind=kind, format=format, file=io.BytesIO(text.encode()), file_name=name
    )


def run_mapped(app, capture, text: str, mapping: dict, *, kind: str) -> ImportJob:
    job = create(app, text, kind=kind)
    with capture(execute=True):
        import_job_map(job=job, mapping=mapping)
    job.refresh_from_db()
    return job


def rejections(job) -> list[tuple[int, str]]:
    return list(
        ImportRejection.objects.filter(job=job).order_by("row").values_list("row", "reason")
    )


def event_lines(count: int, *, start: datetime, name: str = "purchase_completed") -> str:
    return "".join(
        json.dumps(
            {
                "event_name": name,
                "event_time": (start + timedelta(minutes=i)).isoformat(),
                "app_user_id": f"u{i % 50}",
                "params": {"order": i},
            }
        )
        + "\n"
        for i in range(count)
    )


# Contacts ---------------------------------------------------------------------------------------
def test_a_contacts_csv_is_mapped_typed_and_its_bad_rows_rejected_with_reasons(
    app, django_capture_on_commit_callbacks
):
    job = run_mapped(
        app, django_capture_on_commit_callbacks, CONTACTS_CSV, CONTACTS_MAPPING, kind="contacts"
    )

    assert (job.status, job.rows_total, job.rows_done) == ("done", 5, 5)
    assert (job.rows_stored, job.rows_rejected) == (2, 3)
    assert rejections(job) == [
        (2, "email: is not a valid email address"),
        (4, "custom.age: 'forty' is not a number"),
        (5, "external_id: is required: contacts are imported by your own id"),
    ]
    assert ImportRejection.objects.get(job=job, row=2).raw == "u2,not-an-email,silver,33,no,FR"
    ann = Contact.objects.get(app=app, external_id="u1")
    assert (ann.email, ann.country, ann.source) == ("ann@example.com", "TR", "import")
    assert ann.custom_fields == {"plan": "gold", "age": 41, "vip": True}
    # An empty cell leaves a field as it is; a quoted comma stays in its cell.
    u3 = Contact.objects.get(app=app, external_id="u3")
    assert (u3.email, u3.custom_fields) == (None, {"plan": "bronze, old"})
    assert not ImportChunk.objects.filter(job=job).exists()  # the copy is gone once stored


def test_reimporting_contacts_updates_them_instead_of_adding(
    app, django_capture_on_commit_callbacks
):
    run_mapped(
        app, django_capture_on_commit_callbacks, CONTACTS_CSV, CONTACTS_MAPPING, kind="contacts"
    )
    changed = CONTACTS_CSV.replace("ann@example.com,gold", "ann@example.org,platinum")
    job = run_mapped(
        app, django_capture_on_commit_callbacks, changed, CONTACTS_MAPPING, kind="contacts"
    )

    assert job.rows_stored == 2
    assert Contact.objects.filter(app=app).count() == 2
    ann = Contact.objects.get(app=app, external_id="u1")
    assert (ann.email, ann.custom_fields["plan"]) == ("ann@example.org", "platinum")


def test_a_contacts_jsonl_file_starts_without_a_mapping(app, django_capture_on_commit_callbacks):
    lines = (
        '{"external_id": "j1", "email": "j1@example.com", "custom_fields": {"score": 7}}\n'
        "\n"
        '{"external_id": "j2", "nickname": "jj"}\n'
        "{not json\n"
        '["a list"]\n'
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = create(app, lines, kind="contacts", format="jsonl")
    job.refresh_from_db()

    assert (job.status, job.rows_total, job.rows_stored, job.rows_rejected) == ("done", 4, 1, 3)
    reasons = dict(rejections(job))
    assert reasons[2] == "nickname: unknown field of a contact"
    assert reasons[3].startswith("not valid JSON")
    assert reasons[4] == "each line must be a JSON object"
    assert Contact.objects.get(external_id="j1").custom_fields == {"score": 7}


def test_the_mapping_must_name_the_required_field_once(app):
    job = create(app, CONTACTS_CSV, kind="contacts")
    with pytest.raises(ValidationError) as refused:
        import_job_map(job=job, mapping={"E-mail": "email", "Plan": "email"})
    assert refused.value.message_dict == {
        "Plan": ["email is already the column 'E-mail''s"],
        "mapping": ["map a column to external_id"],
    }
    with pytest.raises(ValidationError) as refused:
        import_job_map(job=job, mapping={"User ID": "external_id", "Age": "custom.age:date"})
    assert "the type must be one of text, number, boolean" in refused.value.message_dict["Age"][0]
    job.refresh_from_db()
    assert job.status == "mapping"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"id,email\n", "the file holds no rows to import"),
        (b"id,email\nu1,\xe9t\xe9@example.com\n", "the file is not UTF-8 text"),
        (b"id,id\nu1,u2\n", "the header names a column twice: id"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(app, content, reason):
    with pytest.raises(ValidationError) as refused:
        import_job_create(app=app, kind="contacts", format="csv", file=io.BytesIO(content))
    assert reason in refused.value.message_dict["file"][0]
    assert not ImportJob.objects.exists()


# Events -----------------------------------------------------------------------------------------
def test_events_from_csv_go_through_ingest_with_typed_params(
    app, django_capture_on_commit_callbacks
):
    text = (
        "name,time,user,price,gift\n"
        "purchase_completed,2026-01-05T10:00:00Z,u1,12.50,true\n"
        "purchase_completed,,u2,3,false\n"
        "purchase_completed,2026-01-05T11:00:00Z,u3,cheap,false\n"
        "@OPT_IN,2026-01-05T11:00:00Z,u3,1,false\n"
    )
    mapping = {
        "name": "event_name",
        "time": "event_time",
        "user": "app_user_id",
        "price": "params.price:number",
        "gift": "params.gift:boolean",
    }
    job = run_mapped(app, django_capture_on_commit_callbacks, text, mapping, kind="events")

    assert (job.rows_stored, job.rows_rejected) == (1, 3)
    reasons = dict(rejections(job))
    assert reasons[2] == "event_time: is required in an import (a historical event needs its time)"
    assert reasons[3] == "params.price: 'cheap' is not a number"
    assert reasons[4].startswith("event_name: names starting with @ are reserved")
    [event] = Event.objects.filter(app=app, event_type__name="purchase_completed")
    assert event.params == {"price": 12.5, "gift": True}
    assert event.occurred_at == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert event.contact.external_id == "u1"


def test_the_same_events_imported_twice_are_stored_once(app, django_capture_on_commit_callbacks):
    start = timezone.now() - timedelta(days=20)
    lines = event_lines(30, start=start)
    with django_capture_on_commit_callbacks(execute=True):
        first = create(app, lines, kind="events", format="jsonl")
        second = create(app, lines, kind="events", format="jsonl")
    first.refresh_from_db()
    second.refresh_from_db()

    assert (first.rows_stored, first.rows_duplicate) == (30, 0)
    assert (second.rows_stored, second.rows_duplicate, second.rows_rejected) == (0, 30, 0)
    assert Event.objects.filter(app=app, event_type__name="purchase_completed").count() == 30


def test_old_imported_events_trigger_no_campaign_and_recent_ones_do(
    app, django_capture_on_commit_callbacks
):
    subscribe(app, "old-buyer")
    subscribe(app, "new-buyer")
    campaign = active_campaign(app)
    now = timezone.now()
    lines = (
        json.dumps(
            {
                "event_name": "purchase_completed",
                "event_time": (now - timedelta(days=10)).isoformat(),
                "app_user_id": "old-buyer",
            }
        )
        + "\n"
        + json.dumps(
            {
                "event_name": "purchase_completed",
                "event_time": (now - timedelta(hours=1)).isoformat(),
                "app_user_id": "new-buyer",
            }
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = create(app, lines, kind="events", format="jsonl")
    trigger_marks_process()  # what the worker runs on the marks ingest left

    job.refresh_from_db()
    assert job.rows_stored == 2
    reached = set(
        Delivery.objects.filter(campaign=campaign).values_list("contact__external_id", flat=True)
    )
    assert reached == {"new-buyer"}


# Running: claims and resumption -----------------------------------------------------------------
def test_a_job_resumes_after_a_crash_without_storing_anything_twice(app):
    start = timezone.now() - timedelta(days=30)
    job = create(app, event_lines(2500, start=start), kind="events", format="jsonl")
    # A worker stored the first chunk and died before its checkpoint.
    first = job.chunks.get(number=0)
    rows = rows_parse(
        kind="events", columns=[], targets={}, items=first.text.split("\n"), first_row=1
    )
    assert import_rows_store(app=app, kind="events", rows=rows).stored == 1000
    stale = timezone.now() - LEASE - timedelta(seconds=1)
    ImportJob.objects.filter(pk=job.pk).update(status="running", heartbeat_at=stale)
    assert import_jobs_waiting() == [job.pk]

    job = import_job_run(job_id=job.pk)

    assert (job.status, job.rows_done, job.rows_stored, job.rows_duplicate) == (
        "done",
        2500,
        1500,
        1000,
    )
    assert Event.objects.filter(app=app).exclude(event_type__name__startswith="@").count() == 2500


def test_a_running_job_is_not_claimed_by_a_second_worker(app):
    job = create(
        app, event_lines(3, start=timezone.now() - timedelta(days=3)), kind="events", format="jsonl"
    )
    ImportJob.objects.filter(pk=job.pk).update(status="running", heartbeat_at=timezone.now())

    assert import_job_run(job_id=job.pk) is None
    assert import_jobs_waiting() == []
    assert not Event.objects.filter(app=app, event_type__name="purchase_completed").exists()


def test_a_failed_job_says_why_and_an_admin_resumes_it_from_its_checkpoint(
    role_client, app, django_capture_on_commit_callbacks
):
    job = create(app, CONTACTS_CSV, kind="contacts")
    # A mapping the run cannot use (written around import_job_map's checks).
    ImportJob.objects.filter(pk=job.pk).update(
        status="pending", mapping={"User ID": "external_id", "Age": "custom.age:date"}
    )
    job = import_job_run(job_id=job.pk)
    assert job.status == "failed" and "the type must be one of" in job.error
    client = role_client("Admin", app)
    assert (
        "the type must be one of"
        in client.get(f"/admin/transfers/importjob/{job.pk}/change/").content.decode()
    )

    ImportJob.objects.filter(pk=job.pk).update(mapping={"User ID": "external_id"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/transfers/importjob/", {"action": "resume", "_selected_action": [job.pk]}
        )
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.error, job.rows_stored, job.rows_rejected) == ("done", "", 4, 1)


def test_the_periodic_sweep_runs_a_job_whose_nudge_was_lost_and_drops_abandoned_uploads(app):
    queued = create(app, '{"external_id": "s1"}\n', kind="contacts", format="jsonl")  # no commit
    abandoned = create(app, CONTACTS_CSV, kind="contacts")
    ImportJob.objects.filter(pk=abandoned.pk).update(created_at=timezone.now() - timedelta(days=2))
    recent = create(app, CONTACTS_CSV, kind="contacts")

    assert imports_resume_task() == 1

    queued.refresh_from_db()
    assert (queued.status, queued.rows_stored) == ("done", 1)
    assert set(ImportJob.objects.values_list("pk", flat=True)) == {queued.pk, recent.pk}
    assert not ImportChunk.objects.filter(job_id=abandoned.pk).exists()


def test_a_job_of_a_mapping_not_chosen_is_never_run(app):
    job = create(app, CONTACTS_CSV, kind="contacts")
    assert import_job_run(job_id=job.pk) is None
    assert import_jobs_waiting() == []


# The admin ------------------------------------------------------------------------------------
def upload(client, app, text: str, *, name: str = "people.csv", kind: str = "contacts"):
    file = io.BytesIO(text.encode())
    file.name = name
    return client.post(
        "/admin/transfers/importjob/add/", {"app": app.pk, "kind": kind, "file": file}
    )


def test_an_admin_uploads_maps_and_reads_the_rejected_rows(
    role_client, app, django_capture_on_commit_callbacks
):
    client = role_client("Admin", app)
    response = upload(client, app, CONTACTS_CSV)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/transfers/importjob/{job.pk}/change/"

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page.templates[0].name == "admin/transfers/importjob/mapping.html"
    form = page.context["form"]
    guessed = {field.label: field.initial for field in form}
    assert guessed == {
        "User ID": "external_id",
        "E-mail": "email",
        "Plan": "custom.Plan",
        "Age": "custom.Age",
        "VIP": "custom.VIP",
        "country": "country",
    }
    assert "ann@example.com" in page.content.decode()  # the first rows beside their columns

    choices = {
        "col0": "external_id",
        "col1": "email",
        "col2": "custom.Plan",
        "col3": "custom.Age:number",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(response["Location"], {**choices, "col4": "", "col5": "country"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.rows_stored, job.rows_rejected, job.created_by.username) == (
        "done",
        2,
        3,
        "admin",
    )

    page = client.get(f"/admin/transfers/importjob/{job.pk}/change/").content.decode()
    assert "is not a valid email address" in page and "Download rejected rows" in page
    status = client.get(f"/admin/transfers/importjob/{job.pk}/status/").json()
    assert (status["percent"], status["rows_done"], status["rows_rejected"]) == (100, 5, 3)
    download = client.get(f"/admin/transfers/importjob/{job.pk}/rejections.csv")
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows[0] == ["row", "reason", "raw"]
    assert rows[1] == [
        "2",
        "email: is not a valid email address",
        "u2,not-an-email,silver,33,no,FR",
    ]
    assert len(rows) == 4


def test_the_mapping_page_shows_what_is_wrong(role_client, app):
    client = role_client("Admin", app)
    upload(client, app, CONTACTS_CSV)
    job = ImportJob.objects.get()
    response = client.post(
        f"/admin/transfers/importjob/{job.pk}/change/", {"col1": "email", "col2": "email"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "map a column to external_id" in html
    assert "email is already the column" in html
    job.refresh_from_db()
    assert job.status == "mapping"


def test_an_unreadable_upload_is_a_form_error(role_client, app):
    client = role_client("Admin", app)
    response = upload(client, app, "id,email\n", name="empty.csv")
    assert response.status_code == 200
    assert "the file holds no rows to import" in response.content.decode()
    response = upload(client, app, "a,b\n1,2\n", name="people.xlsx")
    assert "name the file .csv (CSV) or .jsonl (JSON Lines)" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_marketer_cannot_import(role_client, app):
    client = role_client("Marketer", app)
    assert client.get("/admin/transfers/importjob/").status_code == 403
    assert upload(client, app, CONTACTS_CSV).status_code == 403
    assert not ImportJob.objects.exists()


def test_another_apps_import_is_out_of_reach(role_client, app, other_app):
    job = create(other_app, CONTACTS_CSV, kind="contacts")
    client = role_client("Admin", app)
    for url in ("change/", "status/", "rejections.csv"):
        assert client.get(f"/admin/transfers/importjob/{job.pk}/{url}").status_code == 404
    listing = client.get("/admin/transfers/importjob/").content.decode()
    assert f"/admin/transfers/importjob/{job.pk}/change/" not in listing
    # Nor can an upload name another app than the user's.
    response = upload(client, other_app, CONTACTS_CSV)
    assert response.status_code == 200 and ImportJob.objects.count() == 1


# The command ----------------------------------------------------------------------------------
def test_the_command_streams_a_20000_row_csv_and_writes_its_rejects(app, tmp_path):
    source = tmp_path / "contacts.csv"
    with source.open("w") as out:
        out.write("id,email,score\n")
        for i in range(20_000):
            email = f"user{i}@example.com" if i % 1000 else f"bad-{i}"
            out.write(f"c{i},{email},{i}\n")
    rejects = tmp_path / "rejects.csv"
    output = io.StringIO()

    call_command(
        "beacon_import",
        str(source),
        app="shop",
        kind="contacts",
        map=["score=custom.score:number"],
        rejects=str(rejects),
        stdout=output,
    )

    assert (
        "mapping: id -> external_id:text, email -> email:text, score -> custom.score:number"
        in output.getvalue()
    )
    assert "done: 20000 rows, 19980 stored, 0 duplicates, 20 rejected" in output.getvalue()
    assert Contact.objects.filter(app=app).count() == 19_980
    assert Contact.objects.get(app=app, external_id="c1234").custom_fields == {"score": 1234}
    rows = list(csv.reader(rejects.open()))
    assert rows[1] == ["1", "email: is not a valid email address", "c0,bad-0,0"]
    assert len(rows) == 21


def test_the_command_imports_events_from_json_lines_again_as_duplicates(app, tmp_path):
    source = tmp_path / "events.jsonl"
    source.write_text(event_lines(1500, start=timezone.now() - timedelta(days=40)))
    for expected in ("1500 stored, 0 duplicates", "0 stored, 1500 duplicates"):
        output = io.StringIO()
        call_command("beacon_import", str(source), app="shop", kind="events", stdout=output)
        assert f"done: 1500 rows, {expected}, 0 rejected" in output.getvalue()
    assert Event.objects.filter(app=app, event_type__name="purchase_completed").count() == 1500


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (None, {}, "no such file"),
        ("id,email\nu1,a@b.c\n", {"app": "nope"}, "no app with tenant_id 'nope'"),
        ("email\na@b.c\n", {}, "mapping: mapping: map a column to external_id"),
        ("id,email\nu1,a@b.c\n", {"map": ["mail=email"]}, "the header has no column 'mail'"),
        ("id,\xe9\n", {"encoding": "latin-1"}, "the file is not UTF-8 text"),
    ],
)
def test_the_command_fails_with_one_line_on_a_file_level_error(
    app, tmp_path, content, options, message
):
    source = tmp_path / "in.csv"
    if content is not None:
        source.write_text(content, encoding=options.pop("encoding", "utf-8"))
    options = {"app": "shop", "kind": "contacts", **options}
    with pytest.raises(CommandError) as failed:
        call_command("beacon_import", str(source), **options)
    assert message in str(failed.value)
    assert "\n" not in str(failed.value)


def test_reading_json_lines_keeps_constant_chunks():
    stream = text_stream(io.BytesIO(b'{"a": 1}\r\n\n{"b": 2}\n' * 1500))
    sizes = [len(chunk) for chunk in chunks(jsonl_lines(stream))]
    assert sizes == [1000, 1000, 1000]
