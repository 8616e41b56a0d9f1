"""The admin's import pages (imports.py) and export pages (exports.py)."""

from transfers.admin import exports, imports  # noqa: F401  (registers their admins and views)
