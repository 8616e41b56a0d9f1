"""The admin's side of calling a service: a refusal shown as a message, a result as the row."""

from __future__ import annotations

from django.core.exceptions import ValidationError


def error_text(exc: ValidationError) -> str:
    return "; ".join(exc.messages)


def adopt(obj, saved) -> None:
    """Make the admin's unsaved instance stand for the row a service created (for the log and
    the redirect that follow save_model)."""
    obj.__dict__.update(saved.__dict__)
