"""Every admin page a role can reach from its menu, followed link by link: the menu offers only
what the role may use, and no link on a page the role sees leads to a 403 or a 500."""

from __future__ import annotations

import re
from collections import deque
from html import unescape
from urllib.parse import parse_qs

import pytest

from events.models import EventType

MARKETER_MENU = {
    "Audience": ["/admin/contacts/contact/", "/admin/contacts/device/", "/admin/segments/segment/"],
    "Messaging": ["/admin/campaigns/campaign/", "/admin/campaigns/delivery/"],
    "Data": [
        "/admin/events/event/",
        "/admin/events/eventtype/",
        "/admin/events/eventattribute/",
        "/admin/dashboard/insight/",
    ],
}
ADMIN_MENU = {
    **MARKETER_MENU,
    "Data": [*MARKETER_MENU["Data"], "/admin/transfers/importjob/"],
    "Settings": [
        "/admin/contacts/app/",
        "/admin/contacts/apikey/",
        "/admin/contacts/identifierrule/",
        "/admin/campaigns/pushpolicy/",
        "/admin/campaigns/emailsettings/",
        "/admin/campaigns/messagingpolicy/",
        "/admin/campaigns/fcmcredentials/",
        "/admin/campaigns/apnscredentials/",
        "/admin/campaigns/onesignalcredentials/",
        "/admin/campaigns/vapidkeypair/",
    ],
}
SUPERUSER_SETTINGS = [*ADMIN_MENU["Settings"], "/admin/auth/user/", "/admin/auth/group/"]
INTERNAL_TABLES = {
    "/admin/events/contacteventstats/",
    "/admin/segments/segmentmembership/",
    "/admin/django_celery_beat/clockedschedule/",
    "/admin/django_celery_beat/crontabschedule/",
    "/admin/django_celery_beat/intervalschedule/",
    "/admin/django_celery_beat/solarschedule/",
    "/admin/django_celery_beat/periodictask/",
    "/admin/axes/accessattempt/",
    "/admin/axes/accesslog/",
    "/admin/axes/accessfailurelog/",
}
LINK = re.compile(r'href="((?:/admin/|\?)[^"#]*)"')
NOT_FOLLOWED = ("/admin/logout/", "/admin/jsi18n/", "/admin/r/")


def menu(client, url: str = "/admin/") -> dict[str, list[str]]:
    """The menu's sections, each with its pages in order."""
    return {
        app["name"]: [model["admin_url"] for model in app["models"]]
        for app in client.get(url).context["available_apps"]
    }


def pages_of(menu: dict[str, list[str]]) -> set[str]:
    return {url for urls in menu.values() for url in urls}


def kind_of(url: str) -> tuple:
    """Pages of one kind: the same path, ids aside, with the same query parameters, values
    aside: each object page, filter and sort order is followed once, not once per value."""
    path, _, query = url.partition("?")
    return re.sub(r"/\d+/", "/<id>/", path), tuple(sorted(parse_qs(query, keep_blank_values=True)))


def crawl(client) -> dict[str, tuple[int, str]]:
    """GET every /admin/ link reachable from the dashboard, one page of each kind, and every
    filter and sort link of a page once; returns the status and the text of each."""
    pages: dict[str, tuple[int, str]] = {}
    kinds, queue = set(), deque(["/admin/"])
    while queue:
        url = queue.popleft()
        if kind_of(url) in kinds:
            continue
        kinds.add(kind_of(url))
        response = client.get(url)
        html = "html" in response.get("Content-Type", "")
        pages[url] = response.status_code, response.content.decode() if html else ""
        if "?" in url:
            continue  # a filtered or sorted variant: its links are the unfiltered page's
        for link in LINK.findall(pages[url][1] if response.status_code == 200 else ""):
            link = unescape(link)
            link = url.partition("?")[0] + link if link.startswith("?") else link
            if not link.startswith(NOT_FOLLOWED):
                queue.append(link)
    return pages


@pytest.mark.parametrize(("role", "expected"), [("Marketer", MARKETER_MENU), ("Admin", ADMIN_MENU)])
def test_the_menu_offers_exactly_what_the_role_may_use(role_client, app, role, expected):
    assert menu(role_client(role, app)) == expected


def test_a_superuser_also_sees_users_and_the_internal_tables_last(staff_client):
    sections = menu(staff_client)
    assert list(sections) == ["Audience", "Messaging", "Data", "Settings", "Internal"]
    assert sections["Settings"] == SUPERUSER_SETTINGS
    assert set(sections["Internal"]) == INTERNAL_TABLES
    for url in INTERNAL_TABLES:
        assert staff_client.get(url).status_code == 200


@pytest.mark.parametrize("role", ["Marketer", "Admin"])
@pytest.mark.parametrize("url", sorted(INTERNAL_TABLES))
def test_an_internal_table_is_forbidden_to_a_role_even_by_its_url(role_client, app, role, url):
    assert role_client(role, app).get(url).status_code == 403


def test_the_sidebar_shows_the_same_sections_on_every_page(role_client, app):
    client = role_client("Marketer", app)
    assert menu(client, "/admin/campaigns/campaign/") == MARKETER_MENU
    page = client.get("/admin/campaigns/campaign/").text
    assert re.search(r'id="nav-sidebar".*>Audience</a>.*>Messaging</a>.*>Data</a>', page, re.S)


def test_a_section_has_a_page_of_its_own_for_the_roles_that_see_it(role_client, app):
    marketer, admin = role_client("Marketer", app), role_client("Admin", app)
    response = marketer.get("/admin/section/data/")
    assert response.status_code == 200
    assert [app["name"] for app in response.context["app_list"]] == ["Data"]
    assert 'href="/admin/events/eventtype/"' in response.text
    assert marketer.get("/admin/section/settings/").status_code == 404
    assert admin.get("/admin/section/settings/").status_code == 200
    assert admin.get("/admin/section/internal/").status_code == 404
    assert admin.get("/admin/section/nonsense/").status_code == 404


def test_an_apps_own_page_lists_its_models_without_the_internal_ones(role_client, app):
    client = role_client("Marketer", app)
    response = client.get("/admin/events/")
    assert response.status_code == 200
    listed = [model["admin_url"] for model in response.context["app_list"][0]["models"]]
    assert "/admin/events/contacteventstats/" not in listed
    assert "/admin/events/eventtype/" in listed
    assert client.get("/admin/django_celery_beat/").status_code == 404


def test_the_header_links_the_api_docs_instead_of_a_missing_site(role_client, client, app):
    page = role_client("Marketer", app).get("/admin/").text
    assert "View site" not in page
    assert re.search(r'<a href="/api/v1/docs">API docs</a>', page)
    assert client.get("/api/v1/docs").status_code == 200


@pytest.mark.parametrize("role", ["Marketer", "Admin"])
def test_no_link_on_a_page_the_role_sees_gives_a_403_or_a_500(role_client, two_apps, role):
    app, _ = two_apps
    pages = crawl(role_client(role, app))
    assert {url: status for url, (status, _) in pages.items() if status >= 400} == {}
    assert [url for url, (_, text) in pages.items() if "theirs" in text] == []
    paths = {url.split("?")[0] for url in pages}
    assert pages_of(menu(role_client(role, app, username=f"{role}-2"))) <= paths
    assert len([url for url in pages if "/change/" in url]) >= 8  # past the lists
    assert len([url for url in pages if "?" in url]) >= 20  # filters and sort orders


def test_a_marketer_sees_an_event_types_app_as_text_and_an_admin_as_a_link(role_client, two_apps):
    app, _ = two_apps
    event_type = EventType.objects.filter(app=app).first()
    url = f"/admin/events/eventtype/{event_type.pk}/change/"
    app_link = f'href="/admin/contacts/app/{app.pk}/change/"'
    marketer_page = role_client("Marketer", app).get(url).text
    assert app_link not in marketer_page
    assert re.search(
        r'field-app">.*?<div class="readonly">Shop \(shop\)</div>', marketer_page, re.S
    )
    assert app_link in role_client("Admin", app).get(url).text
