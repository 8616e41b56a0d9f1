"""The admin's pages, and the same kinds of rows in two apps, to check that no page shows one
app's rows to a user of the other."""

from __future__ import annotations

from campaigns.models import Delivery
from campaigns.services.policy import (
    email_settings_update,
    messaging_policy_update,
    push_policy_update,
)
from campaigns.services.triggers import trigger_marks_process
from contacts.models import ApiKey, IdentifierRule
from contacts.services.apps import api_key_create, identifier_rule_create
from segments.services import segment_create, segment_refresh
from tests.campaigns.factories import active_campaign, subscribe, track

SETUP_PAGES = [
    "/admin/contacts/apikey/",
    "/admin/contacts/identifierrule/",
    "/admin/contacts/app/",
    "/admin/campaigns/pushpolicy/",
    "/admin/campaigns/emailsettings/",
    "/admin/campaigns/messagingpolicy/",
]
WORK_PAGES = [
    "/admin/contacts/contact/",
    "/admin/contacts/device/",
    "/admin/events/event/",
    "/admin/events/eventtype/",
    "/admin/segments/segment/",
    "/admin/campaigns/campaign/",
    "/admin/campaigns/delivery/",
]


def fill_two_apps(app, other_app):
    """The same kinds of rows in both apps, named after their app."""
    for each, marker in [(app, "mine"), (other_app, "theirs")]:
        campaign = active_campaign(each, name=f"{marker}-campaign", trigger_event=f"{marker}_ev")
        subscribe(each, f"{marker}-user")
        track(each, f"{marker}-user", f"{marker}_ev", amount=1)
        trigger_marks_process()
        api_key_create(app=each, name=f"{marker}-key", scope=ApiKey.Scope.INGEST)
        identifier_rule_create(
            app=each, param=f"{marker}_param", field=IdentifierRule.Field.EMAIL, custom_field=""
        )
        segment = segment_create(app=each, name=f"{marker}-segment", conditions={"type": "device"})
        segment_refresh(segment=segment)
        push_policy_update(app=each, daily_cap=3)
        email_settings_update(app=each, from_email=f"{marker}@example.com", from_name=marker)
        messaging_policy_update(app=each, daily_cap=5)
        Delivery.objects.filter(campaign=campaign).update(reason=f"{marker}-delivery")
    return app, other_app
