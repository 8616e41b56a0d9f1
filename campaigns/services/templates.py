"""Message templates in Liquid (python-liquid): `{{ event.amount }}`, `{{ event["sign up date"] }}`,
`{{ contact.first_name | default: "there" }}`. Unknown names render empty, as marketers expect;
the preview names them (templates_unknown_variables), from Liquid's own analysis."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from liquid import Environment
from liquid.exceptions import LiquidError

from contacts.models import Contact

TEMPLATE_FIELDS = ("title", "body", "url")
EMAIL_TEMPLATE_FIELDS = ("preheader", "html_body", "text_body")
_environment = Environment()
_html_environment = Environment(autoescape=True)  # an email's HTML part: values are escaped


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
    templates: dict[str, str],
    *,
    contact: Contact | None,
    event_params: dict | None,
    extra: dict | None = None,
    escape: bool = False,
) -> dict[str, str]:
    """Render each template for a contact and the trigger event's params (and `extra`
    variables). `escape`: the templates are HTML, and the values they output are escaped.

    A template that parses can still fail on the values it gets (`divided_by: 0`, a filter
    given a string): ValidationError {field: [reason]} for each field that failed."""
    scope = {**(extra or {}), "contact": contact_scope(contact), "event": event_params or {}}
    rendered, errors = {}, {}
    for field, source in templates.items():
        if not _has_markup(source):  # plain text renders as itself: skip the engine
            rendered[field] = source or ""
            continue
        try:
            rendered[field] = _parse(source, escape).render(**scope)
        except LiquidError as exc:
            errors[field] = [f"cannot be rendered for these values: {str(exc).splitlines()[0]}"]
    if errors:
        raise ValidationError(errors)
    return rendered


def templates_unknown_variables(
    templates: dict[str, str],
    *,
    contact: Contact | None,
    event_params: dict | None,
    event_attributes: Iterable[str] = (),
    extra: dict | None = None,
) -> list[str]:
    """The variables the templates read that these values don't have ("event.params.x"), each
    once, in the order the templates use them: each renders empty. An event's param is known if
    the sample event has it or the trigger's event type has it as an attribute (declared or
    discovered); a contact's fields are checked only against a chosen contact; `extra` are the
    other variables the templates are rendered with (as for templates_render). Variables that a
    template assigns or loops over are its own (Liquid's analysis leaves them out); a template
    that does not parse is template_errors' to report."""
    scope = {**(extra or {}), "contact": contact_scope(contact), "event": event_params or {}}
    attributes = set(event_attributes)
    unknown: list[str] = []
    for source in templates.values():
        if not _has_markup(source):
            continue
        try:
            variables = _parse(source).analyze().globals.values()
        except LiquidError:
            continue
        for variable in sorted((v for vs in variables for v in vs), key=lambda v: v.span.index):
            segments = variable.segments
            if segments[0] == "contact" and contact is None:
                continue
            if segments[0] == "event" and len(segments) > 1 and str(segments[1]) in attributes:
                continue
            if str(variable) not in unknown and not _resolves(scope, segments):
                unknown.append(str(variable))
    return unknown


def _resolves(scope: dict, segments: list) -> bool:
    """Whether the path leads to a value, as Liquid looks one up: keys, list indexes, `size`,
    and a list's `first` and `last`. A segment that is itself a variable (`event[contact.key]`)
    can't be followed here: such a path counts as known."""
    value = scope
    for segment in segments:
        if isinstance(segment, list):
            return True
        if isinstance(value, dict) and segment in value:
            value = value[segment]
        elif segment == "size" and isinstance(value, dict | list | str):
            value = len(value)
        elif isinstance(value, list) and value and segment in ("first", "last"):
            value = value[0] if segment == "first" else value[-1]
        elif (
            isinstance(value, list)
            and isinstance(segment, int)
            and -len(value) <= segment < len(value)
        ):
            value = value[segment]
        else:
            return False
    return True


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
def _parse(source: str, escape: bool = False):
    return (_html_environment if escape else _environment).from_string(source)
