"""Sphinx extension: Finnish author–year citations for sphinxcontrib-bibtex (``bibtex_reference_style: author_year_fi``).

In the text: ``(Patton 1997)``, ``(Tuomi ja Sarajärvi 2018)``, ``(Glendinning ym. 2008)`` – Finnish conjunction and
abbreviation instead of the default English "and" / "et al.". The reference list keeps pybtex's ``plain`` style.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sphinxcontrib.bibtex.plugin
from pybtex.richtext import Text
from sphinxcontrib.bibtex.style.referencing import BracketStyle, PersonStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle


def _brackets() -> BracketStyle:
    return BracketStyle(left="(", right=")", sep="; ", sep2="; ", last_sep="; ")


def _persons() -> PersonStyle:
    return PersonStyle(sep=", ", sep2=" ja ", last_sep=" ja ", other=Text(" ym."))


@dataclass
class FinnishAuthorYearReferenceStyle(AuthorYearReferenceStyle):
    bracket_textual: BracketStyle = field(default_factory=_brackets)
    bracket_parenthetical: BracketStyle = field(default_factory=_brackets)
    bracket_author: BracketStyle = field(default_factory=_brackets)
    bracket_label: BracketStyle = field(default_factory=_brackets)
    bracket_year: BracketStyle = field(default_factory=_brackets)
    person: PersonStyle = field(default_factory=_persons)
    author_year_sep: str = " "


sphinxcontrib.bibtex.plugin.register_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_fi",
                              FinnishAuthorYearReferenceStyle)


def setup(app):
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
