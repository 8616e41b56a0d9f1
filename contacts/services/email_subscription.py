"""A contact's email subscription: whether emails may go to its address, and since when and how.

`via` says how it changed: "link" (the unsubscribe page), "one-click" (a mailbox provider's
List-Unsubscribe-Post, RFC 8058), "api", "admin", or an ESP's report ("bounce", "complaint",
"esp": an unsubscribe through the ESP's own link or list). A bounce or a complaint is never
undone by a resubscribe link: only an API or admin change (someone fixed the address, or has the
contact's word) subscribes such an address again."""

from __future__ import annotations

from datetime import datetime

from contacts.models import Contact

EmailStatus = Contact.EmailStatus
# What a contact may set itself from an email's link (the others are the server's facts).
SELF_SERVICE_FROM = {
    EmailStatus.UNSUBSCRIBED: (EmailStatus.SUBSCRIBED,),
    EmailStatus.SUBSCRIBED: (EmailStatus.UNSUBSCRIBED,),
}


def contact_email_status_set(
    *, contact_id: int, status: str, via: str, at: datetime, self_service: bool = False
) -> bool:
    """Set the contact's email status, if it changes; True when it did. One conditional UPDATE,
    so a repeated click or a replayed report changes (and is reported) once. `self_service`: the
    contact's own link, which may only move between subscribed and unsubscribed."""
    rows = Contact.objects.filter(pk=contact_id).exclude(email_status=status)
    if self_service:
        rows = rows.filter(email_status__in=SELF_SERVICE_FROM[EmailStatus(status)])
    return rows.update(email_status=status, email_status_at=at, email_status_via=via) == 1
