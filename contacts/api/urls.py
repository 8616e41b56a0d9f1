from django.urls import path

from contacts.api import views

urlpatterns = [
    path("contacts", views.ContactListView.as_view(), name="contact-list"),
    path("contacts/<int:contact_id>", views.ContactDetailView.as_view(), name="contact-detail"),
]
