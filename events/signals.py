"""The boundary ingest offers later stages (segments, campaigns): they subscribe in their
AppConfig.ready, so events never imports them."""

from django.dispatch import Signal

# sent on commit with app=App, event_ids, contact_ids (list[int]) and event_type_names (list[str])
# of the client and built-in events just stored, and trigger_marks (int): how many of them
# left a TriggerMark for the campaigns matcher
events_ingested = Signal()
