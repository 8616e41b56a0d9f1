"""Which contact an event belongs to: external id, mapping rules, device, anonymous id, merges."""

from __future__ import annotations

from contacts.models import Contact, Device, IdentifierRule
from events.models import ContactEventStats, Event
from events.services.ingest import events_ingest


def contact_of(response) -> Contact:
    assert response.status_code == 200, response.json()
    return Contact.objects.get(pk=response.json()["contact_id"])


def test_app_user_id_finds_or_creates_the_contact(track):
    first = contact_of(track(event_name="x", app_user_id="user_1"))
    again = contact_of(track(event_name="y", app_user_id="user_1"))
    assert first.pk == again.pk
    assert (first.external_id, first.source) == ("user_1", "event")
    assert Contact.objects.count() == 1


def test_event_without_identity_gets_a_new_anonymous_id(track):
    response = track(event_name="x")
    contact = contact_of(response)
    assert contact.anonymous_id and response.json()["anonymous_id"] == contact.anonymous_id
    assert contact.external_id is None


def test_anonymous_id_is_reused(track):
    first = contact_of(track(event_name="x", anonymous_id="anon-1"))
    assert contact_of(track(event_name="y", anonymous_id="anon-1")).pk == first.pk


def test_default_rule_maps_email_param_case_insensitively(track):
    created = contact_of(track(event_name="x", params={"userEMAIL": "Ann@Example.COM"}))
    assert created.email == "ann@example.com"
    again = contact_of(track(event_name="y", params={"Email": "ANN@example.com"}))
    assert again.pk == created.pk


def test_rule_values_match_case_sensitively_except_email(track):
    a = contact_of(track(event_name="x", params={"externalCustomerId": "ABC"}))
    b = contact_of(track(event_name="x", params={"externalcustomerid": "abc"}))
    assert a.pk != b.pk
    assert (a.external_id, b.external_id) == ("ABC", "abc")


def test_contact_id_param_finds_an_existing_contact(track):
    existing = contact_of(track(event_name="x", app_user_id="u1"))
    assert contact_of(track(event_name="y", params={"ContactId": existing.pk})).pk == existing.pk


def test_contact_key_rule_uses_a_custom_field(track):
    created = contact_of(track(event_name="x", params={"contact_key": "K-1"}))
    assert created.custom_fields == {"ContactKey": "K-1"}
    assert contact_of(track(event_name="y", params={"ContactKey": "K-1"})).pk == created.pk


def test_admin_rule_maps_a_custom_param_to_email(track, app):
    IdentifierRule.objects.create(app=app, param="email_client", field="email", priority=1)
    created = contact_of(track(event_name="x", params={"email_client": "Bob@Example.com"}))
    assert created.email == "bob@example.com"


def test_phone_rule(track):
    created = contact_of(track(event_name="x", params={"PhoneNumber": "+48123"}))
    assert created.phone == "+48123"
    assert contact_of(track(event_name="x", params={"SMS": "+48123"})).pk == created.pk


def test_app_user_id_wins_over_mapping_rules(track):
    by_email = contact_of(track(event_name="x", params={"Email": "a@b.c"}))
    by_id = contact_of(track(event_name="x", app_user_id="u9", params={"Email": "a@b.c"}))
    assert by_id.pk != by_email.pk and by_id.external_id == "u9"


def test_device_token_finds_its_owner(track):
    owner = contact_of(track(event_name="x", app_user_id="u1", device_token="tok", platform="ios"))
    assert contact_of(track(event_name="y", device_token="tok", platform="ios")).pk == owner.pk


def test_push_token_param_finds_the_device_owner(track):
    owner = contact_of(track(event_name="x", app_user_id="u1", device_token="tok", platform="ios"))
    assert contact_of(track(event_name="y", params={"PushToken": "tok"})).pk == owner.pk


def test_identifying_an_anonymous_contact_keeps_it(track):
    anonymous = contact_of(track(event_name="x", anonymous_id="anon-1"))
    identified = contact_of(track(event_name="login", anonymous_id="anon-1", app_user_id="u1"))
    assert identified.pk == anonymous.pk and identified.external_id == "u1"
    assert Contact.objects.count() == 1


def test_anonymous_contact_merges_into_the_identified_one(track):
    known = contact_of(track(event_name="x", app_user_id="u1", event_time="2026-01-01T00:00:00Z"))
    anon = contact_of(
        track(
            event_name="x",
            anonymous_id="anon-1",
            device_token="t",
            platform="web",
            push_permission_granted=True,
            event_time="2026-01-02T00:00:00Z",
        )
    )
    merged = contact_of(track(event_name="login", anonymous_id="anon-1", app_user_id="u1"))
    assert merged.pk == known.pk
    assert not Contact.objects.filter(pk=anon.pk).exists()
    assert (
        Event.objects.filter(contact=known).exclude(event_type__name__startswith="@").count() == 3
    )
    assert Device.objects.get(token="t").contact_id == known.pk
    stats = ContactEventStats.objects.get(contact=known, event_type__name="x")
    assert stats.count == 2
    assert merged.anonymous_id == "anon-1"
    # later anonymous events land on the identified contact
    assert contact_of(track(event_name="y", anonymous_id="anon-1")).pk == known.pk


def test_merge_inside_one_batch(ingest_client):
    events = [
        {"event_name": "a", "anonymous_id": "anon-7"},
        {"event_name": "b", "app_user_id": "u7"},
        {"event_name": "c", "anonymous_id": "anon-7", "app_user_id": "u7"},
        {"event_name": "d", "anonymous_id": "anon-7"},
    ]
    results = ingest_client.post("/api/v1/events/batch", {"events": events}, format="json").json()
    contact_ids = {r["contact_id"] for r in results["results"]}
    assert len(contact_ids) == 1
    contact = Contact.objects.get()
    assert (contact.external_id, contact.anonymous_id) == ("u7", "anon-7")
    assert (
        Event.objects.filter(contact=contact).exclude(event_type__name__startswith="@").count() == 4
    )


def test_contacts_created_in_a_batch_are_shared_by_later_items(ingest_client):
    events = [
        {"event_name": "x", "app_user_id": "u1"},
        {"event_name": "y", "app_user_id": "u1"},
        {"event_name": "x", "params": {"Email": "e@x.io"}},
        {"event_name": "y", "params": {"email": "E@X.io"}},
    ]
    results = ingest_client.post("/api/v1/events/batch", {"events": events}, format="json").json()
    ids = [r["contact_id"] for r in results["results"]]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]
    assert Contact.objects.count() == 2


def test_forced_contact_records_the_event_for_it(app, track):
    target = contact_of(track(event_name="x", app_user_id="u1"))
    [result] = events_ingest(app=app, payloads=[{"event_name": "test"}], contact=target)
    assert result.contact_id == target.pk and result.errors is None
    assert Event.objects.filter(contact=target, event_type__name="test").exists()
