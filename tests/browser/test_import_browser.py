"""Importing 100,000 contacts through the admin in a real browser, run by a real Celery worker: an
Admin uploads a CSV with some bad rows, maps its columns, starts it, watches the progress bar
move while the worker stores chunk after chunk, and reads the rejected rows with their reasons.

Tasks run inline in the rest of the suite; here the upload's nudge goes to Redis, on a queue of
this test's own, and a worker process takes it, so the page polls a job that is really running
(an inline run would finish inside the request, and the bar would only ever show 100%)."""

from __future__ import annotations

import csv
import io
import os
import time

import pytest
from playwright.sync_api import Error as PlaywrightError

from config.celery import app as celery_app
from contacts.models import Contact
from tests.celery_processes import REDIS_URL, CeleryProcesses, enqueuing_to, wait_until
from transfers.models import ImportJob

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 100_000
BAD_EMAIL_EVERY = 500  # rows 500, 1000, ...: 200 invalid emails
BAD_SCORE_EVERY = 1000  # rows 7, 1007, 2007, ...: 100 scores that are not numbers


def write_contacts(path) -> int:
    """The CSV the marketer uploads; returns how many of its rows are bad."""
    bad = 0
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["Customer ID", "Email", "Country", "Score", "Plan"])
        for row in range(1, ROWS + 1):
            email = f"person{row}@example.com"
            score = str(row % 100)
            if row % BAD_EMAIL_EVERY == 0:
                email, bad = f"person{row}-at-example.com", bad + 1
            elif row % BAD_SCORE_EVERY == 7:
                score, bad = "n/a", bad + 1
            writer.writerow([f"cust-{row}", email, "TR", score, "gold" if row % 3 else "free"])
    return bad


@pytest.fixture
def import_worker(tmp_path):
    """A Celery worker on a queue only this test publishes to (other runs may share Redis)."""
    queue = f"imports-test-{os.getpid()}"
    saved = celery_app.conf.task_default_queue
    with CeleryProcesses(tmp_path / "celery") as celery, enqueuing_to(REDIS_URL):
        celery_app.conf.task_default_queue = queue
        try:
            worker = celery.worker(queues=queue)
            wait_until(worker.is_ready, what="the worker to start", processes=celery)
            yield celery
        finally:
            celery_app.conf.task_default_queue = saved


def test_an_admin_imports_100000_contacts_and_sees_progress_and_rejected_rows(
    page, live_server, signed_in, screenshot, app, tmp_path, import_worker
):
    source = tmp_path / "customers.csv"
    bad_rows = write_contacts(source)
    signed_in("Admin", app)

    page.click("#content-main caption a:text('Data')")  # the menu's section, then its page
    page.click("#content-main a:text('Imports')")
    page.get_by_role("link", name="Add import").click()
    page.get_by_label("Kind").select_option("contacts")
    page.set_input_files("#id_file", str(source))
    page.get_by_role("button", name="Upload").click()

    # The mapping: each column's guess from the header, its first values beside it.
    page.wait_for_selector("#import-mapping")
    assert page.get_by_label("Customer ID").input_value() == "external_id"
    assert page.get_by_label("Email").input_value() == "email"
    assert page.get_by_label("Country").input_value() == "country"
    assert "person1@example.com" in page.locator(".import-mapping").inner_text()
    page.get_by_label("Score").select_option("custom.Score:number")
    page.get_by_label("Plan").select_option("")  # not imported
    screenshot("import-mapping")
    page.get_by_role("button", name="Start import").click()

    # The job's page: the bar moves as the worker checkpoints each chunk of 1,000 rows.
    page.wait_for_selector("#import-progress")
    readings: list[int] = []
    deadline = time.monotonic() + 900
    while not page.locator("#import-rejections").count():
        assert time.monotonic() < deadline, f"the import did not finish; readings: {readings}"
        import_worker.check_alive()
        try:
            readings.append(int(page.locator("#import-progress").get_attribute("value")))
        except PlaywrightError:
            pass  # the page reloading as the job ends
        if len(readings) == 20:
            screenshot("import-progress")
        time.sleep(0.2)
    midway = [value for value in readings if 0 < value < 100]
    assert midway, f"no reading between 0 and 100%: {readings}"
    assert readings == sorted(readings)  # never backwards

    job = ImportJob.objects.get()
    assert (job.status, job.rows_total, job.rows_done) == ("done", ROWS, ROWS)
    assert (job.rows_stored, job.rows_rejected) == (ROWS - bad_rows, bad_rows)
    assert Contact.objects.filter(app=app).count() == ROWS - bad_rows
    stored = Contact.objects.get(app=app, external_id="cust-42")
    assert (stored.email, stored.country, stored.custom_fields) == (
        "person42@example.com",
        "TR",
        {"Score": 42},
    )

    # The rejected rows with their reasons, on the page and as a download.
    assert page.locator("#import-status").inner_text() == "Done"
    assert page.locator("#import-rows-rejected").inner_text() == f"{bad_rows}"
    table = page.locator("#import-rejections").inner_text()
    assert "email: is not a valid email address" in table
    assert "custom.Score: 'n/a' is not a number" in table
    screenshot("import-done")
    link = page.get_by_role("link", name="Download rejected rows (CSV)")
    download = page.request.get(live_server.url + link.get_attribute("href"))
    rows = list(csv.reader(io.StringIO(download.text())))
    assert rows[0] == ["row", "reason", "raw"]
    assert rows[1] == [
        "7",
        "custom.Score: 'n/a' is not a number",
        "cust-7,person7@example.com,TR,n/a,gold",
    ]
    assert rows[2][:2] == ["500", "email: is not a valid email address"]
    assert len(rows) == bad_rows + 1

    seconds = (job.finished_at - job.started_at).total_seconds()
    print(
        f"\nimport of {ROWS} contacts by the worker: {seconds:.1f} s, {ROWS / seconds:.0f} rows/s "
        f"({len(readings)} readings, {len(set(midway))} distinct between 0 and 100%)"
    )
