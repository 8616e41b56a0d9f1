"""The admin framework every app's admin is built on; it imports no domain app.

Pages are scoped to the apps a user may see through a provider the app owning tenants registers
(scope.py). One concern per module; the names every admin uses are gathered here.
"""

from __future__ import annotations

from common.admin.counting import CappedCountPaginator, count_of
from common.admin.model_admin import AppFilter, BeaconModelAdmin
from common.admin.readonly import ReadOnlyAdmin, ReadOnlyInline
from common.admin.scope import AppScope, app_scope, app_scope_register
from common.admin.service_calls import adopt, error_text

__all__ = [
    "AppFilter",
    "AppScope",
    "BeaconModelAdmin",
    "CappedCountPaginator",
    "ReadOnlyAdmin",
    "ReadOnlyInline",
    "adopt",
    "app_scope",
    "app_scope_register",
    "count_of",
    "error_text",
]
