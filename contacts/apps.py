from django.apps import AppConfig

from common.admin import app_scope_register


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = "Apps and contacts"

    def ready(self) -> None:
        # contacts owns the tenants (App) and who may see them: the admin framework below the
        # domain apps asks it through this registration, never by import.
        from contacts.access import APP_SCOPE  # models are loaded only now

        app_scope_register(APP_SCOPE)
