"""The publication data of a phase report (series, ISBN, dates) and the demo banner: shared by the generated
pages and the PDF."""

from __future__ import annotations

import datetime as dt

from hbeval_lib.book.errors import RunError
from hbeval_lib.config import Config

DEMO_BANNER = ("Tämä raportti on tehty synteettisellä demoaineistolla: luvut eivät kuvaa todellisia asiakkaita "
               "eivätkä hankkeen tuloksia.")


class PublicationError(RunError):
    """The publication data cannot be published (example values in a report made from real data)."""


def publication(cfg: Config, phase_key: str) -> dict:
    """The ``publication`` section merged with its ``phases.<phase>`` entry."""
    pub = dict(cfg.section("publication", {}) or {})
    per_phase = (pub.pop("phases", None) or {}).get(phase_key, {}) or {}
    return {**pub, **per_phase}


def fi_date(d) -> str:
    """A date in Finnish notation (6.12.2018); anything else as text."""
    if isinstance(d, (dt.date, dt.datetime)):
        return f"{d.day}.{d.month}.{d.year}"
    return str(d or "")
