"""``hbeval publish PHASE``: freeze a built phase report as published (its release record in ``releases/<phase>/``).

The record and how later builds respect it are described in :mod:`hbeval_lib.release.history`; this module writes the
record from the built book (pages, entries, generated pages, the PDF of record) and marks the phase published in
``hbeval.yml``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd

from hbeval_lib.book.pdf import pdf_name
from hbeval_lib.book.run import check_stamp
from hbeval_lib.config import REPO_ROOT, Config, load_config
from hbeval_lib.core.fileio import file_hash
from hbeval_lib.release.history import (ENTRIES, ENTRY_COLUMNS, GENERATED, PAGE_SUFFIXES, RECORD, HistoryError,
                                        release_dir)
from hbeval_lib.release.settle import read_record


# -- publishing ----------------------------------------------------------------------------------------------------
def _entries_of(book_dir: Path, phase: str) -> pd.DataFrame:
    """The published entries of a built phase, from its pages' records; a hidden entry's value is dropped."""
    frames = []
    for path in sorted((Path(book_dir) / phase).glob("*/*.cells.csv")):
        rec = read_record(path)
        frames.append(rec)
    if not frames:
        return pd.DataFrame(columns=ENTRY_COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    df["value"] = df["value"].astype("Int64").where(~df["suppressed"])
    return df[ENTRY_COLUMNS]

def publish(phase: str, cfg: Config, book_dir: Path, published_on: dt.date, releases_dir: Path | None = None,
            config_path: Path | None = None) -> Path:
    """Freeze the built ``phase``: write its release record and mark it published in the configuration."""
    keys = [p.key for p in cfg.phases]
    if phase not in keys:
        raise HistoryError(f"tuntematon raportointivaihe '{phase}'; vaiheet: {', '.join(keys)}")
    ph = cfg.phase(phase)
    if ph.is_published:
        raise HistoryError(f"vaihe '{phase}' on jo julkaistu {ph.published_on}: julkaistua raporttia ei muuteta. "
                           "(already published: a published report is not changed)")
    earlier = keys[:keys.index(phase)]
    open_before = [k for k in earlier if not cfg.phase(k).is_published]
    if open_before:
        raise HistoryError(f"julkaise ensin aiemmat raportit: {', '.join(open_before)} (publish the earlier "
                           "reports first)")
    book_dir = Path(book_dir)
    src = book_dir / phase
    pages = sorted(p for p in src.glob("*/*.ipynb")) if src.exists() else []
    if not pages:
        raise HistoryError(f"vaiheen '{phase}' sivuja ei ole koottu kansioon {src}: aja ensin `hbeval build` "
                           "(the phase is not built: run `hbeval build` first)")
    stale = check_stamp(book_dir)
    if stale:
        raise HistoryError("kirja ei ole ajan tasalla, joten sitä ei voi julkaista: aja `hbeval build` ja sitten "
                           "`hbeval publish` uudelleen.\n" + "\n".join(stale[:5]))
    dest = release_dir(phase, releases_dir)
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "pages").mkdir(parents=True)
    for nb in pages:
        stem = nb.name.removesuffix(".ipynb")
        for suffix in PAGE_SUFFIXES:
            f = nb.with_name(stem + suffix)
            if f.exists():
                target = dest / "pages" / nb.parent.name / f.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, target)
    entries = _entries_of(book_dir, phase)
    entries.to_csv(dest / ENTRIES, index=False)
    # the phase's generated pages (front matter, summary, appendices) as printed; the shared data-quality page
    # that its appendix includes is inlined, so the record does not follow later data
    gen = book_dir / GENERATED
    if (gen / phase).is_dir():
        shutil.copytree(gen / phase, dest / "generated" / phase)
        if (gen / f"{phase}.md").exists():
            shutil.copyfile(gen / f"{phase}.md", dest / "generated" / f"{phase}.md")
        shared = gen / "aineisto.md"
        for f in (dest / "generated" / phase).glob("*.md"):
            t = f.read_text(encoding="utf-8")
            if "{include} ../aineisto.md" in t and shared.exists():
                body = shared.read_text(encoding="utf-8").split("\n", 1)[-1]
                head = t.split("```{include}", 1)[0]
                f.write_text(head + body, encoding="utf-8")
    pdf = book_dir / "_build" / "pdf" / pdf_name(phase)
    if pdf.exists():
        shutil.copyfile(pdf, dest / pdf.name)
    files = {p.relative_to(dest).as_posix(): file_hash(p) for p in sorted(dest.rglob("*")) if p.is_file()}
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    record = {"phase": phase, "published_on": published_on.isoformat(), "digest": digest, "files": files,
              "entries": int(len(entries)), "hidden": int(entries["suppressed"].sum())}
    (dest / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
    mark_published(config_path or cfg.path, phase, published_on)
    return dest

def mark_published(config_path: Path, phase: str, published_on: dt.date) -> None:
    """Set ``state: published`` and ``published_on`` of ``phase`` in the YAML configuration (text edit that keeps
    the file's comments and layout)."""
    text = Path(config_path).read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(rf"\s*-\s*key:\s*{re.escape(phase)}\s*$", line)), None)
    if start is None:
        raise HistoryError(f"vaihetta '{phase}' ei löydy tiedostosta {config_path} muodossa '- key: {phase}'")
    indent = len(lines[start]) - len(lines[start].lstrip()) + 2
    end = start + 1
    while end < len(lines) and lines[end].strip() and not lines[end].lstrip().startswith("- ") \
            and (len(lines[end]) - len(lines[end].lstrip())) >= indent:
        end += 1
    block = [line for line in lines[start + 1:end] if not re.match(r"\s*(state|published_on):", line)]
    block += [" " * indent + "state: published\n", " " * indent + f"published_on: {published_on.isoformat()}\n"]
    Path(config_path).write_text("".join(lines[:start + 1] + block + lines[end:]), encoding="utf-8")

# -- command line ------------------------------------------------------------------------------------------------
def add_arguments(parser) -> None:
    parser.add_argument("phase", help="the phase key, e.g. lahtotilanne")
    parser.add_argument("--date", default=None, help="publication date YYYY-MM-DD (default: today)")
    parser.add_argument("--book", default=None, help="the built book folder (default: book/)")
    parser.add_argument("--releases", default=None, help="where release records are kept (default: releases/)")

def run_cli(args) -> int:
    cfg = load_config()
    date = dt.date.fromisoformat(args.date) if args.date else dt.date.today()
    try:
        dest = publish(args.phase, cfg, Path(args.book) if args.book else REPO_ROOT / "book", date,
                       Path(args.releases) if args.releases else None)
    except HistoryError as exc:
        print(f"hbeval publish: {exc}", file=sys.stderr)
        return 2
    print(f"hbeval publish: {args.phase} julkaistu {date.isoformat()}: julkaisutiedot {dest} (lisää kansio "
          "versionhallintaan); hbeval.yml:n vaihe merkitty julkaistuksi. / Published: commit the release record.")
    return 0
