"""The codes Beacon takes for a contact's or an event's timezone, language and country: IANA
timezone names, ISO 639-1 languages, ISO 3166-1 alpha-2 countries. Read once per process."""

from __future__ import annotations

import zoneinfo
from functools import cache

import pycountry


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@cache
def known_languages() -> frozenset[str]:
    return frozenset(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))


@cache
def known_countries() -> frozenset[str]:
    return frozenset(country.alpha_2 for country in pycountry.countries)


def country_code(text: str) -> str | None:
    """An ISO 3166-1 alpha-2 code for an alpha-2 or alpha-3 code or an English name ("United
    States", as Segment's libraries send it), any case; None for anything else."""
    if text.upper() in known_countries():
        return text.upper()
    try:
        return pycountry.countries.lookup(text.strip()).alpha_2
    except LookupError:
        return None
