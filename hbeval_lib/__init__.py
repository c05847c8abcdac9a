"""hbeval — the shared library of the HB evaluation report (Avain kansalaisuuteen, 2016–2019)."""

__version__ = "0.1.0"
