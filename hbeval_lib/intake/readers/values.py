"""Parse single cell values the way Finnish Excel users write them (data contract §1).

Every parser returns ``None`` for an empty cell and raises :class:`ValueError` for a value it
cannot accept, so a caller can turn the error into a quarantine row.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

EXCEL_EPOCH = dt.date(1899, 12, 30)
_WS = re.compile(r"[\s\u00a0\u202f]+")
_UNIT = re.compile(r"\s*(€|eur|euroa|km|h)\s*$", re.IGNORECASE)
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
_DMY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+\d{1,2}[:.]\d{2}(?:[:.]\d{2})?)?$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
TRUE_MARKS = frozenset({"x", "1", "kyllä", "kylla", "k", "true", "tosi"})
FALSE_MARKS = frozenset({"0", "ei", "false", "epätosi", "-"})


def is_empty(value: Any) -> bool:
    """True for ``None``, NaN and whitespace-only text."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not _WS.sub("", value)


def parse_number(value: Any) -> float | None:
    """A number from a cell: decimal comma or point, optional unit suffix ``€``, ``km``, ``h``.

    Examples
    --------
    >>> parse_number("6,40 €"), parse_number("12 km"), parse_number(3), parse_number("")
    (6.4, 12.0, 3.0, None)
    """
    if is_empty(value):
        return None
    if isinstance(value, bool) or isinstance(value, (dt.date, dt.datetime, dt.time)):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, (int, float)):
        f = float(value)
        if math.isinf(f):
            raise ValueError(f"not a finite number: {value!r}")
        return f
    text = _UNIT.sub("", str(value).strip())
    text = _WS.sub("", text)
    if text.startswith("\u2212"):  # typographic minus
        text = "-" + text[1:]
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"not a number: {value!r}")
    return float(text.replace(",", "."))


def parse_int(value: Any) -> int | None:
    """An integer (``3``, ``"3"``, ``3.0``); a fractional value raises ValueError."""
    f = parse_number(value)
    if f is None:
        return None
    if not float(f).is_integer():
        raise ValueError(f"not a whole number: {value!r}")
    return int(f)


def parse_date(value: Any) -> dt.date | None:
    """A date from an Excel date cell, an Excel serial number, ``d.m.yyyy`` or ISO ``yyyy-mm-dd`` text.

    A time part (``12.9.2017 18:02``) is allowed and dropped.

    Examples
    --------
    >>> parse_date("2.1.2017"), parse_date("2017-01-02"), parse_date(42737)
    (datetime.date(2017, 1, 2), datetime.date(2017, 1, 2), datetime.date(2017, 1, 2))
    """
    if is_empty(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a date: {value!r}")
    if isinstance(value, (int, float)):
        if not float(value).is_integer() or not 1 <= value <= 2958465:
            raise ValueError(f"not a date: {value!r}")
        return EXCEL_EPOCH + dt.timedelta(days=int(value))
    text = _WS.sub(" ", str(value)).strip()
    m = _DMY.fullmatch(text)
    if m:
        d, mo, y = (int(g) for g in m.groups())
    else:
        m = _ISO.fullmatch(text)
        if not m:
            raise ValueError(f"not a date: {value!r}")
        y, mo, d = (int(g) for g in m.groups())
    try:
        return dt.date(y, mo, d)
    except ValueError as exc:
        raise ValueError(f"no such date: {value!r}") from exc


def parse_mark(value: Any) -> bool:
    """A check mark: ``x``/``X``/``1``/``kyllä`` = True; empty/``0``/``ei`` = False.

    Examples
    --------
    >>> parse_mark("X"), parse_mark(None), parse_mark("ei"), parse_mark(1)
    (True, False, False, True)
    """
    if is_empty(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if value == 1:
            return True
        if value == 0:
            return False
        raise ValueError(f"not a mark: {value!r}")
    text = _WS.sub("", str(value)).casefold()
    if text in TRUE_MARKS:
        return True
    if text in FALSE_MARKS:
        return False
    raise ValueError(f"not a mark: {value!r}")


def parse_text(value: Any) -> str | None:
    """Trimmed text with whitespace runs collapsed; numbers keep their natural form (``3`` not ``3.0``)."""
    if is_empty(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    return _WS.sub(" ", str(value)).strip()


def parse_choice(value: Any, allowed: dict[str, str]) -> str | None:
    """One of a fixed set of values, matched case-insensitively after trimming; returns the mapped key.

    ``allowed`` maps a casefolded raw value to the stored value.
    """
    text = parse_text(value)
    if text is None:
        return None
    key = text.casefold()
    if key not in allowed:
        raise ValueError(f"not one of {sorted(allowed)}: {value!r}")
    return allowed[key]


def hours_minutes(hours: Any, minutes: Any, max_hours: int | None = None) -> int | None:
    """Total minutes from an hours cell and a minutes cell (contract §1).

    An empty cell beside a filled one means 0; both empty = missing. Minutes must be 0–59 and both
    values non-negative whole numbers; ``max_hours`` bounds the hours.

    Raises
    ------
    ValueError
        With ``args[1]`` naming the failing part (``"hours"`` / ``"minutes"``) and ``args[2]`` the
        reason (``invalid_number`` / ``negative_value`` / ``out_of_range``).
    """
    try:
        h = parse_number(hours)
    except ValueError as exc:
        raise ValueError(str(exc), "hours", "invalid_number") from exc
    try:
        m = parse_number(minutes)
    except ValueError as exc:
        raise ValueError(str(exc), "minutes", "invalid_number") from exc
    if h is None and m is None:
        return None
    h = h or 0.0
    m = m or 0.0
    for part, v in (("hours", h), ("minutes", m)):
        if v < 0:
            raise ValueError(f"negative {part}: {v:g}", part, "negative_value")
    if m > 59:
        raise ValueError(f"minutes over 59: {m:g}", "minutes", "out_of_range")
    if max_hours is not None and h > max_hours:
        raise ValueError(f"hours over {max_hours}: {h:g}", "hours", "out_of_range")
    return int(round(h * 60 + m))
