"""Sphinx extension: refuse to build a stale or mixed book.

``hbeval run`` / ``hbeval build`` write ``_generated/hbeval_stamp.json`` into the book folder: a digest of every
input of the executed notebooks (notebooks, ``hbeval_lib``, configuration, requirements, the processed tables'
manifest, the raw files, extra inputs such as a release ledger) and the notebooks left out of date by a narrowed run.
When ``jupyter-book build book/`` starts, this extension compares the stamp with the current inputs
(``hbeval_lib.book.run.check_stamp``) and stops the build, in Finnish and English, telling to run ``hbeval build``
when anything changed since the last run, some notebooks are stale, or there is no stamp.
"""

from __future__ import annotations

from sphinx.errors import ExtensionError


def _check(app) -> None:
    try:
        from hbeval_lib.book.run import check_stamp
    except ImportError as exc:  # jupyter-book run outside the project's environment
        raise ExtensionError(f"hbeval: hbeval_lib ei ole käytettävissä ({exc}); rakenna kirja komennolla "
                             "`hbeval build`. / hbeval_lib is not importable: build the book with `hbeval build`.")
    problems = check_stamp(app.srcdir)
    if problems:
        raise ExtensionError("hbeval: kirjaa ei rakenneta vanhentuneista suorituksista / refusing to build a stale "
                             "book:\n- " + "\n- ".join(problems))


def setup(app):
    app.connect("builder-inited", _check)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
