"""Sphinx extension: banners on every page and the build gate's status on the front page.

``hbeval run`` / ``hbeval build`` write ``_generated/build.json`` into the book folder (``hbeval_lib.bookpages``):

* ``demo`` / ``banner`` — the data are synthetic: the demo banner;
* ``draft`` / ``draft_banner`` — the data have unacknowledged errors (``hbeval build --draft``, or ``hbeval run``
  on data that did not pass the gate): the draft banner ("LUONNOS – …");
* ``front`` — MyST text put on the front page under its title (a draft warning, the acknowledged findings).

The banners are joined into the theme's announcement bar, which is on every page. The front page is re-read on
every build so its status text is never stale.
"""

from __future__ import annotations

import json
from pathlib import Path


def _read(app) -> dict:
    info = Path(app.srcdir) / "_generated" / "build.json"
    if not info.exists():
        return {}
    return json.loads(info.read_text(encoding="utf-8"))


def _set_banner(app, config) -> None:
    data = _read(app)
    app.hbeval_build = data
    banners = []
    if data.get("draft") and data.get("draft_banner"):
        banners.append(f"⚠ {data['draft_banner']}")
    if data.get("demo") and data.get("banner"):
        banners.append(f"⚠ {data['banner']}")
    if banners:
        options = dict(config.html_theme_options or {})
        options["announcement"] = " — ".join(banners)
        config.html_theme_options = options


def _front_page(app, docname, source) -> None:
    front = (getattr(app, "hbeval_build", None) or {}).get("front")
    if not front or docname != app.config.root_doc:
        return
    lines = source[0].split("\n")
    at = next((i + 1 for i, ln in enumerate(lines) if ln.startswith("# ")), 0)
    source[0] = "\n".join(lines[:at] + ["", front, ""] + lines[at:])


def _root_always_outdated(app, env, added, changed, removed):
    return [app.config.root_doc] if app.config.root_doc in env.found_docs else []


def setup(app):
    app.connect("config-inited", _set_banner)
    app.connect("source-read", _front_page)
    app.connect("env-get-outdated", _root_always_outdated)
    return {"version": "1.1", "parallel_read_safe": True, "parallel_write_safe": True}
