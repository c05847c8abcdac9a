"""The release stage: every published statistic of all phases × pilots × strands, protected jointly.

``ledger`` (cells, modes), ``linalg`` (exact row spaces), ``protect`` (primary + complementary suppression of the
whole release), ``stage`` (collect the cells by running the notebooks' code in one process, protect, write).
"""
