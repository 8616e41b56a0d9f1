"""django-filter FilterSets for the campaigns API."""

from __future__ import annotations

from campaigns.models import Campaign, Delivery
from common.api_fields import IdFilter, StrictBooleanFilter, StrictFilterSet


class CampaignFilter(StrictFilterSet):
    class Meta:
        model = Campaign
        fields = ["status", "kind"]


class DeliveryFilter(StrictFilterSet):
    contact_id = IdFilter(help_text="The contact's id")
    is_test = StrictBooleanFilter(help_text="A test send (POST /campaigns/{id}/test)")

    class Meta:
        model = Delivery
        fields = ["status", "contact_id", "is_test"]
