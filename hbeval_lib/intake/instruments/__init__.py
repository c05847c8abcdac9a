"""One spec per raw instrument (data contract §3) and the shared validation machinery.

:data:`INSTRUMENTS` maps a raw folder name to its :class:`~.base.Instrument`; :func:`~.base.process_sheet`
validates one sheet. ``hbeval_lib.intake.run`` runs them all.
"""

from hbeval_lib.intake.instruments.base import (ACCOUNT_COLUMNS, FLAG_REASONS, REASONS, RECON_COLUMNS, Context, Field, Instrument, Roster,
                   SheetResult, SheetSpec, process_sheet)
from hbeval_lib.intake.instruments.specs import FOLDER_TABLES, INSTRUMENTS, MARKDOWN_INSTRUMENTS

__all__ = ["ACCOUNT_COLUMNS", "FLAG_REASONS", "REASONS", "RECON_COLUMNS", "Context", "Field", "Instrument", "Roster",
           "SheetResult", "SheetSpec", "process_sheet", "FOLDER_TABLES", "INSTRUMENTS", "MARKDOWN_INSTRUMENTS"]
