"""Boundaries other apps subscribe to (wired in their AppConfig.ready), so contacts imports none."""

from django.dispatch import Signal

# sent with app=App after a new app is created (events seeds its catalog)
app_created = Signal()
# sent with source=Contact, target=Contact just before source (merged into target) is deleted
contacts_merged = Signal()
# sent on commit with app=App, contact_ids=list[int] after fields used by segments changed
# (profile fields through the API or the admin)
contacts_changed = Signal()
# sent with contact=Contact just before a contact is erased or merged away (still in the database)
contact_deleting = Signal()
# sent by `manage.py beacon_setup` at each deploy, after the roles are installed: what the apps to
# the right must have in the database before they run (events: every app's catalog, campaigns: the
# VAPID key pair)
setup_requested = Signal()
