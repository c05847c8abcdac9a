"""Low-level readers for the raw files (data contract §1).

- :mod:`.values` parses single cells: Finnish numbers, dates, marks, hours + minutes.
- :mod:`.grid` reads ``.xlsx`` (any writer) and Finnish-locale ``.csv`` files into row grids, finds
  the header row under a header block and reads the header block's ``Label: value`` pairs.
"""

from hbeval_lib.intake.readers.grid import (CSV_SHEET, UnreadableFile, Workbook, find_header_row, match_headers, norm_header,
                   read_csv, read_file, read_header_block, read_xlsx, strip_header)
from hbeval_lib.intake.readers.values import (hours_minutes, is_empty, parse_choice, parse_date, parse_int, parse_mark, parse_number,
                     parse_text)

__all__ = ["CSV_SHEET", "UnreadableFile", "Workbook", "find_header_row", "match_headers", "norm_header",
           "read_csv", "read_file", "read_header_block", "read_xlsx", "strip_header", "hours_minutes",
           "is_empty", "parse_choice", "parse_date", "parse_int", "parse_mark", "parse_number", "parse_text"]
