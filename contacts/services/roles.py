"""The two roles of the web UI, as Django groups: "Marketer" and "Admin".

A role grants model permissions; which app's rows a member sees is decided by `App.members`
(contacts/admin.py: visible_apps). `roles_install` runs at each deploy (`beacon_setup`) and
brings the groups to exactly these permissions, so a change here reaches existing installs.
Permissions are named by string: contacts never imports the apps to its right.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

MARKETER = "Marketer"
ADMIN = "Admin"

# Contacts, segments, campaigns and the dashboard's charts to work with; the event catalog and
# delivery log to read.
MARKETER_PERMISSIONS = [
    "contacts.view_contact",
    "contacts.change_contact",
    "contacts.view_device",
    "events.view_event",
    "events.view_eventtype",
    "events.view_eventattribute",
    "events.view_contacteventstats",
    "segments.view_segment",
    "segments.add_segment",
    "segments.change_segment",
    "segments.view_segmentmembership",
    "campaigns.view_campaign",
    "campaigns.add_campaign",
    "campaigns.change_campaign",
    "campaigns.view_delivery",
    "dashboard.view_insight",
    "dashboard.add_insight",
    "dashboard.change_insight",
]

# Also the app's set-up: apps, API keys, mapping rules, the segmentation allowlist, event types
# declared ahead and attribute types, the push policy, email settings and messaging policy, the
# VAPID keys (shared by all apps), the mobile push services' credentials; and deleting what
# marketers build.
ADMIN_PERMISSIONS = [
    *MARKETER_PERMISSIONS,
    "contacts.view_app",
    "contacts.add_app",
    "contacts.change_app",
    "contacts.view_apikey",
    "contacts.change_apikey",
    "contacts.delete_contact",
    "contacts.view_identifierrule",
    "contacts.add_identifierrule",
    "contacts.change_identifierrule",
    "contacts.delete_identifierrule",
    "events.add_eventtype",  # declaring one ahead of its first event
    "events.change_eventtype",
    "events.add_eventattribute",
    "events.change_eventattribute",
    "segments.delete_segment",
    "campaigns.delete_campaign",
    "dashboard.delete_insight",
    "campaigns.view_pushpolicy",
    "campaigns.change_pushpolicy",
    "campaigns.view_emailsettings",
    "campaigns.add_emailsettings",
    "campaigns.change_emailsettings",
    "campaigns.view_messagingpolicy",
    "campaigns.add_messagingpolicy",
    "campaigns.change_messagingpolicy",
    "transfers.view_importjob",  # importing contacts and events (transfers/admin/imports.py)
    "transfers.add_importjob",
    "campaigns.view_vapidkeypair",
    "campaigns.change_vapidkeypair",  # rotating it: the admin changes nothing else
    *(
        f"campaigns.{action}_{model}credentials"
        for model in ("fcm", "apns", "onesignal")
        for action in ("view", "add", "change", "delete")
    ),
]

ROLES: dict[str, list[str]] = {MARKETER: MARKETER_PERMISSIONS, ADMIN: ADMIN_PERMISSIONS}


@transaction.atomic
def roles_install() -> dict[str, Group]:
    """Create or update the groups so that each has exactly its role's permissions."""
    groups = {}
    for name, names in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(_permissions(names))
        groups[name] = group
    return groups


def _permissions(names: list[str]) -> list[Permission]:
    wanted = {tuple(name.split(".", 1)) for name in names}
    found = {
        (permission.content_type.app_label, permission.codename): permission
        for permission in Permission.objects.select_related("content_type").filter(
            codename__in={codename for _, codename in wanted}
        )
    }
    if missing := sorted(".".join(key) for key in wanted - set(found)):
        raise ImproperlyConfigured(f"unknown permissions (not migrated?): {', '.join(missing)}")
    return [found[key] for key in sorted(wanted)]
