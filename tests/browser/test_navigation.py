"""The admin's menu by task in a real browser, for each role: the sidebar's sections in order,
a section's own page, and the internal tables for superusers only; screenshots are kept in
test-artifacts/."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.browser.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def rows(page, selector: str) -> list[str]:
    return [text.strip() for text in page.locator(selector).all_text_contents()]


def sections(page) -> list[str]:
    return page.locator("#content-main .module caption a.section").all_text_contents()


def sidebar_sections(page) -> list[str]:
    return page.locator("#nav-sidebar caption a.section").all_text_contents()


def test_a_marketer_sees_audience_messaging_and_data_only(
    page, live_server, signed_in, app, screenshot, console_errors
):
    signed_in("Marketer", app)
    assert sections(page) == ["Audience", "Messaging", "Data"]
    screenshot("navigation-marketer-dashboard")
    page.click("#content-main caption a:text('Data')")
    page.wait_for_url("**/admin/section/data/")
    assert rows(page, "#content-main th[scope=row] a")[:3] == [
        "Events",
        "Event types",
        "Event attributes",
    ]
    page.click("#content-main a:text('Event types')")
    page.wait_for_url("**/admin/events/eventtype/")
    page.locator("#nav-sidebar").wait_for()
    assert sidebar_sections(page) == ["Audience", "Messaging", "Data"]
    screenshot("navigation-marketer-sidebar")
    response = page.goto(f"{live_server.url}/admin/events/contacteventstats/")
    assert response.status == 403
    console_errors.take("status of 403")


def test_an_admin_also_sees_the_settings(
    page, live_server, signed_in, app, screenshot, console_errors
):
    signed_in("Admin", app)
    assert sections(page) == ["Audience", "Messaging", "Data", "Settings"]
    settings_rows = rows(page, "#content-main .app-settings th[scope=row]")
    assert settings_rows[:3] == ["Apps", "API keys", "Mapping rules"]
    assert "Users" not in settings_rows
    screenshot("navigation-admin-dashboard")
    response = page.goto(f"{live_server.url}/admin/django_celery_beat/periodictask/")
    assert response.status == 403
    console_errors.take("status of 403")


def test_a_superuser_sees_the_internal_tables_last(page, live_server, app, screenshot):
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, live_server, "root", "pw-root-123")
    assert sections(page) == ["Audience", "Messaging", "Data", "Settings", "Internal"]
    internal = rows(page, "#content-main .app-internal th[scope=row]")
    assert {"Contact event stats", "Segment memberships", "Periodic tasks", "Crontabs"} <= set(
        internal
    )
    screenshot("navigation-superuser-dashboard")
    page.click("#content-main .app-internal caption a")
    page.wait_for_url("**/admin/section/internal/")
    screenshot("navigation-superuser-internal")
