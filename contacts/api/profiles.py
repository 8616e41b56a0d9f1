"""Profiles by the customer's own id: PUT /api/v1/contacts/by-external-id/{external_id} and
POST /api/v1/contacts/batch (contacts.services.profiles validates and stores)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import ValidationFailed, validated
from contacts.api.serializers import (
    ContactBatchInputSerializer,
    ContactBatchResultSerializer,
    ContactOutputSerializer,
    ContactProfileInputSerializer,
)
from contacts.services.profiles import (
    MAX_PROFILES,
    ProfileResult,
    contact_profile_upsert,
    contacts_profile_upsert_bulk,
)

EXTERNAL_ID = OpenApiParameter(
    "external_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="Your id of the contact (1 to 255 characters, URL-encoded)",
)


class ContactByExternalIdView(APIView):
    @extend_schema(
        parameters=[EXTERNAL_ID],
        request=ContactProfileInputSerializer,
        responses={200: ContactOutputSerializer, 201: ContactOutputSerializer},
        description="Create the contact with this external id, or update it: only the fields "
        "sent change. 201 when created, 200 when updated.",
    )
    def put(self, request, external_id: str):
        if not isinstance(request.data, dict):
            raise ValidationFailed({"body": ["must be a JSON object"]})
        validated(ContactProfileInputSerializer, request.data)  # JSON types and lengths
        # all of the body: the service refuses a field it doesn't know, naming it
        contact, created = contact_profile_upsert(
            app=request.user.app, external_id=external_id, data=request.data
        )
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(ContactOutputSerializer(contact).data, status=answer)


class ContactBatchView(APIView):
    max_body_bytes = 10_000_000

    @extend_schema(
        request=ContactBatchInputSerializer,
        responses={200: ContactBatchResultSerializer},
        description=f"Upsert 1 to {MAX_PROFILES} profiles by external id, each stored or "
        "refused on its own.",
    )
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        if unknown := sorted(data.keys() - {"contacts"}):
            raise ValidationFailed({str(name)[:40]: ["unknown field"] for name in unknown[:20]})
        profiles = data.get("contacts")
        if not isinstance(profiles, list) or not profiles:
            raise ValidationFailed({"contacts": ["must be a non-empty list of profiles"]})
        if len(profiles) > MAX_PROFILES:
            raise ValidationFailed({"contacts": [f"at most {MAX_PROFILES} profiles a request"]})
        results = contacts_profile_upsert_bulk(app=request.user.app, profiles=profiles)
        return Response({"results": [_result_payload(result) for result in results]})


def _result_payload(result: ProfileResult) -> dict:
    if result.errors:
        return {"index": result.index, "error": {"error": "validation", "detail": result.errors}}
    return {"index": result.index, "contact_id": result.contact_id, "created": result.created}
