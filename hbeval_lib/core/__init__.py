"""Shared foundation of every stage: the tidy tables' schema (``schema``) and loader (``tables``), atomic file
writes and hashes (``fileio``), memoisation (``memo``), the figure style and Finnish number formats of plots
(``plots``, ``likert``). Imports nothing of hbeval_lib but ``config``."""
