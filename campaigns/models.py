"""Campaigns arrive with the campaigns issue; the app exists so the layout is stable."""
