"""Sphinx extension: Finnish author–year citations for sphinxcontrib-bibtex (``bibtex_reference_style: author_year_fi``).

In the text: ``(Patton 1997)``, ``(Tuomi ja Sarajärvi 2018)``, ``(Glendinning ym. 2008)`` – Finnish conjunction and
abbreviation instead of the default English "and" / "et al.".

The reference list (``bibtex_default_style: fi``): Finnish author–year conventions, sorted by author and year —
``Tuomi, J. & Sarajärvi, A. 2018. Laadullinen tutkimus ja sisällönanalyysi. Uudistettu laitos. Helsinki: Tammi.``
— titles keep their case, an edition is ``4. painos`` (never "4 edition"), a report's series and number follow its
title, and the labels are author–year (``Tuomi & Sarajärvi 2018``), never BibTeX keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import re

import sphinxcontrib.bibtex.plugin
from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting import toplevel
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.template import field as bib_field
from pybtex.style.template import join, names, optional, sentence, tag
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


def _edition(text):
    plain = str(text)
    return Text(f"{plain}. painos") if re.fullmatch(r"\d+", plain.strip()) else text


def _pages(text):
    return Text(str(text).replace("--", "–"))


class FinnishStyle(UnsrtStyle):
    """Finnish author–year reference list (see the module docstring)."""

    default_name_style = "lastfirst"
    default_label_style = "hbeval_author_year"
    default_sorting_style = "author_year_title"

    def __init__(self, **kwargs):
        kwargs.setdefault("abbreviate_names", True)
        super().__init__(**kwargs)

    def format_names(self, role, as_sentence=True):
        formatted = names(role, sep=", ", sep2=" & ", last_sep=" & ")
        return sentence[formatted] if as_sentence else formatted

    def _head(self):
        return [self.format_names("author"), sentence[bib_field("year")]]

    def _imprint(self):
        return optional[sentence[join(sep=": ")[optional[bib_field("address")], bib_field("publisher")]]]

    def get_book_template(self, e):
        return toplevel[(*self._head(), sentence[tag("em")[bib_field("title")]],
                         optional[sentence[bib_field("edition", apply_func=_edition)]], self._imprint(),
                         optional[sentence[bib_field("note")]])]

    def get_article_template(self, e):
        journal = join(sep=" ")[tag("em")[bib_field("journal")], optional[bib_field("volume")],
                                optional[join["(", bib_field("number"), ")"]]]
        return toplevel[(*self._head(), sentence[bib_field("title")],
                         sentence[join(sep=", ")[journal, optional[bib_field("pages", apply_func=_pages)]]])]

    def get_techreport_template(self, e):
        return toplevel[(*self._head(), sentence[tag("em")[bib_field("title")]],
                         optional[sentence[join(sep=" ")[optional[bib_field("type")], optional[bib_field("number")]]]],
                         sentence[join(sep=". ")[bib_field("institution"), optional[bib_field("address")]]],
                         optional[sentence[bib_field("note")]])]

    def get_incollection_template(self, e):
        editors = optional[join(sep=" ")["Teoksessa", names("editor", sep=", ", sep2=" & ", last_sep=" & "),
                                         "(toim.)"]]
        return toplevel[(*self._head(), sentence[bib_field("title")],
                         sentence[join(sep=" ")[editors, tag("em")[bib_field("booktitle")]]],
                         self._imprint(), optional[sentence[join(sep=" ")["s.", bib_field("pages", apply_func=_pages)]]])]

    def get_misc_template(self, e):
        return toplevel[(*self._head(), sentence[bib_field("title")], optional[sentence[bib_field("howpublished")]],
                         optional[sentence[bib_field("address")]], optional[sentence[bib_field("note")]],
                         optional[sentence[join(sep=" ")["Saatavilla:", bib_field("url")]]])]


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels ``Surname Year``, ``Surname & Surname Year``, ``Surname ym. Year`` (never the BibTeX key)."""

    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            persons = entry.persons.get("author") or entry.persons.get("editor") or []
            last = [" ".join(p.last_names).replace("{", "").replace("}", "") for p in persons]
            who = (last[0] if len(last) == 1 else f"{last[0]} & {last[1]}" if len(last) == 2
                   else f"{last[0]} ym." if last else entry.key)
            yield f"{who} {entry.fields.get('year', '')}".strip()


register_plugin("pybtex.style.formatting", "fi", FinnishStyle)
register_plugin("pybtex.style.labels", "hbeval_author_year", AuthorYearLabelStyle)


def setup(app):
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
