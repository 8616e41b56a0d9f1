"""Importing contacts and historical events from CSV or JSON Lines (docs/import-export.md):
fields.py (the column mapping), reading.py (files as rows), store.py (rows through the owning
services), jobs.py (the admin's jobs: upload, mapping, a resumable run)."""
