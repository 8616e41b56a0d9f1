"""Rows of name, type and value that stand for a JSON object, so that nobody types JSON: the
contact's custom fields (contacts/forms.py) and the test event's params (events/forms.py).

A row form turns its text into a JSON value of the chosen type; the formset checks that names are
not repeated, skips the rows marked "Remove" and gives the object. The rows are drawn by
templates/admin/typed_rows.html; contacts/static/contacts/typed-rows.js adds and removes rows in
the browser (without it, a few blank rows and a "Remove" box per row do the same)."""

from __future__ import annotations

import datetime
import json
import math
import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.template.loader import render_to_string

INTEGER = re.compile(r"^[+-]?\d+$")
DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TRUE_WORDS = {"true", "yes", "1"}
FALSE_WORDS = {"false", "no", "0"}
MAX_SAFE_INTEGER = 2**53  # past it, JavaScript and many JSON readers round integers


class RowType:
    AUTO = "auto"
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    JSON = "json"  # a list or object already stored: shown, kept, never typed in


def typed_value(text: str, type_: str) -> str | int | float | bool:
    """The JSON value of a typed-in value: as chosen, or guessed ("39" is a number, "true" a
    boolean, anything else text). Raises ValidationError for a value that is not of the chosen
    type. A date is kept as its ISO text (2026-03-01), which sorts and compares as dates do."""
    word = text.strip().lower()
    if type_ == RowType.TEXT:
        return text
    if type_ == RowType.DATE:
        return _date(word)
    if type_ in (RowType.AUTO, RowType.BOOLEAN) and word in ("true", "false"):
        return word == "true"
    if type_ == RowType.BOOLEAN:
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
        raise ValidationError("is not yes or no (true, false, yes, no, 1 or 0)")
    # (the length first: Python refuses to read integers of over 4,300 digits)
    if INTEGER.match(word) and (len(word) > 20 or abs(int(word)) > MAX_SAFE_INTEGER):
        if type_ == RowType.NUMBER:
            raise ValidationError("is too long for a number: choose Text to keep every digit")
        return text  # a guess: an id or a card number, whose digits must all stay
    number = _number(word)
    if number is not None:
        return number
    if type_ == RowType.NUMBER:
        raise ValidationError("is not a number (for example 42 or 19.99)")
    return text


def _number(word: str) -> int | float | None:
    """The number `word` spells, if it is one JSON readers read back the same (a finite one)."""
    if INTEGER.match(word):
        return int(word)
    if DECIMAL.match(word):
        value = float(word)
        return value if math.isfinite(value) else None
    return None


def _date(word: str) -> str:
    try:
        if ISO_DATE.match(word):
            return datetime.date.fromisoformat(word).isoformat()
    except ValueError:
        pass
    raise ValidationError("is not a date (year-month-day, for example 2026-03-01)")


class TypedRowForm(forms.Form):
    """One row. Subclasses set `type_choices`, the `noun` the page calls a row ("param"), the
    longest name and examples shown in blank rows; `typed` may read a row's value otherwise (see
    contacts/forms.py)."""

    type_choices: list[tuple[str, str]] = []
    noun = "row"
    name_max_length = 255
    name_example = ""
    value_example = ""

    name = forms.CharField(required=False, strip=True)
    type = forms.ChoiceField()
    value = forms.CharField(required=False, strip=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].validators.append(MaxLengthValidator(self.name_max_length))
        self.fields["type"].choices = self.type_choices
        self.fields["type"].initial = self.type_choices[0][0]

    def clean(self):
        data = super().clean()
        name, text = data.get("name", ""), data.get("value", "")
        if not name and text:
            self.add_error("name", f"a {self.noun} needs a name")
        elif name and "type" in data:
            try:
                data["json_value"] = self.typed(name, text, data["type"])
            except ValidationError as exc:
                self.add_error("value", exc)
        return data

    @property
    def is_read_only(self) -> bool:
        return self["type"].value() == RowType.JSON

    @property
    def editable_type_choices(self) -> list[tuple[str, str]]:
        return [choice for choice in self.type_choices if choice[0] != RowType.JSON]

    def typed(self, name: str, text: str, type_: str):
        return typed_value(text, type_)


class BaseTypedRowFormSet(forms.BaseFormSet):
    def clean(self):
        seen = set()
        for form in self.kept_forms():
            name = form.cleaned_data.get("name")
            if name and name in seen:
                form.add_error("name", f"this {self.noun} is already given above")
            seen.add(name)

    @property
    def noun(self) -> str:
        return self.form.noun

    def kept_forms(self) -> list[TypedRowForm]:
        """The rows not marked "Remove"."""
        return [form for form in self.forms if not self._should_delete_form(form)]

    def values(self) -> dict:
        """The object the rows stand for (call once the formset is valid)."""
        return {
            form.cleaned_data["name"]: form.cleaned_data["json_value"]
            for form in self.kept_forms()
            if form.cleaned_data.get("name")
        }

    def row_named(self, name: str) -> TypedRowForm | None:
        return next(
            (form for form in self.kept_forms() if form.cleaned_data.get("name") == name), None
        )


def typed_row_formset(form: type[TypedRowForm], *, extra: int = 3, max_num: int = 50):
    return forms.formset_factory(
        form, formset=BaseTypedRowFormSet, extra=extra, max_num=max_num, can_delete=True
    )


class TypedRowsWidget(forms.Widget):
    """Draws the rows of the form's formset in place of a field (the admin's fieldsets place a
    form's fields, not its formsets). The form sets `rows`; the formset reads the POST itself."""

    rows: BaseTypedRowFormSet | None = None

    def id_for_label(self, id_):
        return ""  # a label for the rows as a whole, not for one of their inputs

    def render(self, name, value, attrs=None, renderer=None):
        return render_to_string("admin/typed_rows.html", {"rows": self.rows})

    def value_from_datadict(self, data, files, name):
        """The object the rows stand for, or None while a row is in error."""
        if self.rows is None or not self.rows.is_valid():
            return None
        return self.rows.values()


class TypedRowsField(forms.Field):
    """A form field whose value is the object of the rows: `form.fields[name].widget.rows` must be
    the bound formset. Errors are drawn on the rows; the field only says where to look."""

    widget = TypedRowsWidget

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def clean(self, value):
        if value is None:
            raise ValidationError("Correct the rows marked below.")
        return value

    def has_changed(self, initial, data) -> bool:
        # As JSON: in Python 1 == True == 1.0, and a number turned into yes / no is a change.
        return data is not None and _as_json(data) != _as_json(initial or {})


def _as_json(value) -> str:
    return json.dumps(value, sort_keys=True)
