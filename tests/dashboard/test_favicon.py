"""Browsers ask every site for /favicon.ico; Beacon answers with its icon."""

from __future__ import annotations


def test_the_favicon_is_served(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(response.streaming_content)
    assert "max-age=86400" in response["Cache-Control"]


def test_admin_pages_link_the_icon(staff_client):
    page = staff_client.get("/admin/").content.decode()
    assert 'rel="icon"' in page and "dashboard/favicon" in page
