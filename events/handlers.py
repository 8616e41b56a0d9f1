"""Subscriptions to the contacts app's signals (wired in EventsConfig.ready)."""

from __future__ import annotations

from contacts.signals import app_created, contacts_merged, setup_requested
from events.services.catalog import event_catalog_install, event_catalog_sync
from events.services.merge import events_move_to_contact


def _on_app_created(sender, app, **kwargs) -> None:
    event_catalog_install(app=app)


def _on_setup_requested(sender, **kwargs) -> None:
    event_catalog_sync()


def _on_contacts_merged(sender, source, target, **kwargs) -> None:
    events_move_to_contact(source=source, target=target)


def connect() -> None:
    app_created.connect(_on_app_created, dispatch_uid="events.catalog")
    contacts_merged.connect(_on_contacts_merged, dispatch_uid="events.merge")
    setup_requested.connect(_on_setup_requested, dispatch_uid="events.catalog_sync")
