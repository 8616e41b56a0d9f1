"""How event params read on the admin's pages: as name-value pairs, not JSON."""

from __future__ import annotations

import json

from django.utils.html import format_html, format_html_join


def params_text(params: dict) -> str:
    return json.dumps(params, ensure_ascii=False, sort_keys=True)


def param_items(params: dict) -> list[tuple[str, str]]:
    """(name, value) by name; text as typed, other values as JSON (true, 49.99, [1, 2])."""
    return [
        (name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        for name, value in sorted(params.items())
    ]


def params_html(params: dict, *, limit: int | None = None) -> str:
    """The params as name-value chips (the first `limit`, then how many more)."""
    items = param_items(params)
    shown = items if limit is None else items[:limit]
    chips = format_html_join(
        " ", '<span class="param"><span class="param-name">{}</span> {}</span>', shown
    )
    if len(items) > len(shown):
        return format_html('{} <span class="quiet">+{} more</span>', chips, len(items) - len(shown))
    return chips or format_html('<span class="quiet">{}</span>', "no params")
