"""Profiles upserted by the customer's own id: PUT /api/v1/contacts/by-external-id/{id}, POST
/api/v1/contacts/batch, the services behind them, and identify traits."""

from __future__ import annotations

import threading
from urllib.parse import quote

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from contacts.models import Contact
from contacts.services.apps import app_create
from contacts.services.profiles import (
    contact_profile_upsert,
    contacts_profile_upsert_bulk,
    contacts_traits_apply,
    traits_errors,
)
from segments.models import SegmentMembership
from segments.services import segment_create


def put(client, external_id: str, body: dict):
    return client.put(
        f"/api/v1/contacts/by-external-id/{quote(external_id, safe='')}", body, format="json"
    )


# PUT by external id -----------------------------------------------------------------------


def test_put_creates_the_contact_then_updates_it(admin_client, app):
    response = put(
        admin_client,
        "cust-1",
        {
            "email": " Ann@Example.COM ",
            "phone": "+90 555",
            "custom_fields": {"plan": "pro"},
            "timezone": "Europe/Istanbul",
            "language": "tr-TR",
            "country": "tr",
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["external_id"] == "cust-1" and body["email"] == "ann@example.com"
    assert (body["timezone"], body["language"], body["country"]) == ("Europe/Istanbul", "tr", "TR")
    assert body["custom_fields"] == {"plan": "pro"} and body["source"] == "api"
    response = put(admin_client, "cust-1", {"phone": "+90 556"})
    assert response.status_code == 200, response.json()
    assert response.json()["id"] == body["id"]
    contact = Contact.objects.get(app=app, external_id="cust-1")
    assert (contact.phone, contact.email) == ("+90 556", "ann@example.com")


def test_put_merges_custom_fields_and_clears_with_null(admin_client, app):
    put(admin_client, "c", {"email": "a@b.co", "custom_fields": {"plan": "pro", "age": 30}})
    response = put(
        admin_client,
        "c",
        {"email": None, "country": "", "custom_fields": {"age": None, "city": "Izmir"}},
    )
    assert response.status_code == 200, response.json()
    contact = Contact.objects.get(app=app, external_id="c")
    assert contact.custom_fields == {"plan": "pro", "city": "Izmir"}
    assert contact.email is None and contact.country == ""


def test_put_external_id_may_hold_slashes_and_spaces(admin_client, app):
    response = put(admin_client, "team/ann smith?x=1", {"email": "ann@example.com"})
    assert response.status_code == 201, response.json()
    assert response.json()["external_id"] == "team/ann smith?x=1"
    assert Contact.objects.filter(app=app, external_id="team/ann smith?x=1").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"country": "XX"}, "country"),
        ({"language": "zz"}, "language"),
        ({"email_status": "maybe"}, "email_status"),
        ({"custom_fields": ["a"]}, "custom_fields"),
        ({"custom_fields": {"a": "nul\u0000"}}, "custom_fields"),
        ({"plan": "pro"}, "plan"),
        ({"phone": 5}, "phone"),
    ],
)
def test_put_refuses_bad_values_naming_the_field(admin_client, app, body, field):
    response = put(admin_client, "c", body)
    assert response.status_code == 400
    assert response.json()["error"] == "validation"
    assert field in response.json()["detail"]
    assert not Contact.objects.filter(app=app).exists()


def test_put_refuses_an_external_id_over_255_characters(admin_client):
    response = put(admin_client, "x" * 256, {})
    assert response.status_code == 400
    assert "external_id" in response.json()["detail"]


def test_put_needs_an_admin_key(ingest_client):
    assert put(ingest_client, "c", {"email": "a@b.co"}).status_code == 403


def test_put_leaves_another_apps_contact_with_the_same_external_id(admin_client, app, other_app):
    theirs, _ = contact_profile_upsert(app=other_app, external_id="c", data={"email": "o@x.io"})
    response = put(admin_client, "c", {"email": "mine@x.io"})
    assert response.status_code == 201
    theirs.refresh_from_db()
    assert theirs.email == "o@x.io"
    assert response.json()["id"] != theirs.pk


def test_put_email_status_records_how_and_when(admin_client, app):
    put(admin_client, "c", {"email": "a@b.co"})
    response = put(admin_client, "c", {"email_status": "unsubscribed"})
    body = response.json()
    assert body["email_status"] == "unsubscribed" and body["email_status_via"] == "api"
    assert body["email_status_at"] is not None


def test_a_contact_created_by_upsert_receives_events_by_app_user_id(admin_client, app, track):
    contact_id = put(admin_client, "cust-9", {"email": "z@z.io"}).json()["id"]
    response = track(event_name="purchase", app_user_id="cust-9")
    assert response.status_code == 200, response.json()
    assert response.json()["contact_id"] == contact_id
    assert Contact.objects.filter(app=app).count() == 1


def test_a_segment_on_a_contact_field_includes_the_contact_after_an_upsert(
    admin_client, app, django_capture_on_commit_callbacks
):
    segment = segment_create(
        app=app,
        name="Turkey",
        conditions={"type": "contact", "field": "country", "op": "=", "value": "TR"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        contact_id = put(admin_client, "c", {"country": "TR"}).json()["id"]
    members = set(SegmentMembership.objects.filter(segment=segment).values_list("contact_id"))
    assert members == {(contact_id,)}
    with django_capture_on_commit_callbacks(execute=True):
        put(admin_client, "c", {"country": "DE"})
    assert not SegmentMembership.objects.filter(segment=segment).exists()


# Batch --------------------------------------------------------------------------------------


def test_batch_stores_valid_profiles_and_refuses_invalid_ones_each_on_its_own(admin_client, app):
    put(admin_client, "old", {"email": "old@x.io"})
    response = admin_client.post(
        "/api/v1/contacts/batch",
        {
            "contacts": [
                {"external_id": "new", "email": "new@x.io"},
                {"external_id": "bad", "email": "nope"},
                {"external_id": "old", "custom_fields": {"vip": True}},
                {"email": "no-id@x.io"},
                "not an object",
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    new = Contact.objects.get(app=app, external_id="new")
    old = Contact.objects.get(app=app, external_id="old")
    assert results[0] == {"index": 0, "contact_id": new.pk, "created": True}
    assert results[1]["error"] == {
        "error": "validation",
        "detail": {"email": ["is not a valid email address"]},
    }
    assert results[2] == {"index": 2, "contact_id": old.pk, "created": False}
    assert results[3]["error"]["detail"] == {"external_id": ["this field is required"]}
    assert "non_field_errors" in results[4]["error"]["detail"]
    assert old.custom_fields == {"vip": True} and old.email == "old@x.io"
    assert not Contact.objects.filter(app=app, external_id="bad").exists()


def test_batch_of_1000_profiles_is_stored_and_1001_refused(admin_client, app):
    profiles = [{"external_id": f"u{i}", "email": f"u{i}@x.io"} for i in range(1000)]
    response = admin_client.post("/api/v1/contacts/batch", {"contacts": profiles}, format="json")
    assert response.status_code == 200
    assert all(r["created"] for r in response.json()["results"])
    assert Contact.objects.filter(app=app).count() == 1000
    response = admin_client.post(
        "/api/v1/contacts/batch",
        {"contacts": [*profiles, {"external_id": "one-more"}]},
        format="json",
    )
    assert response.status_code == 400
    assert "contacts" in response.json()["detail"]


@pytest.mark.parametrize("body", [{"contacts": {"a": 1}}, {"contacts": []}, {}, {"x": 1}, [1]])
def test_batch_refuses_a_body_without_a_list_of_contacts(admin_client, body):
    response = admin_client.post("/api/v1/contacts/batch", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "validation"


def test_batch_repeating_an_external_id_applies_both_to_one_contact(app):
    results = contacts_profile_upsert_bulk(
        app=app,
        profiles=[
            {"external_id": "a", "custom_fields": {"x": 1}},
            {"external_id": "a", "custom_fields": {"y": 2}, "phone": "5"},
        ],
    )
    assert [r.created for r in results] == [True, False]
    assert results[0].contact_id == results[1].contact_id
    contact = Contact.objects.get(app=app, external_id="a")
    assert contact.custom_fields == {"x": 1, "y": 2} and contact.phone == "5"


def test_bulk_upsert_runs_a_fixed_number_of_statements(app, django_assert_max_num_queries):
    contacts_profile_upsert_bulk(
        app=app, profiles=[{"external_id": f"old{i}", "phone": "1"} for i in range(500)]
    )
    profiles = [{"external_id": f"old{i}", "phone": "2"} for i in range(500)]
    profiles += [{"external_id": f"new{i}", "email": f"n{i}@x.io"} for i in range(500)]
    # SELECT ... FOR UPDATE, INSERT, UPDATE, and the savepoint around them
    with django_assert_max_num_queries(5):
        results = contacts_profile_upsert_bulk(app=app, profiles=profiles)
    assert sum(r.created for r in results) == 500
    assert Contact.objects.filter(app=app, phone="2").count() == 500
    with django_assert_max_num_queries(5):
        contacts_profile_upsert_bulk(app=app, profiles=profiles[:1])


def test_an_unchanged_profile_writes_nothing(app, django_capture_on_commit_callbacks):
    contact_profile_upsert(app=app, external_id="a", data={"email": "a@b.co"})
    with django_capture_on_commit_callbacks() as callbacks:
        contact, created = contact_profile_upsert(
            app=app, external_id="a", data={"email": "A@b.co"}
        )
    assert not created and callbacks == []  # nothing to announce


def test_upsert_service_raises_a_validation_error_naming_every_field(app):
    with pytest.raises(ValidationError) as caught:
        contact_profile_upsert(
            app=app, external_id="", data={"email": "x", "timezone": "Nowhere/Else"}
        )
    assert set(caught.value.message_dict) == {"external_id", "email", "timezone"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_of_the_same_new_external_id_create_one_contact():
    app = app_create(name="Race", tenant_id="race-profiles")
    for round_number in range(5):
        external_id = f"new-{round_number}"
        barrier = threading.Barrier(4)
        outcomes, errors = [], []

        def worker(n, external_id=external_id, barrier=barrier, outcomes=outcomes, errors=errors):
            try:
                barrier.wait()
                contact, created = contact_profile_upsert(
                    app=app, external_id=external_id, data={"custom_fields": {f"k{n}": n}}
                )
                outcomes.append((contact.pk, created))
            except Exception as exc:  # surfaced by the assertion below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len({pk for pk, _ in outcomes}) == 1
        assert sorted(created for _, created in outcomes) == [False, False, False, True]
        contact = Contact.objects.get(app=app, external_id=external_id)
        assert contact.custom_fields == {f"k{n}": n for n in range(4)}  # no update lost


# Identify traits ----------------------------------------------------------------------------


def test_traits_errors_name_the_bad_traits():
    assert traits_errors({"email": "ann@example.com", "plan": "pro"}) == {}
    errors = traits_errors(
        {"email": "nope", "timezone": "Nowhere", "address": {"country": "Atlantis"}}
    )
    assert set(errors) == {"email", "timezone", "address.country"}
    assert errors["email"] == ["is not a valid email address"]
    assert traits_errors({"locale": "en-US", "country": "United States"}) == {}


def test_traits_apply_maps_reserved_traits_and_merges_the_rest(
    app, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    ann, _ = contact_profile_upsert(
        app=app, external_id="ann", data={"custom_fields": {"old": 1, "gone": 2}}
    )
    bob, _ = contact_profile_upsert(app=app, external_id="bob", data={})
    traits = {
        ann.pk: {
            "email": "Ann@Example.com",
            "phone": "+1 555",
            "firstName": "Ann",
            "lastName": "Lee",
            "name": "Ann Lee",
            "timezone": "America/New_York",
            "locale": "en-US",
            "address": {"country": "us", "city": "NYC"},
            "plan": "pro",
            "gone": None,
        },
        bob.pk: {"first_name": "Bob", "language": "de", "country": "DE"},
    }
    with (
        django_capture_on_commit_callbacks() as callbacks,
        django_assert_max_num_queries(4),
    ):
        contacts_traits_apply(app=app, traits_by_contact=traits, via="segment")
    assert len(callbacks) == 1
    ann.refresh_from_db()
    bob.refresh_from_db()
    assert (ann.email, ann.phone, ann.timezone) == ("ann@example.com", "+1 555", "America/New_York")
    assert (ann.language, ann.country) == ("en", "US")
    assert ann.custom_fields == {
        "old": 1,
        "first_name": "Ann",
        "last_name": "Lee",
        "name": "Ann Lee",
        "address": {"country": "us", "city": "NYC"},
        "plan": "pro",
    }
    assert (bob.language, bob.country, bob.custom_fields) == ("de", "DE", {"first_name": "Bob"})


def test_traits_apply_ignores_another_apps_contacts(app, other_app):
    theirs, _ = contact_profile_upsert(app=other_app, external_id="t", data={})
    contacts_traits_apply(app=app, traits_by_contact={theirs.pk: {"plan": "x"}}, via="segment")
    theirs.refresh_from_db()
    assert theirs.custom_fields == {}
