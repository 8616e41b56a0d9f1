"""Cleaning a contact's profile fields, shared by identify (`contact_update`), the profile upsert
by external id and identify traits (`profiles.py`): each cleaner returns the value to store or
raises a ValidationError naming the field, so every way in refuses the same values the same way.

Column fields cleared by null or "": email and phone become null; timezone, language and
country become "" (their columns are not nullable). Custom fields merge: a null value removes
its key."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from common.api_fields import nul_path
from common.locales import country_code, known_languages, known_timezones
from contacts.models import Contact

NUL = "\x00"
MAX_EMAIL_LENGTH = Contact._meta.get_field("email").max_length
MAX_PHONE_LENGTH = Contact._meta.get_field("phone").max_length
MAX_EXTERNAL_ID_LENGTH = Contact._meta.get_field("external_id").max_length


def _error(name: str, reason: str) -> ValidationError:
    return ValidationError({name: [reason]})


def _text(name: str, value, max_length: int | None) -> str | None:
    """A stripped string (an integer is taken as its digits), None when empty."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _error(name, "must be a string")
    text = str(value).strip()
    if NUL in text:
        raise _error(name, "must not contain NUL characters (\\u0000)")
    if max_length is not None and len(text) > max_length:
        raise _error(name, f"must be at most {max_length} characters")
    return text or None


def cleaned_email(value, *, name: str = "email") -> str | None:
    email = _text(name, value, MAX_EMAIL_LENGTH)
    if email is None:
        return None
    email = email.lower()
    try:
        validate_email(email)
    except ValidationError:
        raise _error(name, "is not a valid email address") from None
    return email


def cleaned_phone(value, *, name: str = "phone") -> str | None:
    return _text(name, value, MAX_PHONE_LENGTH)


def cleaned_external_id(value, *, name: str = "external_id") -> str | None:
    return _text(name, value, MAX_EXTERNAL_ID_LENGTH)


def cleaned_timezone(value, *, name: str = "timezone") -> str:
    zone = _text(name, value, 64) or ""
    if zone and zone not in known_timezones():
        raise _error(name, f"{zone!r} is not a known IANA timezone")
    return zone


def cleaned_language(value, *, name: str = "language") -> str:
    """ISO 639-1; a locale ("en-US", "pt_BR") gives its language."""
    text = _text(name, value, 35) or ""
    language = text.replace("_", "-").split("-")[0].lower()
    if language and language not in known_languages():
        raise _error(name, f"{text!r} is not an ISO 639-1 code (or a locale starting with one)")
    return language


def cleaned_country(value, *, name: str = "country") -> str:
    """ISO 3166-1 alpha-2, any case; an alpha-3 code or the English name is taken too."""
    text = _text(name, value, 100) or ""
    if not text:
        return ""
    if (code := country_code(text)) is None:
        raise _error(name, f"{text!r} is not an ISO 3166-1 alpha-2 code")
    return code


def checked_email_status(value, *, name: str = "email_status") -> str:
    if value not in Contact.EmailStatus.values:
        raise _error(name, f"must be one of {', '.join(Contact.EmailStatus.values)}")
    return value


def checked_custom_fields(value, *, name: str = "custom_fields") -> dict:
    if not isinstance(value, dict):
        raise _error(name, "must be a JSON object")
    if (path := nul_path(value)) is not None:
        raise _error(name, f"{path}: must not contain NUL characters (\\u0000)")
    return value


def merged_custom_fields(current: dict | None, updates: dict) -> dict:
    """`updates` over `current`; a null value removes its key."""
    merged = {**(current or {}), **updates}
    return {key: value for key, value in merged.items() if value is not None}
