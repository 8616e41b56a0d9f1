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
    "/admin/contacts/contact/",
    "/admin/contacts/device/",
    "/admin/events/event/",
    "/admin/events/eventtype/",
    "/admin/events/eventattribute/",
    "/admin/events/contacteventstats/",
    "/admin/segments/segment/",
    "/admin/segments/segmentmembership/",
    "/admin/campaigns/campaign/",
    "/admin/campaigns/delivery/",
}
ADMIN_MENU = MARKETER_MENU | {
    "/admin/contacts/app/",
    "/admin/contacts/apikey/",
    "/admin/contacts/identifierrule/",
    "/admin/campaigns/pushpolicy/",
    "/admin/campaigns/vapidkeypair/",
    "/admin/campaigns/fcmcredentials/",
    "/admin/campaigns/apnscredentials/",
    "/admin/campaigns/onesignalcredentials/",
}
LINK = re.compile(r'href="((?:/admin/|\?)[^"#]*)"')
NOT_FOLLOWED = ("/admin/logout/", "/admin/jsi18n/", "/admin/r/")


def menu(client) -> set[str]:
    return {
        model["admin_url"]
        for app in client.get("/admin/").context["available_apps"]
        for model in app["models"]
    }


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


@pytest.mark.parametrize("role", ["Marketer", "Admin"])
def test_no_link_on_a_page_the_role_sees_gives_a_403_or_a_500(role_client, two_apps, role):
    app, _ = two_apps
    pages = crawl(role_client(role, app))
    assert {url: status for url, (status, _) in pages.items() if status >= 400} == {}
    assert [url for url, (_, text) in pages.items() if "theirs" in text] == []
    paths = {url.split("?")[0] for url in pages}
    assert menu(role_client(role, app, username=f"{role}-2")) <= paths
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
