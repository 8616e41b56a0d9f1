"""The contact page's profile form: custom fields as rows of name, type and value (no JSON),
saved through contact_update, with errors on their rows, scoped to the user's apps."""

from __future__ import annotations

import pytest

from campaigns.services.templates import templates_render
from contacts.access import SESSION_APP
from contacts.forms import custom_field_rows
from contacts.models import Contact
from contacts.services.contacts import contact_update
from tests.contacts.test_admin import custom_field_rows as posted_rows
from tests.contacts.test_admin import inline_management

STORED = {"first_name": "Ann", "score": 7, "vip": True, "birthday": "1990-04-12", "tags": ["a", 1]}


@pytest.fixture
def marketer(role_client, app):
    return role_client("Marketer", app)


@pytest.fixture
def ann(app) -> Contact:
    contact = Contact.objects.create(app=app, external_id="ann", email="ann@example.com")
    return contact_update(contact=contact, data={"custom_fields": dict(STORED)})


def page_url(contact: Contact) -> str:
    return f"/admin/contacts/contact/{contact.pk}/change/"


def save(client, contact: Contact, *rows, initial: int | None = None, **fields):
    """Post the contact form as the page would: identifiers as they are, then the rows."""
    data = {
        "external_id": contact.external_id or "",
        "email": contact.email or "",
        "phone": contact.phone or "",
        **fields,
        **posted_rows(*rows, initial=initial),
        **inline_management("devices", "event_stats"),
    }
    return client.post(page_url(contact), data)


def shown_rows() -> list[tuple[str, str, str]]:
    """The rows the page shows for STORED, as (name, type, value) to post back unchanged."""
    return [(row["name"], row["type"], row["value"]) for row in custom_field_rows(STORED)]


def edited(rows: list[tuple], name: str, row: tuple) -> list[tuple]:
    """The rows with the one named `name` replaced by `row`."""
    assert name in [r[0] for r in rows]
    return [row if r[0] == name else r for r in rows]


def stored(contact: Contact) -> dict:
    contact.refresh_from_db()
    return contact.custom_fields


def row_errors(response) -> list[dict]:
    form = response.context["adminform"].form
    return [dict(row.errors) for row in form.custom_field_rows.forms]


# Showing the rows -------------------------------------------------------------------------
def test_the_page_shows_each_custom_field_as_a_typed_row_and_no_json_box(marketer, ann):
    response = marketer.get(page_url(ann))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="custom_fields"' not in page  # the old JSON textarea
    rows = response.context["adminform"].form.custom_field_rows
    assert [(row["name"].value(), row["type"].value(), row["value"].value()) for row in rows] == [
        ("birthday", "date", "1990-04-12"),
        ("first_name", "text", "Ann"),
        ("score", "number", "7"),
        ("tags", "json", '["a", 1]'),
        ("vip", "boolean", "yes"),
        (None, "text", None),
        (None, "text", None),
    ]
    assert 'aria-label="Field name"' in page and "Add a field" in page
    assert "<textarea" in page and "Kept as it is" in page  # the list, read-only
    # Without JavaScript: blank rows to fill, and a "Remove" box on each row.
    assert 'name="custom-5-name"' in page and 'name="custom-6-name"' in page
    assert all(f'name="custom-{n}-DELETE"' in page for n in range(7))


# Saving -----------------------------------------------------------------------------------
def test_unchanged_rows_save_every_value_as_it_was(marketer, ann):
    response = save(marketer, ann, *shown_rows())
    assert response.status_code == 302
    assert stored(ann) == STORED


def test_a_marketer_edits_a_custom_field(marketer, ann):
    rows = edited(shown_rows(), "first_name", ("first_name", "text", "Annie"))
    assert save(marketer, ann, *rows).status_code == 302
    assert stored(ann) == {**STORED, "first_name": "Annie"}


@pytest.mark.parametrize(
    ("type_", "text", "value"),
    [
        ("text", "02134", "02134"),
        ("text", "true", "true"),
        ("number", "42", 42),
        ("number", " 19.99 ", 19.99),
        ("boolean", "yes", True),
        ("boolean", "no", False),
        ("date", "2026-03-01", "2026-03-01"),
    ],
)
def test_an_added_field_is_stored_with_the_json_type_of_its_row(marketer, ann, type_, text, value):
    rows = [*shown_rows(), ("added", type_, text)]
    assert save(marketer, ann, *rows, initial=len(STORED)).status_code == 302
    saved = stored(ann)["added"]
    assert saved == value and type(saved) is type(value)


def test_removing_a_row_removes_the_field(marketer, ann):
    rows = edited(shown_rows(), "score", ("score", "number", "7", "remove"))
    rows = edited(rows, "tags", ("tags", "json", '["a", 1]', "remove"))  # the list too
    assert save(marketer, ann, *rows).status_code == 302
    assert stored(ann) == {"first_name": "Ann", "vip": True, "birthday": "1990-04-12"}


def test_a_renamed_or_retyped_row_moves_or_converts_its_field(marketer, ann):
    rows = edited(shown_rows(), "first_name", ("given_name", "text", "Ann"))  # first_name goes
    rows = edited(rows, "score", ("score", "text", "7"))  # now text
    assert save(marketer, ann, *rows).status_code == 302
    saved = stored(ann)
    assert "first_name" not in saved and saved["given_name"] == "Ann"
    assert saved["score"] == "7"


def test_a_number_turned_into_yes_or_no_is_saved_as_a_boolean(marketer, ann):
    contact_update(contact=ann, data={"custom_fields": {"score": 1}})
    rows = [(r["name"], r["type"], r["value"]) for r in custom_field_rows(stored(ann))]
    rows = edited(rows, "score", ("score", "boolean", "yes"))  # 1 == True in Python, not JSON
    assert save(marketer, ann, *rows).status_code == 302
    assert stored(ann)["score"] is True


def test_a_list_value_is_kept_whatever_text_its_row_sends_back(marketer, ann):
    rows = edited(shown_rows(), "tags", ("tags", "json", '["forged"]'))
    assert save(marketer, ann, *rows).status_code == 302
    assert stored(ann)["tags"] == ["a", 1]


def test_a_blank_row_adds_nothing(marketer, ann):
    rows = [*shown_rows(), ("", "text", "")]
    assert save(marketer, ann, *rows, initial=len(STORED)).status_code == 302
    assert stored(ann) == STORED


def test_a_number_too_long_for_json_readers_is_kept_while_its_row_is_untouched(marketer, ann):
    big = 12345678901234567890
    contact_update(contact=ann, data={"custom_fields": {"card": big}})
    rows = [(r["name"], r["type"], r["value"]) for r in custom_field_rows(stored(ann))]
    assert save(marketer, ann, *rows).status_code == 302
    assert stored(ann)["card"] == big


def test_a_field_saved_through_the_rows_is_what_a_campaign_template_reads(marketer, ann):
    rows = edited(shown_rows(), "first_name", ("first_name", "text", "Annie"))
    rows.append(("points", "number", "120"))
    assert save(marketer, ann, *rows, initial=len(STORED)).status_code == 302
    ann.refresh_from_db()
    rendered = templates_render(
        {"title": "Hi {{ contact.first_name }}, {{ contact.points | plus: 5 }} points"},
        contact=ann,
        event_params=None,
    )
    assert rendered == {"title": "Hi Annie, 125 points"}


# Errors next to their row -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        (("points", "number", "a lot"), "value", "is not a number"),
        (("newsletter", "boolean", "maybe"), "value", "is not yes or no"),
        (("renewal", "date", "2026-02-30"), "value", "is not a date"),
        (("", "text", "orphan"), "name", "a field needs a name"),
        (("x" * 256, "text", "long"), "name", "at most 255 characters"),
        (("first_name", "text", "twice"), "name", "this field is already given above"),
        (("planted", "json", "[1]"), "value", "can only be kept"),
    ],
)
def test_a_bad_row_is_shown_with_its_error_and_nothing_is_saved(marketer, ann, row, field, reason):
    rows = [*shown_rows(), row]
    response = save(marketer, ann, *rows, initial=len(STORED), email="new@example.com")
    assert response.status_code == 200
    errors = row_errors(response)
    assert errors[:-1] == [{}] * len(STORED)
    assert list(errors[-1]) == [field] and reason in errors[-1][field][0]
    page = response.content.decode().replace("&#x27;", "'")
    assert reason in page and "Correct the rows marked below." in page
    assert f'value="{row[2]}"' in page or f">{row[2]}</textarea>" in page  # kept to correct
    ann.refresh_from_db()
    assert ann.custom_fields == STORED and ann.email == "ann@example.com"


def test_a_bad_row_marked_remove_does_not_stop_the_save(marketer, ann):
    rows = [*shown_rows(), ("score2", "number", "a lot", "remove")]
    assert save(marketer, ann, *rows, initial=len(STORED)).status_code == 302
    assert stored(ann) == STORED


# Other apps ------------------------------------------------------------------------------
def test_another_apps_contact_cannot_be_seen_or_changed_through_the_form(
    role_client, app, other_app
):
    theirs = Contact.objects.create(app=other_app, external_id="theirs")
    contact_update(contact=theirs, data={"custom_fields": {"secret": "s3"}})
    client = role_client("Marketer", app)
    page = client.get(page_url(theirs), follow=True)
    assert "s3" not in page.content.decode()
    response = save(client, theirs, ("secret", "text", "stolen"), ("planted", "text", "x"))
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert stored(theirs) == {"secret": "s3"}


def test_a_contact_of_an_app_not_selected_in_the_header_cannot_be_changed(
    role_client, app, other_app
):
    theirs = Contact.objects.create(app=other_app, external_id="theirs")
    client = role_client("Marketer", app, other_app)
    session = client.session
    session[SESSION_APP] = app.pk
    session.save()
    response = save(client, theirs, ("planted", "text", "x"), initial=0)
    assert response.status_code == 302
    assert stored(theirs) == {}
