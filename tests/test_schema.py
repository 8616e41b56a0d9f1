"""The OpenAPI schema generates without a warning (a warning usually means a view whose input or
output the schema cannot describe)."""

from __future__ import annotations

from django.core.management import call_command


def test_openapi_schema_generates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(target), "--validate", "--fail-on-warn")
    schema = target.read_text()
    for path in ("/api/v1/contacts/{contact_id}/events:", "/api/v1/event-types:"):
        assert path in schema
