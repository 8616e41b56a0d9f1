"""The Marketer and Admin roles: what each may reach in the admin, and only in its own apps."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from campaigns.models import Delivery
from campaigns.services.policy import push_policy_update
from campaigns.services.triggers import trigger_marks_process
from contacts.models import ApiKey, IdentifierRule
from contacts.services.apps import api_key_create, identifier_rule_create
from contacts.services.roles import ADMIN_PERMISSIONS, MARKETER_PERMISSIONS, roles_install
from segments.services import segment_create, segment_refresh
from tests.campaigns.factories import active_campaign, subscribe, track

SETUP_PAGES = [
    "/admin/contacts/apikey/",
    "/admin/contacts/identifierrule/",
    "/admin/contacts/app/",
    "/admin/campaigns/pushpolicy/",
]
WORK_PAGES = [
    "/admin/contacts/contact/",
    "/admin/contacts/device/",
    "/admin/events/event/",
    "/admin/events/eventtype/",
    "/admin/events/contacteventstats/",
    "/admin/segments/segment/",
    "/admin/segments/segmentmembership/",
    "/admin/campaigns/campaign/",
    "/admin/campaigns/delivery/",
]


@pytest.fixture
def two_apps(app, other_app):
    """The same kinds of rows in both apps, named after their app."""
    for each, marker in [(app, "mine"), (other_app, "theirs")]:
        campaign = active_campaign(each, name=f"{marker}-campaign", trigger_event=f"{marker}_ev")
        subscribe(each, f"{marker}-user")
        track(each, f"{marker}-user", f"{marker}_ev", amount=1)
        trigger_marks_process()
        api_key_create(app=each, name=f"{marker}-key", scope=ApiKey.Scope.INGEST)
        identifier_rule_create(
            app=each, param=f"{marker}_param", field=IdentifierRule.Field.EMAIL, custom_field=""
        )
        segment = segment_create(app=each, name=f"{marker}-segment", conditions={"type": "device"})
        segment_refresh(segment=segment)
        push_policy_update(app=each, daily_cap=3)
        Delivery.objects.filter(campaign=campaign).update(reason=f"{marker}-delivery")
    return app, other_app


def permission_names(group: Group) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


def test_roles_install_gives_each_group_exactly_its_permissions(db):
    groups = roles_install()
    stray = groups["Marketer"].permissions.model.objects.get(codename="delete_event")
    groups["Marketer"].permissions.add(stray)
    groups = roles_install()  # idempotent, and it takes back what was added by hand
    assert permission_names(groups["Marketer"]) == set(MARKETER_PERMISSIONS)
    assert permission_names(groups["Admin"]) == set(ADMIN_PERMISSIONS)
    assert Group.objects.count() == 2


@pytest.mark.parametrize("url", SETUP_PAGES)
def test_a_marketer_cannot_reach_the_apps_setup(role_client, app, url):
    client = role_client("Marketer", app)
    assert client.get(url).status_code == 403


def test_a_marketer_cannot_create_an_api_key_or_a_mapping_rule(role_client, app):
    client = role_client("Marketer", app)
    assert client.get(f"/admin/contacts/app/{app.pk}/api-key/").status_code == 403
    response = client.post(
        "/admin/contacts/identifierrule/add/",
        {"app": app.pk, "param": "Mail", "field": "email", "priority": 1},
    )
    assert response.status_code == 403
    assert not IdentifierRule.objects.filter(param="Mail").exists()
    index = client.get("/admin/").content.decode()
    assert "/admin/contacts/apikey/" not in index and "/admin/contacts/identifierrule/" not in index


def test_an_admin_reaches_api_keys_and_mapping_rules(role_client, app):
    client = role_client("Admin", app)
    for url in SETUP_PAGES:
        assert client.get(url).status_code == 200, url
    response = client.post(
        "/admin/contacts/identifierrule/add/",
        {"app": app.pk, "param": "Mail", "field": "email", "priority": 1},
    )
    assert response.status_code == 302
    assert IdentifierRule.objects.filter(app=app, param="Mail").exists()
    created = client.post(
        f"/admin/contacts/app/{app.pk}/api-key/", {"name": "site", "scope": "ingest"}
    )
    assert created.status_code == 200 and "bk_ingest_" in created.content.decode()


@pytest.mark.parametrize("role", ["Marketer", "Admin"])
def test_each_role_sees_its_apps_rows_and_never_anothers(role_client, two_apps, role):
    app, _ = two_apps
    client = role_client(role, app)
    pages = WORK_PAGES + (SETUP_PAGES if role == "Admin" else [])
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(response.context["cl"].result_list) > 0, url
        assert "theirs" not in response.content.decode(), url
