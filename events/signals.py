"""The boundary ingest offers later stages (segments, campaigns): they subscribe in their
AppConfig.ready, so events never imports them. A stage that must write in the events'
transaction itself subscribes to events/hooks.py instead."""

from django.dispatch import Signal

# sent on commit with app=App, event_ids, contact_ids (list[int]) and event_type_names (list[str])
# of the client and built-in events just stored
events_ingested = Signal()
