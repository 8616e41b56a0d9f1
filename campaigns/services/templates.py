"""Message templates in Liquid (python-liquid): `{{ event.amount }}`, `{{ event["sign up date"] }}`,
`{{ contact.first_name | default: "there" }}`. Unknown names render empty, as marketers expect."""

from __future__ import annotations

import functools

from django.core.exceptions import ValidationError
from liquid import Environment
from liquid.exceptions import LiquidError

from contacts.models import Contact

TEMPLATE_FIELDS = ("title", "body", "url")
_environment = Environment()


def template_errors(**templates: str) -> dict[str, list[str]]:
    """{field: [reason]} for each template that does not parse."""
    errors = {}
    for field, source in templates.items():
        try:
            _parse(source or "")
        except LiquidError as exc:
            errors[field] = [f"is not a valid Liquid template: {str(exc).splitlines()[0]}"]
    return errors


def templates_render(
    templates: dict[str, str], *, contact: Contact | None, event_params: dict | None
) -> dict[str, str]:
    """Render each template for a contact and the trigger event's params.

    A template that parses can still fail on the values it gets (`divided_by: 0`, a filter
    given a string): ValidationError {field: [reason]} for each field that failed."""
    scope = {"contact": contact_scope(contact), "event": event_params or {}}
    rendered, errors = {}, {}
    for field, source in templates.items():
        if not _has_markup(source):  # plain text renders as itself: skip the engine
            rendered[field] = source or ""
            continue
        try:
            rendered[field] = _parse(source).render(**scope)
        except LiquidError as exc:
            errors[field] = [f"cannot be rendered for these values: {str(exc).splitlines()[0]}"]
    if errors:
        raise ValidationError(errors)
    return rendered


# The contact's own fields a template sees (besides its id and custom fields).
CONTACT_FIELDS = ("external_id", "email", "phone", "country", "language", "timezone")


def contact_scope(contact: Contact | None) -> dict:
    """What `{{ contact.x }}` sees: custom fields by name, then the contact's own fields."""
    if contact is None:
        return {}
    scope = {**(contact.custom_fields or {}), "id": contact.pk}
    scope.update((name, getattr(contact, name)) for name in CONTACT_FIELDS)
    return scope


def _has_markup(source: str | None) -> bool:
    return bool(source) and ("{{" in source or "{%" in source)


@functools.lru_cache(maxsize=512)
def _parse(source: str):
    return _environment.from_string(source)
