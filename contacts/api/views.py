"""The contacts API: list and filter, read, identify (PATCH) and erase (DELETE)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from contacts.api.serializers import ContactOutputSerializer, ContactUpdateInputSerializer
from contacts.filters import ContactFilter
from contacts.models import Contact
from contacts.selectors import contact_get, contact_list
from contacts.services.contacts import contact_delete, contact_update


def contact_or_404(request, contact_id: int) -> Contact:
    """The caller's app's contact; another app's contact is as unknown as a missing one."""
    contact = contact_get(app=request.user.app, contact_id=contact_id)
    if contact is None:
        raise NotFound("no such contact")
    return contact


def contact_or_400(request, contact_id: int, *, field: str) -> Contact:
    """The caller's app's contact that the input's `field` names; an unknown one is a 400 naming
    the field (a 404 would say that the address itself is unknown)."""
    contact = contact_get(app=request.user.app, contact_id=contact_id)
    if contact is None:
        raise ValidationError({field: ["no such contact in this app"]})
    return contact


class ContactListView(generics.ListAPIView):
    serializer_class = ContactOutputSerializer
    filterset_class = ContactFilter
    queryset = Contact.objects.none()  # for the schema only; get_queryset scopes to the app

    def get_queryset(self):
        return contact_list(app=self.request.user.app)


class ContactDetailView(APIView):
    @extend_schema(responses={200: ContactOutputSerializer})
    def get(self, request, contact_id: int):
        contact = contact_or_404(request, contact_id)
        return Response(ContactOutputSerializer(contact).data)

    @extend_schema(request=ContactUpdateInputSerializer, responses={200: ContactOutputSerializer})
    def patch(self, request, contact_id: int):
        contact = contact_or_404(request, contact_id)
        serializer = ContactUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = contact_update(contact=contact, data=serializer.validated_data)
        return Response(ContactOutputSerializer(contact).data)

    @extend_schema(responses={204: None})
    def delete(self, request, contact_id: int):
        contact_delete(contact=contact_or_404(request, contact_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
