"""Which tenant apps a request may see, as the admin framework asks it: a provider the domain
app that owns tenants registers at start-up (contacts, in ContactsConfig.ready).

The framework scopes every page to the user's apps, but membership and the `App` model belong to
contacts, and common/ imports no domain app: so the dependency is inverted through this one slot,
filled explicitly once, rather than by an import or a setting naming a dotted path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet
from django.http import HttpRequest


@dataclass(frozen=True)
class AppScope:
    model: type[Model]  # the tenant model: a foreign key to it offers the scoped apps
    visible: Callable[[HttpRequest], QuerySet]  # every app the user may see
    current: Callable[[HttpRequest], Model | None]  # the one chosen in the header, if any
    scoped: Callable[[HttpRequest], QuerySet]  # what the pages show: the chosen one, else all


_provider: AppScope | None = None


def app_scope_register(scope: AppScope) -> None:
    global _provider
    _provider = scope


def app_scope() -> AppScope:
    """The registered provider. Asked per request, never at import: admin modules are imported
    (autodiscover) before the owning app's ready() has run."""
    if _provider is None:
        raise ImproperlyConfigured(
            "No app scope registered: the app owning the tenants calls app_scope_register() "
            "in its AppConfig.ready()"
        )
    return _provider
