"""Segments arrive with the segments issue; the app exists so the layout is stable."""
