"""Admin pages put together from every app: the contact page (dashboard/contact_page.py) takes
the place of the events app's, which took the contacts app's."""

from __future__ import annotations

from django.contrib import admin

from contacts.models import Contact
from dashboard.contact_page import ContactPageAdmin

admin.site.unregister(Contact)
admin.site.register(Contact, ContactPageAdmin)
