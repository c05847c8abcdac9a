"""Sphinx extension: a visible banner on every page when the book was built from synthetic (demo) data.

``hbeval run`` writes ``_generated/build.json`` (``{"demo": bool, "banner": str}``) into the book folder; this
extension reads it when the configuration is initialised and sets the theme's announcement bar.
"""

from __future__ import annotations

import json
from pathlib import Path


def _set_banner(app, config) -> None:
    info = Path(app.srcdir) / "_generated" / "build.json"
    if not info.exists():
        return
    data = json.loads(info.read_text(encoding="utf-8"))
    if data.get("demo") and data.get("banner"):
        options = dict(config.html_theme_options or {})
        options["announcement"] = f"⚠ {data['banner']}"
        config.html_theme_options = options


def setup(app):
    app.connect("config-inited", _set_banner)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
