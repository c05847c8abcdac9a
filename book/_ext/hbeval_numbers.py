"""Sphinx extension: numbers in Finnish notation never break across lines.

``hbeval_lib.report.num`` writes thousands with a space ("3 450,00"); a browser may break the line at that space and
leave "450,00" alone at the start of the next line. Every space between digit groups of a number (a space followed
by exactly three digits) becomes a no-break space (U+00A0) in the page's text and in the notebooks' HTML outputs
(tables), before the page is written. In the PDF (LaTeX) the no-break space is a tie.
"""

from __future__ import annotations

import re

_GROUP = re.compile(r"(?<=\d)[ \u202f](?=\d{3}(?!\d))")


def nbsp_numbers(text: str) -> str:
    """``"3 450,00 €"`` → ``"3\\u00a0450,00 €"`` (also with a narrow no-break space); other spaces unchanged.

    >>> nbsp_numbers("3 450,00 ja 12 345 678 sekä 2017 2018")
    '3\\xa0450,00 ja 12\\xa0345\\xa0678 sekä 2017 2018'
    """
    return _GROUP.sub("\u00a0", text)


def _resolved(app, doctree, docname) -> None:
    from docutils import nodes

    for node in list(doctree.findall(nodes.Text)):
        parent = node.parent
        if parent is None or isinstance(parent, (nodes.literal_block, nodes.literal, nodes.raw)):
            continue
        new = nbsp_numbers(str(node))
        if new != str(node):
            parent.replace(node, nodes.Text(new))
    for raw in list(doctree.findall(nodes.raw)):
        if "html" not in (raw.get("format") or "").split():
            continue
        text = raw.astext()
        # only text between tags (never inside a tag's attributes or a style block)
        new = re.sub(r">([^<]+)<", lambda m: ">" + nbsp_numbers(m.group(1)) + "<", text)
        if new != text:
            raw.parent.replace(raw, nodes.raw(raw.rawsource, new, **raw.attributes))


def setup(app):
    app.connect("doctree-resolved", _resolved)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
