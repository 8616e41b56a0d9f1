"""Boundaries other apps subscribe to (wired in their AppConfig.ready), so contacts imports none."""

from django.dispatch import Signal

# sent with app=App after a new app is created (events seeds its catalog)
app_created = Signal()
# sent with source=Contact, target=Contact just before source (merged into target) is deleted
contacts_merged = Signal()
