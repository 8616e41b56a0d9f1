"""Boundaries other apps subscribe to (wired in their AppConfig.ready), so contacts imports none."""

from django.dispatch import Signal

# sent with app=App after a new app is created (events seeds its catalog)
app_created = Signal()
# sent with source_id=int, target=Contact after source was merged into target and deleted
contacts_merged = Signal()
