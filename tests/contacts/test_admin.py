"""The admin for apps, API keys, contacts, devices and identifier rules."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from contacts.models import ApiKey, App, Contact, Device, IdentifierRule
from contacts.services.apps import DEFAULT_IDENTIFIER_RULES, api_key_create
from events import catalog
from events.models import EventType
from events.services.ingest import events_ingest

KEY_PATTERN = re.compile(r"bk_(?:ingest|admin)_[A-Za-z0-9_-]{20,}")
CATALOG_SIZE = sum(len(events) for events in catalog.SYSTEM_CATALOG.values()) + len(
    catalog.BUILT_IN_EVENTS
)


def ingest(app, **payload):
    [result] = events_ingest(app=app, payloads=[{"event_name": "page_viewed", **payload}])
    assert result.errors is None, result.errors
    return result


def track_with_key(raw_key: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client.post("/api/v1/events", {"event_name": "x", "app_user_id": "u"}, format="json")


def changelist_post(client, model: str, action: str, ids, **extra):
    data = {"action": action, "_selected_action": [str(pk) for pk in ids], **extra}
    return client.post(f"/admin/contacts/{model}/", data)


def test_the_admin_is_titled_beacon(staff_client):
    response = staff_client.get("/admin/")
    assert response.status_code == 200
    assert "<title>Site administration | Beacon</title>" in response.content.decode()
    assert 'id="site-name"><a href="/admin/">Beacon</a>' in response.content.decode()


def test_the_app_list_shows_each_apps_tenant_timezone_and_contact_count(staff_client, app):
    ingest(app, app_user_id="u1")
    ingest(app, app_user_id="u2")
    response = staff_client.get("/admin/contacts/app/")
    assert response.status_code == 200
    rows = {row.name: row.contact_count for row in response.context["cl"].result_list}
    assert rows == {"Shop": 2}
    assert "shop" in response.content.decode() and "UTC" in response.content.decode()


def test_the_app_page_lists_its_keys_without_their_hashes(staff_client, app):
    key, raw_key = api_key_create(app=app, name="website", scope=ApiKey.Scope.INGEST)
    response = staff_client.get(f"/admin/contacts/app/{app.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "website" in page and key.prefix in page and "Create API key" in page
    assert key.key_hash not in page and raw_key not in page


def test_creating_an_app_in_the_admin_seeds_the_event_catalog_and_default_rules(staff_client):
    response = staff_client.post(
        "/admin/contacts/app/add/",
        {"name": "Blog", "tenant_id": "blog", "timezone": "Europe/Istanbul"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    app = App.objects.get(tenant_id="blog")
    assert app.timezone == "Europe/Istanbul"
    assert 70 <= EventType.objects.filter(app=app).count() == CATALOG_SIZE
    assert IdentifierRule.objects.filter(app=app, is_default=True).count() == len(
        DEFAULT_IDENTIFIER_RULES
    )


def test_an_app_with_an_unknown_timezone_or_a_taken_tenant_id_is_refused(staff_client, app):
    response = staff_client.post(
        "/admin/contacts/app/add/", {"name": "X", "tenant_id": "shop", "timezone": "Mars/Base"}
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"tenant_id", "timezone"}
    assert App.objects.count() == 1


def test_an_app_can_be_renamed_but_its_tenant_id_stays(staff_client, app):
    response = staff_client.post(
        f"/admin/contacts/app/{app.pk}/change/",
        {
            "name": "Shop EU",
            "tenant_id": "changed",
            "timezone": "Europe/Berlin",
            "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    app.refresh_from_db()
    assert (app.name, app.tenant_id, app.timezone) == ("Shop EU", "shop", "Europe/Berlin")


def test_apps_cannot_be_deleted_from_the_admin(staff_client, app):
    assert staff_client.get(f"/admin/contacts/app/{app.pk}/delete/").status_code == 403


def test_the_create_key_action_asks_a_name_and_scope_first(staff_client, app):
    response = changelist_post(staff_client, "app", "create_api_key", [app.pk])
    assert response.status_code == 200
    assert "Create the key" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_the_created_key_is_shown_once_and_authenticates_against_the_events_api(staff_client, app):
    response = changelist_post(
        staff_client, "app", "create_api_key", [app.pk], name="website", scope="ingest", apply="1"
    )
    assert response.status_code == 200
    [raw_key] = KEY_PATTERN.findall(response.content.decode())
    assert raw_key.startswith("bk_ingest_")
    assert ApiKey.objects.get().name == "website"
    assert track_with_key(raw_key).status_code == 200
    # The message was shown on that page: it is not stored for the next one.
    assert raw_key not in staff_client.get("/admin/contacts/app/").content.decode()
    assert raw_key not in staff_client.cookies.output()


def test_the_app_pages_button_creates_an_admin_key(staff_client, app):
    url = f"/admin/contacts/app/{app.pk}/api-key/"
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(url, {"name": "backend", "scope": "admin", "apply": "1"})
    [raw_key] = KEY_PATTERN.findall(response.content.decode())
    assert raw_key.startswith("bk_admin_")
    assert ApiKey.objects.get().scope == ApiKey.Scope.ADMIN


def test_a_key_without_a_name_is_not_created(staff_client, app):
    url = f"/admin/contacts/app/{app.pk}/api-key/"
    response = staff_client.post(url, {"name": "", "scope": "ingest", "apply": "1"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"name": ["This field is required."]}
    assert not ApiKey.objects.exists()


def test_a_revoked_key_is_refused_by_the_api(staff_client, app):
    key, raw_key = api_key_create(app=app, name="website", scope=ApiKey.Scope.INGEST)
    assert track_with_key(raw_key).status_code == 200
    response = changelist_post(staff_client, "apikey", "revoke", [key.pk])
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert track_with_key(raw_key).status_code == 401


def test_the_key_list_and_page_are_read_only_and_never_show_the_hash(staff_client, app):
    key, _ = api_key_create(app=app, name="website", scope=ApiKey.Scope.INGEST)
    listing = staff_client.get("/admin/contacts/apikey/?status=active")
    page = staff_client.get(f"/admin/contacts/apikey/{key.pk}/change/")
    assert listing.status_code == page.status_code == 200
    assert key.prefix in listing.content.decode() and "website" in page.content.decode()
    assert key.key_hash not in listing.content.decode() + page.content.decode()
    assert staff_client.get("/admin/contacts/apikey/add/").status_code == 403


def test_the_contact_list_shows_contacts_with_their_device_counts(staff_client, app):
    ingest(app, app_user_id="u1", device_token="t1", platform="android", country="TR")
    ingest(app, app_user_id="u1", device_token="t2", platform="ios", language="tr")
    ingest(app, anonymous_id="anon-7")
    response = staff_client.get("/admin/contacts/contact/")
    assert response.status_code == 200
    counts = {
        c.external_id or c.anonymous_id: c.device_count for c in response.context["cl"].result_list
    }
    assert counts == {"u1": 2, "anon-7": 0}
    assert "anon-7" in response.content.decode()


def test_the_contact_list_runs_the_same_queries_for_any_number_of_contacts(staff_client, app):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get("/admin/contacts/contact/").status_code == 200
        return len(captured)

    ingest(app, app_user_id="u0", device_token="t0", platform="web")
    few = queries()
    for i in range(1, 12):
        ingest(app, app_user_id=f"u{i}", device_token=f"t{i}", platform="android")
    assert queries() == few


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("pushable=yes", {"granted"}),
        ("pushable=no", {"denied", "no-device"}),
        ("q=grant", {"granted"}),
        ("country=TR", {"denied"}),
        ("source=event", {"granted", "denied", "no-device"}),
    ],
)
def test_contacts_filter_by_push_permission_country_and_search(staff_client, app, query, expected):
    ingest(
        app, app_user_id="granted", device_token="a", platform="web", push_permission_granted=True
    )
    ingest(app, app_user_id="denied", device_token="b", platform="web", country="TR")
    ingest(app, app_user_id="no-device")
    response = staff_client.get(f"/admin/contacts/contact/?{query}")
    assert response.status_code == 200
    assert {c.external_id for c in response.context["cl"].result_list} == expected


def test_contacts_are_filtered_by_app(staff_client, app, other_app):
    ingest(app, app_user_id="mine")
    ingest(other_app, app_user_id="theirs")
    response = staff_client.get(f"/admin/contacts/contact/?app={other_app.pk}")
    assert [c.external_id for c in response.context["cl"].result_list] == ["theirs"]


def test_the_contact_page_shows_the_contacts_devices(staff_client, app):
    result = ingest(
        app,
        app_user_id="u1",
        device_token="tok-123",
        platform="android",
        push_permission_granted=True,
    )
    response = staff_client.get(f"/admin/contacts/contact/{result.contact_id}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "tok-123" in page and "Android" in page


def test_editing_a_contact_goes_through_the_contact_service(staff_client, app):
    result = ingest(app, app_user_id="u1")
    Contact.objects.filter(pk=result.contact_id).update(custom_fields={"tier": "gold", "old": 1})
    response = staff_client.post(
        f"/admin/contacts/contact/{result.contact_id}/change/",
        {
            "external_id": "u1",
            "email": "  Ana@Example.COM ",
            "phone": "",
            **custom_field_rows(("tier", "text", "silver"), ("old", "number", "1", "remove")),
            **inline_management("devices", "event_stats"),
        },
    )
    assert response.status_code == 302
    contact = Contact.objects.get(pk=result.contact_id)
    assert contact.email == "ana@example.com"  # normalised by contact_update
    assert contact.custom_fields == {"tier": "silver"}


def test_a_taken_external_id_is_reported_not_a_server_error(staff_client, app):
    ingest(app, app_user_id="taken")
    result = ingest(app, app_user_id="u2")
    url = f"/admin/contacts/contact/{result.contact_id}/change/"
    response = staff_client.post(
        url,
        {
            "external_id": "taken",
            "email": "",
            "phone": "",
            **custom_field_rows(),
            **inline_management("devices", "event_stats"),
        },
        follow=True,
    )
    assert response.redirect_chain == [(url, 302)]
    assert "already used by another contact" in response.content.decode()
    assert Contact.objects.get(pk=result.contact_id).external_id == "u2"


def custom_field_rows(*rows: tuple[str, ...], initial: int | None = None) -> dict:
    """The contact form's custom field rows: (name, type, value) or (name, type, value, "remove");
    by default each row stands for a stored field, in order."""
    count = len(rows) if initial is None else initial
    data = {"custom-TOTAL_FORMS": str(len(rows)), "custom-INITIAL_FORMS": str(count)}
    for n, (name, type_, value, *remove) in enumerate(rows):
        data.update(
            {f"custom-{n}-name": name, f"custom-{n}-type": type_, f"custom-{n}-value": value}
        )
        if remove:
            data[f"custom-{n}-DELETE"] = "on"
    return data


def inline_management(*prefixes: str) -> dict:
    data = {}
    for prefix in prefixes:
        data[f"{prefix}-TOTAL_FORMS"] = data[f"{prefix}-INITIAL_FORMS"] = "0"
    return data


def test_the_device_list_filters_by_platform_permission_and_validity(staff_client, app):
    ingest(
        app, app_user_id="u1", device_token="web-tok", platform="web", push_permission_granted=True
    )
    ingest(app, app_user_id="u2", device_token="ios-tok", platform="ios")
    Device.objects.filter(token="ios-tok").update(invalidated_at="2026-01-01T00:00:00Z")
    for query, expected in [
        ("", {"web-tok", "ios-tok"}),
        ("platform__exact=web", {"web-tok"}),
        ("push_permission_granted__exact=1", {"web-tok"}),
        ("invalidated=yes", {"ios-tok"}),
        ("q=ios-t", {"ios-tok"}),
    ]:
        response = staff_client.get(f"/admin/contacts/device/?{query}")
        assert response.status_code == 200
        assert {d.token for d in response.context["cl"].result_list} == expected, query
    device = Device.objects.get(token="web-tok")
    assert staff_client.get(f"/admin/contacts/device/{device.pk}/change/").status_code == 200


def test_an_admin_adds_a_rule_mapping_an_event_parameter_to_a_custom_field(staff_client, app):
    response = staff_client.post(
        "/admin/contacts/identifierrule/add/",
        {
            "app": app.pk,
            "param": "LoyaltyCard",
            "field": "custom",
            "custom_field": "card",
            "priority": 5,
        },
    )
    assert response.status_code == 302
    rule = IdentifierRule.objects.get(param="LoyaltyCard")
    assert (rule.app, rule.custom_field, rule.priority, rule.is_default) == (app, "card", 5, False)
    listing = staff_client.get(f"/admin/contacts/identifierrule/?app={app.pk}")
    assert listing.status_code == 200 and "LoyaltyCard" in listing.content.decode()
    page = staff_client.get(f"/admin/contacts/identifierrule/{rule.pk}/change/")
    assert page.status_code == 200


@pytest.mark.parametrize(
    ("field", "custom_field", "param", "error_field"),
    [
        ("custom", "", "Card", "custom_field"),
        ("email", "card", "Card", "custom_field"),
        ("email", "", "EMAIL", "param"),  # the default rule "Email" exists; names match any case
    ],
)
def test_a_rule_needs_a_custom_field_exactly_when_it_targets_one(
    staff_client, app, field, custom_field, param, error_field
):
    before = IdentifierRule.objects.count()
    response = staff_client.post(
        "/admin/contacts/identifierrule/add/",
        {
            "app": app.pk,
            "param": param,
            "field": field,
            "custom_field": custom_field,
            "priority": 1,
        },
    )
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == [error_field]
    assert IdentifierRule.objects.count() == before


def test_default_rules_are_shown_in_the_table_not_edited_as_rules(staff_client, app):
    rule = IdentifierRule.objects.get(app=app, param="Phone")
    url = f"/admin/contacts/identifierrule/{rule.pk}/change/"
    response = staff_client.post(url, {"param": "Phone", "field": "email", "priority": 1})
    assert response.status_code == 302 and response.url == "/admin/"  # no such custom rule
    rule.refresh_from_db()
    assert (rule.field, rule.priority, rule.is_default) == ("phone", 6, True)
    listing = staff_client.get("/admin/contacts/identifierrule/")
    assert listing.context["cl"].result_list.count() == 0
    assert "<code>Phone</code>, <code>SMS</code>, <code>PhoneNumber</code>" in listing.text


def test_staff_who_are_not_superusers_see_only_their_apps(db, app, other_app):
    user = get_user_model().objects.create_user("marketer", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_contact", "view_app"]))
    app.members.add(user)
    ingest(app, app_user_id="mine")
    ingest(other_app, app_user_id="theirs")
    client = Client()
    client.force_login(user)
    contacts = client.get("/admin/contacts/contact/").context["cl"].result_list
    assert [c.external_id for c in contacts] == ["mine"]
    apps = client.get("/admin/contacts/app/").context["cl"].result_list
    assert [a.tenant_id for a in apps] == ["shop"]
    theirs = Contact.objects.get(external_id="theirs")
    assert client.get(f"/admin/contacts/contact/{theirs.pk}/change/").status_code == 302
