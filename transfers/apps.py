from django.apps import AppConfig


class TransfersConfig(AppConfig):
    """Import and export: contacts and historical events in from CSV or JSON Lines (through the
    ingest pipeline and the contacts' profile services), and segment members, contacts and events
    out as streams."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "transfers"

    def ready(self) -> None:
        from transfers import handlers  # tasks import services, which import models

        handlers.connect()
