"""Email through Django's email backends: SMTP by default, or any ESP django-anymail supports
(EMAIL_BACKEND, config/settings.py). One connection for a claim's emails, opened once and
reused (an SMTP session per email costs a TCP and TLS handshake and the login each time).

What an answer means, as for a push (campaigns/providers/base.py):
- sent: the server (or the ESP's API) accepted the message;
- gone: the recipient was refused for good (SMTP 5xx for the address, an ESP's "rejected" or
  "invalid" recipient status): the address bounced, no more emails go to it;
- retry: a temporary failure (SMTP 4xx, a dropped connection or a timeout, an ESP's 429 or 5xx):
  sent again after the usual backoff;
- failed: anything else permanent (a 5xx about the message or the sender, a refused login, an
  ESP's 4xx): recorded with the server's answer.
"""

from __future__ import annotations

import smtplib
from contextlib import suppress

from django.core.mail import EmailMessage, get_connection

from campaigns.providers.base import Outcome, SendOutcome

try:  # optional: the ESP backends (`pip install django-anymail[<esp>]`)
    from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
except ImportError:  # pragma: no cover - anymail is a dependency, but an ESP's extra may not be
    AnymailAPIError = AnymailRecipientsRefused = None

# An ESP's per-recipient statuses (anymail's `anymail_status.recipients`) that mean the address
# itself was refused (the others, "sent" and "queued", are accepted; "failed" is the message's).
REFUSED_RECIPIENT = {"rejected", "invalid"}


class EmailTransport:
    """Sends a claim's emails over one connection of the configured backend."""

    service = "email"

    def __init__(self):
        self.connection = get_connection(fail_silently=False)
        self._open = False

    def __enter__(self) -> EmailTransport:
        return self

    def __exit__(self, *exc) -> None:
        if self._open:
            with suppress(Exception):  # the messages are sent; a failing QUIT changes nothing
                self.connection.close()

    def send(self, message: EmailMessage) -> SendOutcome:
        try:
            if not self._open:
                self.connection.open()
                self._open = True
            message.connection = self.connection
            sent = self.connection.send_messages([message])
        except smtplib.SMTPRecipientsRefused as exc:
            code, answer = next(iter(exc.recipients.values()))
            return _smtp_outcome(code, answer, refused_recipient=True)
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, auth, ...
            self._reset()
            return _smtp_outcome(exc.smtp_code, exc.smtp_error)
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            self._reset()  # a dropped connection: the next message opens a new one
            return SendOutcome(Outcome.RETRY, error=f"mail server unreachable: {exc}")
        except Exception as exc:
            if AnymailAPIError is not None and isinstance(exc, AnymailRecipientsRefused):
                return SendOutcome(Outcome.GONE, error=f"recipient refused: {exc}")
            if AnymailAPIError is not None and isinstance(exc, AnymailAPIError):
                return _esp_outcome(exc)
            raise
        if not sent:
            return SendOutcome(Outcome.RETRY, error="the backend sent nothing")
        status = getattr(message, "anymail_status", None)
        if status is not None and status.status and status.status <= REFUSED_RECIPIENT:
            return SendOutcome(Outcome.GONE, error=f"recipient {', '.join(status.status)}")
        # the ESP's id of the message, which its webhooks name (anymail's test backend counts
        # from 0); nothing from SMTP
        answer = "" if status is None or status.message_id is None else str(status.message_id)
        return SendOutcome(Outcome.SENT, answer=answer)

    def _reset(self) -> None:
        """Forget a connection that may be broken; the next send opens a fresh one."""
        if self._open:
            with suppress(Exception):
                self.connection.close()
            self._open = False


def _smtp_outcome(code: int, answer, *, refused_recipient: bool = False) -> SendOutcome:
    text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
    error = f"SMTP {code} {text}".strip()
    if 400 <= code < 500:
        return SendOutcome(Outcome.RETRY, error=error, status=code)
    if refused_recipient:
        return SendOutcome(Outcome.GONE, error=error, status=code)
    return SendOutcome(Outcome.FAILED, error=error, status=code)


def _esp_outcome(exc) -> SendOutcome:
    status = getattr(exc, "status_code", None)
    error = f"ESP error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    if status is None or status == 429 or status >= 500:  # no answer, throttled, or down
        return SendOutcome(Outcome.RETRY, error=error, status=status)
    return SendOutcome(Outcome.FAILED, error=error, status=status)
