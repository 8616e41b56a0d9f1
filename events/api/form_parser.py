"""Customer.io's form-encoded track call on POST /api/v1/events:
`curl -u site_id:key -d name=purchased -d data[price]=23.45 -d timestamp=1359389415 ...`.

The form becomes the JSON payload ingest validates, so every rule of a JSON event holds:
- a plain key is a top-level field (`name`, `timestamp`, or any of Beacon's own: event_name,
  app_user_id, ...); an unknown one is refused by the validation, naming it;
- `root[a][b]` nests objects (`data[price]` -> {"data": {"price": ...}}), `root[a][]` appends to
  a list; a key given twice, or both as a value and as an object, is a 400 naming it;
- values stay strings, as Customer.io keeps them: Unix seconds in text are a time as numbers are,
  and a param's value is typed by Beacon's attribute typing like any string sent in JSON (a
  declared number attribute or a `float_`/`int_` prefix makes "23.45" the number 23.45; an
  undeclared param first seen as "23.45" is discovered as a string). Only the boolean fields
  (push_permission_granted) take "true"/"false" as true/false.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from rest_framework import exceptions
from rest_framework.parsers import BaseParser

from config.api import FastJSONParser, ValidationFailed
from events.validation import INPUT_FIELDS, MAX_DEPTH

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 1000  # a param is one field; an event holds at most 255 of them
_BOOLEAN_FIELDS = tuple(spec.name for spec in INPUT_FIELDS if spec.kind == "boolean")
_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


class TrackFormParser(BaseParser):
    """A form-encoded event, as the JSON payload it stands for (module docstring)."""

    media_type = FORM_MEDIA_TYPE

    def parse(self, stream, media_type=None, parser_context=None) -> dict:
        # The raw body is not left in parser_context["body"]: there a NUL would be %00, which
        # the view's byte search for JSON's \u0000 misses, so the validation looks for it.
        body = FastJSONParser.read_body(stream, parser_context if parser_context else {})
        try:
            pairs = parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                errors="strict",
                max_num_fields=MAX_FORM_FIELDS,
            )
        except UnicodeDecodeError:
            raise exceptions.ParseError("body is not valid UTF-8") from None
        except ValueError:
            raise ValidationFailed({"body": [f"at most {MAX_FORM_FIELDS} form fields"]}) from None
        return form_payload(pairs)


def form_payload(pairs: list[tuple[str, str]]) -> dict:
    """The JSON payload of a form's (key, value) pairs; ValidationFailed naming a bad key."""
    payload: dict = {}
    for key, value in pairs:
        _place(payload, _path(key), value, key)
    for name in _BOOLEAN_FIELDS:
        if payload.get(name) in ("true", "false"):
            payload[name] = payload[name] == "true"
    return payload


def _path(key: str) -> list[str]:
    """ "data[a][b]" -> ["data", "a", "b"]; "tags[]" -> ["tags", ""] (append)."""
    match = _KEY.fullmatch(key)
    if match is None:
        raise _refused(key, "is not a field name, nor name[key]... for an object")
    path = [match[1], *_SEGMENT.findall(match[2])]
    if "" in path[1:-1]:
        raise _refused(key, "[] (a list) may only end a key")
    if len(path) > MAX_DEPTH:
        raise _refused(key, f"must not nest more than {MAX_DEPTH} levels deep")
    return path


def _place(payload: dict, path: list[str], value: str, key: str) -> None:
    append = len(path) > 1 and path[-1] == ""
    *parents, leaf = path[:-1] if append else path
    node = payload
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise _refused(key, "is given both as a value and as an object")
    if append:
        items = node.setdefault(leaf, [])
        if not isinstance(items, list):
            raise _refused(key, "is given both as a list and otherwise")
        items.append(value)
    elif leaf in node:
        raise _refused(key, "is given more than once")
    else:
        node[leaf] = value


def _refused(key: str, reason: str) -> ValidationFailed:
    return ValidationFailed({key[:40]: [reason]})
