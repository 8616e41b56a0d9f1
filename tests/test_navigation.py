"""Every admin page a role can reach from its menu, followed link by link: the menu offers only
what the role may use, and no link on a page the role sees leads to a 403 or a 500."""

from __future__ import annotations

import re
from collections import deque
from html import unescape

import pytest

from campaigns.models import Campaign

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
}
LINK = re.compile(r'href="(/admin/[^"#]*)"')
NOT_FOLLOWED = ("/admin/logout/", "/admin/jsi18n/", "/admin/r/")
PAGE_LIMIT = 400


def menu(client) -> set[str]:
    return {
        model["admin_url"]
        for app in client.get("/admin/").context["available_apps"]
        for model in app["models"]
    }


def crawl(client) -> dict[str, int]:
    """GET every /admin/ link reachable from the dashboard (filters and sorting included, up to
    PAGE_LIMIT pages); returns the status of each."""
    seen: dict[str, int] = {}
    queue = deque(["/admin/"])
    while queue and len(seen) < PAGE_LIMIT:
        url = queue.popleft()
        if url in seen:
            continue
        response = client.get(url)
        seen[url] = response.status_code
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for link in LINK.findall(response.content.decode()):
            link = unescape(link)
            if not link.startswith(NOT_FOLLOWED) and link not in seen:
                queue.append(link)
    return seen


@pytest.mark.parametrize(("role", "expected"), [("Marketer", MARKETER_MENU), ("Admin", ADMIN_MENU)])
def test_the_menu_offers_exactly_what_the_role_may_use(role_client, app, role, expected):
    assert menu(role_client(role, app)) == expected


@pytest.mark.parametrize("role", ["Marketer", "Admin"])
def test_no_link_on_a_page_the_role_sees_gives_a_403_or_a_500(role_client, two_apps, role):
    app, _ = two_apps
    statuses = crawl(role_client(role, app))
    broken = {url: status for url, status in statuses.items() if status >= 400}
    assert broken == {}
    pages = {url.split("?")[0] for url in statuses}
    assert menu(role_client(role, app, username=f"{role}-2")) <= pages
    assert len(statuses) > 40  # the crawl did go past the menu: change pages, filters


def test_a_marketer_sees_a_campaigns_app_as_text_and_an_admin_as_a_link(role_client, two_apps):
    app, _ = two_apps
    campaign = Campaign.objects.get(app=app)
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    app_link = f'href="/admin/contacts/app/{app.pk}/change/"'
    marketer_page = role_client("Marketer", app).get(url).text
    assert app_link not in marketer_page
    assert re.search(
        r'field-app">.*?<div class="readonly">Shop \(shop\)</div>', marketer_page, re.S
    )
    assert app_link in role_client("Admin", app).get(url).text
