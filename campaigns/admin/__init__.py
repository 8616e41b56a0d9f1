"""The campaigns admin: the campaign editor and page (campaigns.py, with its form in forms.py and
its live preview in preview.py), the delivery log and the push policy (deliveries.py), the VAPID
key pair and its rotation (vapid.py)."""

from campaigns.admin import campaigns, deliveries, vapid  # noqa: F401  (they register their admins)
