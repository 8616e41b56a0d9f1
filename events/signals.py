"""The boundary ingest offers later stages (segments, campaigns): they subscribe in their
AppConfig.ready, so events never imports them."""

from django.dispatch import Signal

# sent on commit with app=App, event_ids=list[int] (client and built-in events just stored)
events_ingested = Signal()
