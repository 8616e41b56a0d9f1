"""Event types: the listing with counts and the segmentation cap, declaring a type ahead of its
first event, enabling segmentation, and declaring attribute types."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api_fields import JsonTypesMixin, NulFreeJSONField
from config.api import Pagination, validated
from events.attributes import TYPES
from events.filters import EventTypeFilter
from events.models import EventAttribute, EventType
from events.selectors import event_type_get, event_type_list, event_type_segmentation_usage
from events.services.event_types import (
    event_attribute_declare,
    event_type_create,
    event_type_set_segmentation,
)

TYPE_CHOICE_ERROR = f"must be one of {', '.join(TYPES)}"


class EventAttributeOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = EventAttribute
        fields = ["id", "name", "type", "is_array", "declared"]
        read_only_fields = fields


class EventTypeOutputSerializer(serializers.ModelSerializer):
    event_count = serializers.IntegerField(help_text="Events ever recorded (survives retention)")
    contact_count = serializers.IntegerField(help_text="Contacts who ever did it")
    attributes = EventAttributeOutputSerializer(many=True)

    class Meta:
        model = EventType
        fields = [
            "id",
            "name",
            "category",
            "description",
            "is_system",
            "suggested_params",
            "first_seen_at",
            "last_seen_at",
            "segmentation_enabled",
            "segmentation_enabled_at",
            "event_count",
            "contact_count",
            "attributes",
        ]
        read_only_fields = fields


class EventTypeUpdateInputSerializer(JsonTypesMixin, serializers.Serializer):
    segmentation_enabled = serializers.BooleanField(help_text="Capped per app")


IS_ARRAY_HELP = "Each value is an array of the type (string, number, boolean or date)"


class EventAttributeCreateInputSerializer(JsonTypesMixin, serializers.Serializer):
    name = serializers.CharField(max_length=255)
    type = serializers.ChoiceField(
        choices=EventAttribute.Type.choices, error_messages={"invalid_choice": TYPE_CHOICE_ERROR}
    )
    is_array = serializers.BooleanField(default=False, help_text=IS_ARRAY_HELP)


class EventAttributeUpdateInputSerializer(JsonTypesMixin, serializers.Serializer):
    type = serializers.ChoiceField(
        choices=EventAttribute.Type.choices, error_messages={"invalid_choice": TYPE_CHOICE_ERROR}
    )
    is_array = serializers.BooleanField(
        required=False, help_text=f"{IS_ARRAY_HELP}; unchanged if left out"
    )


class EventAttributeDeclarationSerializer(serializers.Serializer):
    """One attribute of an event type declared ahead. Errors name the item by its index from 0:
    {"attributes.1.type": ["must be one of ..."]}."""

    name = serializers.CharField(max_length=255, help_text="The param's name, as events send it")
    type = serializers.ChoiceField(
        choices=EventAttribute.Type.choices, help_text="Values of it are coerced to this type"
    )
    is_array = serializers.BooleanField(required=False, default=False, help_text=IS_ARRAY_HELP)


@extend_schema_field(EventAttributeDeclarationSerializer(many=True))
class AttributeDeclarationsField(NulFreeJSONField):
    """Any JSON: the service checks the declarations and names each error by its item."""


class EventTypeCreateInputSerializer(JsonTypesMixin, serializers.Serializer):
    """An event type declared before its first event: the first event of that name is typed by
    the declared attributes. It is not enabled for segmentation until someone enables it."""

    name = serializers.CharField(
        max_length=255,
        trim_whitespace=False,  # the name is what clients will send, exactly
        help_text="As the tracking API takes it: no *, + or |, no leading @; not taken in the app",
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")
    attributes = AttributeDeclarationsField(
        required=False, default=list, help_text="Each param's type, before any event sends it"
    )


class EventTypePagination(Pagination):
    """Pages of event types, with the segmentation cap beside them."""

    def get_paginated_response_schema(self, schema: dict) -> dict:
        response = super().get_paginated_response_schema(schema)
        response["properties"]["segmentation_enabled_count"] = {"type": "integer"}
        response["properties"]["segmentation_limit"] = {"type": "integer"}
        return response


def event_type_or_404(request, event_type_id: int) -> EventType:
    event_type = event_type_get(app=request.user.app, event_type_id=event_type_id)
    if event_type is None:
        raise NotFound("no such event type")
    return event_type


class EventTypeListView(generics.ListAPIView):
    serializer_class = EventTypeOutputSerializer
    filterset_class = EventTypeFilter
    pagination_class = EventTypePagination
    queryset = EventType.objects.none()  # for the schema only; get_queryset scopes to the app

    def get_queryset(self):
        return event_type_list(app=self.request.user.app)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data.update(event_type_segmentation_usage(app=self.request.user.app))
        return response

    @extend_schema(
        request=EventTypeCreateInputSerializer, responses={201: EventTypeOutputSerializer}
    )
    def post(self, request):
        """Declare an event type before its first event, with its attributes' types."""
        app = request.user.app
        data = validated(EventTypeCreateInputSerializer, request.data)
        event_type = event_type_create(app=app, **data)
        created = event_type_get(app=app, event_type_id=event_type.pk)  # with its counts
        return Response(EventTypeOutputSerializer(created).data, status=status.HTTP_201_CREATED)


class EventTypeDetailView(APIView):
    @extend_schema(responses={200: EventTypeOutputSerializer})
    def get(self, request, event_type_id: int):
        event_type = event_type_or_404(request, event_type_id)
        return Response(EventTypeOutputSerializer(event_type).data)

    @extend_schema(
        request=EventTypeUpdateInputSerializer, responses={200: EventTypeOutputSerializer}
    )
    def patch(self, request, event_type_id: int):
        event_type = event_type_or_404(request, event_type_id)
        data = validated(EventTypeUpdateInputSerializer, request.data, partial=True)
        if "segmentation_enabled" in data:
            event_type_set_segmentation(event_type=event_type, enabled=data["segmentation_enabled"])
        return Response(EventTypeOutputSerializer(event_type).data)


class EventAttributeListView(APIView):
    @extend_schema(
        request=EventAttributeCreateInputSerializer,
        responses={201: EventAttributeOutputSerializer},
    )
    def post(self, request, event_type_id: int):
        event_type = event_type_or_404(request, event_type_id)
        serializer = EventAttributeCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attribute = event_attribute_declare(
            event_type=event_type,
            name=serializer.validated_data["name"],
            type_=serializer.validated_data["type"],
            is_array=serializer.validated_data["is_array"],
        )
        return Response(
            EventAttributeOutputSerializer(attribute).data, status=status.HTTP_201_CREATED
        )


class EventAttributeDetailView(APIView):
    @extend_schema(
        request=EventAttributeUpdateInputSerializer,
        responses={200: EventAttributeOutputSerializer},
    )
    def patch(self, request, event_type_id: int, attribute_id: int):
        event_type = event_type_or_404(request, event_type_id)
        attribute = event_type.attributes.filter(pk=attribute_id).first()
        if attribute is None:
            raise NotFound("no such attribute")
        serializer = EventAttributeUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        attribute = event_attribute_declare(
            event_type=event_type,
            name=attribute.name,
            type_=data["type"],
            is_array=data.get("is_array", attribute.is_array),
        )
        return Response(EventAttributeOutputSerializer(attribute).data)
