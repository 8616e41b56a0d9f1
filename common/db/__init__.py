"""Beacon's data layer for the statements the ORM can't say or can't keep up with (see
docs/architecture.md, "Raw SQL"): one executor that Django sees (`executor`), the differences
between PostgreSQL and SQLite in one object (`dialect`), and model instances built from rows
(`rows`). Raw SQL outside this package goes through it; it imports no domain app."""
