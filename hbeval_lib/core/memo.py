"""A disk memo of heavy, pure computations shared by the release stage and the notebook executions.

The release stage runs every strand notebook's code once to collect the published cells; the notebooks then run
again to render them. The heavy statistics of a page (the cost strand's bootstrap and CEA, the wellbeing strand's
doubly robust estimates with multiple imputation) are the same both times: :func:`cached` computes them once and
stores the result under ``<processed>/_memo/``, keyed on everything the result depends on — the tidy tables'
content, the library code, the configuration and the call's own parameters. A changed input gives a new key (the
old file is removed when the new one is written). The stored results are derived from the tidy tables (they may
hold per-client rows, keyed by the pseudonymous client numbers) and have their confidentiality: they live beside
them in the processed folder, which is never published, copied into the book or committed.

Set ``HBEVAL_NO_MEMO=1`` to compute everything afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path
from typing import Any, Callable

MEMO_DIR = "_memo"
_LIB_DIR = Path(__file__).resolve().parents[1]
_file_digests: dict[tuple, str] = {}
_lib_digest: str | None = None


def _file_digest(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _file_digests:
        _file_digests[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _file_digests[key]


def library_digest() -> str:
    """Digest of the library's source (computed once per process)."""
    global _lib_digest
    if _lib_digest is None:
        h = hashlib.sha256()
        for p in sorted(_LIB_DIR.rglob("*.py")):
            h.update(str(p.relative_to(_LIB_DIR)).encode())
            h.update(p.read_bytes())
        _lib_digest = h.hexdigest()
    return _lib_digest


def inputs_digest(processed_dir: str | os.PathLike, cfg: Any = None) -> str:
    """Digest of the tidy tables (not the release stage's own files), the library code and the configuration."""
    h = hashlib.sha256(library_digest().encode())
    for p in sorted(Path(processed_dir).glob("*.parquet")):
        if p.name.startswith("release_"):
            continue
        h.update(p.name.encode())
        h.update(_file_digest(p).encode())
    if cfg is not None:
        raw = getattr(cfg, "raw", cfg)
        h.update(json.dumps(raw, sort_keys=True, default=str).encode())
    return h.hexdigest()


def cached(processed_dir: str | os.PathLike, name: str, params: dict, compute: Callable[[], Any],
           cfg: Any = None) -> Any:
    """``compute()``, or its stored result for the same inputs and ``params``.

    ``params`` must name everything besides the tidy tables, the library and the configuration that the result
    depends on (phase, pilot, options); it is serialised with ``json`` (``default=str``)."""
    if os.environ.get("HBEVAL_NO_MEMO", "").strip() in {"1", "true", "yes"}:
        return compute()
    processed_dir = Path(processed_dir)
    inputs = inputs_digest(processed_dir, cfg)[:20]
    key = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:20]
    path = processed_dir / MEMO_DIR / f"{name}-{inputs}-{key}.pkl"
    if path.exists():
        try:
            with path.open("rb") as f:
                return pickle.load(f)
        except Exception:  # a damaged or foreign file: compute again and overwrite it
            pass
    value = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        # results of earlier inputs will not be read again: keep the memo to one version of the inputs
        for old in path.parent.glob(f"{name}-*.pkl"):
            if not old.name.startswith(f"{name}-{inputs}-"):
                old.unlink(missing_ok=True)
    except OSError:   # a read-only processed folder: the result is still correct, only not stored
        pass
    return value
