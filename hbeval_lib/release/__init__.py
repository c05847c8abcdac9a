"""The release stage: every published statistic of all phases × pilots × strands, protected jointly — this is
where confidentiality is decided.

``stage`` (collect the cells by running the notebooks' code in one process, protect, write the ledger),
``protect`` (primary + complementary suppression of the whole release; ``linalg`` exact row spaces), ``settle``
(compare what the pages published with the ledger and protect again until they agree), ``history`` (published
reports are frozen records that later releases take as constants), ``intruder`` (an attacker who has every page,
phase and download) and ``privacy`` (``hbeval check-privacy``: identifiers and small cells in a built book).
"""
