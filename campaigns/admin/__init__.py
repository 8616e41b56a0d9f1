"""The campaigns admin: the campaign editor and page (campaigns.py, with its form in forms.py and
its live preview in preview.py), the delivery log and the push policy (deliveries.py), the VAPID
key pair and its rotation (vapid.py), each app's FCM, APNs and OneSignal credentials
(credentials.py)."""

# They register their admins.
from campaigns.admin import campaigns, credentials, deliveries, vapid  # noqa: F401
