"""Small file helpers shared by the library: atomic writes, so no half-written file is ever left behind."""

from __future__ import annotations

import hashlib

import os
from pathlib import Path

import pandas as pd


def write_csv_atomic(df: pd.DataFrame, path: str | os.PathLike | None, **to_csv) -> Path | None:
    """Write ``df`` as CSV to ``path`` via a temporary file and a rename; a falsy path writes nothing."""
    if not path:
        return None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    df.to_csv(tmp, index=False, **to_csv)
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------------------------------------------------
# hashing helpers
# ---------------------------------------------------------------------------------------------------------------------
def sha256_hex(data: bytes) -> str:
    """SHA-256 of bytes, as hex."""
    return hashlib.sha256(data).hexdigest()


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes (``""`` when absent)."""
    path = Path(path)
    return sha256_hex(path.read_bytes()) if path.exists() else ""
