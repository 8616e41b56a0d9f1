"""A contact's timeline (GET /api/v1/contacts/{id}/events) and the marketers' "send a test event
to this contact" tool (POST to the same address)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response

from config.api import validation_error_response
from contacts.api.views import contact_or_404
from events.api.serializers import (
    EventAcceptedSerializer,
    EventInputSerializer,
    accepted_payload,
)
from events.filters import ContactEventFilter
from events.models import Event
from events.selectors import contact_event_list
from events.services.test_events import TEST_EVENT_FIELDS, contact_event_send


class ContactEventOutputSerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="event_type.name")

    class Meta:
        model = Event
        fields = [
            "id",
            "event",
            "occurred_at",
            "received_at",
            "params",
            "context",
            "session_id",
            "fingerprint",
        ]
        read_only_fields = fields


class ContactEventInputSerializer(EventInputSerializer):
    """Documents the body; events_ingest validates it, with the errors of POST /api/v1/events:
    the fields of a tracked event that a test event takes, published as tracking publishes them
    (so the two can't drift)."""

    def get_fields(self) -> dict:
        fields = super().get_fields()
        return {name: fields[name] for name in TEST_EVENT_FIELDS}


class ContactEventsView(generics.ListAPIView):
    serializer_class = ContactEventOutputSerializer
    filterset_class = ContactEventFilter
    queryset = Event.objects.none()  # for the schema only; get_queryset scopes to the contact

    def get_queryset(self):
        contact = contact_or_404(self.request, self.kwargs["contact_id"])
        return contact_event_list(contact=contact)

    @extend_schema(request=ContactEventInputSerializer, responses={200: EventAcceptedSerializer})
    def post(self, request, contact_id: int):
        contact = contact_or_404(request, contact_id)
        if not isinstance(request.data, dict):
            return validation_error_response({"body": ["must be a JSON object"]})
        result = contact_event_send(contact=contact, payload=request.data, source="api")
        if result.errors:
            return validation_error_response(result.errors)
        return Response(accepted_payload(result))
