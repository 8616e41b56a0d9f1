"""The Marketer and Admin roles: what each may reach in the admin, and only in its own apps."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from contacts.models import IdentifierRule
from contacts.services.roles import ADMIN_PERMISSIONS, MARKETER_PERMISSIONS, roles_install
from tests.admin_pages import SETUP_PAGES, WORK_PAGES


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
