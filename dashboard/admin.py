"""Admin pages put together from every app: the contact page (dashboard/contact_page.py) takes
the place of the events app's, which took the contacts app's; the insights (the dashboard's saved
charts, dashboard/insight_admin.py)."""

from __future__ import annotations

from django.contrib import admin

from contacts.models import Contact
from dashboard.contact_page import ContactPageAdmin
from dashboard.insight_admin import InsightAdmin
from dashboard.models import Insight

admin.site.unregister(Contact)
admin.site.register(Contact, ContactPageAdmin)
admin.site.register(Insight, InsightAdmin)
