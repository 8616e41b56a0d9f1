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


def test_committed_api_reference_matches_the_code(tmp_path):
    """docs/openapi.yaml is the API reference: regenerate it with `make schema` after a change."""
    from pathlib import Path

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(target))
    committed = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"
    assert committed.read_text() == target.read_text(), "run `make schema` and commit the result"
