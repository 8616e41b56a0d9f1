"""The header's app selector: a user of several apps picks one, and every page and the dashboard
show that app only; the per-app filters keep working."""

from __future__ import annotations

import pytest

from contacts.access import SESSION_APP
from tests.admin_pages import SETUP_PAGES, WORK_PAGES


def select(client, app_id, next_url="/admin/"):
    return client.post("/admin/select-app/", {"app": app_id, "next": next_url})


@pytest.fixture
def both(role_client, two_apps):
    """An admin of both apps, and the apps."""
    app, other_app = two_apps
    return role_client("Admin", app, other_app), app, other_app


def test_a_user_of_several_apps_sees_all_of_them_until_choosing_one(both):
    client, app, other_app = both
    page = client.get("/admin/").content.decode()
    assert 'id="app-select"' in page and "All my apps" in page
    assert "mine-segment" in page and "theirs-segment" in page
    response = select(client, other_app.pk)
    assert response.status_code == 302 and response.url == "/admin/"
    assert client.session[SESSION_APP] == other_app.pk
    page = client.get("/admin/").content.decode()
    assert f'<option value="{other_app.pk}" selected>' in page
    assert "theirs-segment" in page and "mine" not in page


@pytest.mark.parametrize("url", WORK_PAGES + SETUP_PAGES[:2])
def test_every_page_shows_the_chosen_app_only(both, url):
    client, app, other_app = both
    select(client, app.pk)
    response = client.get(url)
    assert len(response.context["cl"].result_list) > 0, url
    assert "theirs" not in response.content.decode()
    select(client, other_app.pk)
    response = client.get(url)
    assert len(response.context["cl"].result_list) > 0, url
    assert "mine" not in response.content.decode()


def test_the_apps_page_still_lists_every_app_to_choose_from(both):
    client, app, other_app = both
    select(client, app.pk)
    listed = client.get("/admin/contacts/app/").context["cl"].result_list
    assert {a.pk for a in listed} == {app.pk, other_app.pk}


def test_the_app_filter_keeps_working_without_a_choice(both):
    client, app, other_app = both
    response = client.get(f"/admin/contacts/contact/?app={other_app.pk}")
    assert [c.external_id for c in response.context["cl"].result_list] == ["theirs-user"]


def test_a_new_segment_belongs_to_the_chosen_app(both):
    client, app, other_app = both
    select(client, other_app.pk)
    form = client.get("/admin/segments/segment/add/").context["adminform"].form
    assert list(form.fields["app"].queryset) == [other_app]
    assert form["app"].value() == other_app.pk


def test_an_app_of_someone_else_cannot_be_chosen(role_client, two_apps):
    app, other_app = two_apps
    client = role_client("Marketer", app)
    response = select(client, other_app.pk)
    assert response.status_code == 302
    assert SESSION_APP not in client.session
    assert "theirs" not in client.get("/admin/").content.decode()


def test_a_choice_that_is_no_longer_allowed_falls_back_to_the_users_apps(both):
    client, app, other_app = both
    select(client, other_app.pk)
    other_app.members.clear()
    page = client.get("/admin/").content.decode()
    assert "mine-segment" in page and "theirs" not in page


def test_all_my_apps_clears_the_choice_and_the_query_is_dropped(both):
    client, app, _ = both
    select(client, app.pk)
    response = select(client, "", next_url=f"/admin/contacts/contact/?app={app.pk}")
    assert response.url == "/admin/contacts/contact/"
    assert SESSION_APP not in client.session


def test_the_selector_goes_back_only_to_this_site_and_only_by_post(both):
    client, app, _ = both
    assert select(client, app.pk, next_url="https://evil.example/").url == "/admin/"
    assert client.get("/admin/select-app/").status_code == 405


def test_a_user_of_one_app_sees_its_name_instead_of_a_selector(role_client, app):
    page = role_client("Marketer", app).get("/admin/").content.decode()
    assert "<strong>Shop</strong>" in page and "All my apps" not in page


def test_an_object_of_the_other_app_is_not_shown_while_one_app_is_chosen(both):
    client, app, other_app = both
    theirs = other_app.segments.get()
    assert client.get(f"/admin/segments/segment/{theirs.pk}/change/").status_code == 200
    select(client, app.pk)
    response = client.get(f"/admin/segments/segment/{theirs.pk}/change/")
    assert response.status_code == 302  # "doesn't exist", back to the index
    assert client.get(f"/admin/segments/segment/{app.segments.get().pk}/change/").status_code == 200
