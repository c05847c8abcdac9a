"""Intake: raw files → tidy tables (``data/processed``). Readers of grids and values (``readers``), one spec per raw
instrument (``instruments``), the Markdown reader of diaries and workshop notes (``markdown``), client numbers
(``clientid``), identifier patterns and scrubbing (``identifiers``), the build gate's severities and
acknowledgements (``gate``); ``run`` reads every instrument, counts every row (accepted, skipped, rejected),
drops identifiers and writes the tables and the manifest. Nothing downstream reads the raw files."""
