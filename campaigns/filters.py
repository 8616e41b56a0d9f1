"""django-filter FilterSets for the campaigns API."""

from __future__ import annotations

import django_filters

from campaigns.models import Campaign, Delivery


class CampaignFilter(django_filters.FilterSet):
    class Meta:
        model = Campaign
        fields = ["status", "kind"]


class DeliveryFilter(django_filters.FilterSet):
    class Meta:
        model = Delivery
        fields = ["status", "contact_id", "is_test"]
