"""The client number ``PGWWNN`` (data contract §2).

P = pilot code, G = client-group code (both from the configuration), WW = the client's own worker
(01–99), NN = the worker's n:th evaluation client (01–99). A number may be written with spaces or
as an Excel number (``201 003``, ``201003.0``). The form's example numbers (``xxxxx1``) are not data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hbeval_lib.config import Config

_EXAMPLE = re.compile(r"^[xX]+\d*$")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")


class InvalidClientNumber(ValueError):
    """The value is not a well-formed client number."""


@dataclass(frozen=True)
class ClientId:
    """A parsed client number."""

    client_id: str
    pilot_code: int
    group_code: int
    worker: int
    seq: int
    pilot: str
    client_group: str


def normalize(value: Any) -> str | None:
    """The six-character text of a client-number cell, or ``None`` for an empty cell.

    Integers and integral floats (Excel numbers) become their decimal digits; spaces are removed.
    No validity check is made here.

    Examples
    --------
    >>> normalize(201003.0), normalize(" 201 003 "), normalize(None)
    ('201003', '201003', None)
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    text = _SPACES.sub("", str(value))
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    return text or None


def is_example(value: Any) -> bool:
    """True for the form's example client numbers (``xxxxx1``, ``XXXXXX``)."""
    text = normalize(value)
    return bool(text) and bool(_EXAMPLE.fullmatch(text))


def parse(value: Any, cfg: Config) -> ClientId:
    """Parse a client number; raise :class:`InvalidClientNumber` when it is not well-formed.

    Parameters
    ----------
    value : Any
        A cell value (str, int, float).
    cfg : Config
        Supplies the pilot and client-group codes.

    Returns
    -------
    ClientId

    Examples
    --------
    >>> from hbeval_lib.config import load_config
    >>> parse("210 103", load_config()).pilot
    'hameenlinna'
    """
    text = normalize(value)
    if text is None or not re.fullmatch(r"\d{6}", text):
        raise InvalidClientNumber(f"not six digits: {value!r}")
    p, g, ww, nn = int(text[0]), int(text[1]), int(text[2:4]), int(text[4:6])
    pilot = cfg.pilot_by_code(p)
    group = cfg.group_by_code(g)
    if pilot is None:
        raise InvalidClientNumber(f"unknown pilot code {p} in {text}")
    if group is None:
        raise InvalidClientNumber(f"unknown client-group code {g} in {text}")
    if ww == 0 or nn == 0:
        raise InvalidClientNumber(f"worker and sequence must be 01–99 in {text}")
    return ClientId(text, p, g, ww, nn, pilot.key, group.key)


def try_parse(value: Any, cfg: Config) -> ClientId | None:
    """Like :func:`parse` but ``None`` when the number is not well-formed."""
    try:
        return parse(value, cfg)
    except InvalidClientNumber:
        return None
