"""Shared fixtures. Tests that need ../shared/samples skip with a clear reason where it is absent
(a user's clone); CI always has it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = Path(os.environ.get("HBEVAL_SAMPLES", REPO.parent / "shared" / "samples"))


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """``../shared/samples`` (raw/ + truth.json): an independent synthetic raw set the project did not write."""
    if not (SAMPLES / "truth.json").exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the shared samples at {SAMPLES}")
        pytest.skip(f"needs the independent sample data set at {SAMPLES} (present in CI, absent in a user's clone)")
    return SAMPLES


@pytest.fixture(scope="session")
def samples_truth(samples_dir) -> dict:
    return json.loads((samples_dir / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def samples_processed(samples_dir, tmp_path_factory) -> Path:
    """Intake output of ../shared/samples/raw (run once per test session)."""
    from hbeval_lib.intake.run import run_intake

    out = tmp_path_factory.mktemp("samples_processed")
    run_intake(samples_dir / "raw", out)
    return out


@pytest.fixture(scope="session")
def demo_raw(tmp_path_factory) -> tuple[Path, dict]:
    """A default demo raw set (seed 1, no faults) and its truth.json."""
    from hbeval_lib.demo.generator import generate

    out = tmp_path_factory.mktemp("demo_raw")
    truth = generate(out, seed=1, faults="none")
    return out, truth


@pytest.fixture(scope="session")
def demo_processed(demo_raw, tmp_path_factory) -> tuple[Path, dict]:
    """Intake output of the default demo raw set, with the demo truth."""
    from hbeval_lib.intake.run import run_intake

    raw, truth = demo_raw
    out = tmp_path_factory.mktemp("demo_processed")
    run_intake(raw, out)
    return out, truth


@pytest.fixture
def write_costs_results():
    """A writer of a hand-made costs results table for synthesis tests: one shown key
    (``costs.per_client_month.hb`` = 1234.5) and one suppressed key (``costs.incremental``), written to
    ``<book>/kustannukset/kaikki.results.csv``."""
    import pandas as pd

    def write(book: Path) -> Path:
        costs = pd.DataFrame([
            {"strand": "costs", "phase": "loppuraportti", "pilot": "kaikki", "key": "costs.per_client_month.hb",
             "label": "x", "estimate": 1234.5, "ci_low": 1000.0, "ci_high": 1500.0, "n": 90, "p_value": None,
             "suppressed": False},
            {"strand": "costs", "phase": "loppuraportti", "pilot": "kaikki", "key": "costs.incremental",
             "label": "x", "estimate": None, "ci_low": None, "ci_high": None, "n": None, "p_value": None,
             "suppressed": True}])
        (book / "kustannukset").mkdir(parents=True)
        path = book / "kustannukset" / "kaikki.results.csv"
        costs.to_csv(path, index=False)
        return path

    return write


def _shared_dir(tmp_path_factory) -> Path:
    """A folder every pytest-xdist worker of this session sees (the session's own folder without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def demo_book(tmp_path_factory) -> dict:
    """The whole demo book (seed 1) built as `make book` builds it — HTML, and the PDF reports when TeX Live is
    installed — once per test session: the first worker that asks builds it under a file lock, the others wait and
    reuse it (tests/test_book_e2e.py, tests/test_pdf.py). ``pdf`` holds the PDF build's report, or ``pdf_error``
    why there is none."""
    import fcntl

    from hbeval_lib.book import bench
    from hbeval_lib.book import pdf
    from hbeval_lib.book import run as pipeline
    from hbeval_lib.demo.generator import generate

    shared = _shared_dir(tmp_path_factory)
    info = shared / "demo_book.json"
    with open(shared / "demo_book.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not info.exists():
            work = shared / "demo_book"
            raw = work / "raw"
            generate(raw, seed=1, faults="none")
            book = bench.copy_book_sources(work / "book")
            processed = work / "processed"
            report = pipeline.build(raw, jobs=2, book_dir=book, processed_dir=processed, progress=False)
            pdf_report, pdf_error = None, ""
            missing = pdf.missing_tools()
            if missing:
                pdf_error = f"TeX Live missing ({', '.join(missing)}): {pdf.install_command()}"
            else:
                try:
                    pdf_report = pdf.build_pdfs(book)
                except pdf.PdfError as exc:
                    pdf_error = str(exc)
            info.write_text(json.dumps({"raw": str(raw), "book": str(book), "processed": str(processed),
                                        "executed": report.executed, "pdf": pdf_report, "pdf_error": pdf_error}),
                            encoding="utf-8")
    d = json.loads(info.read_text(encoding="utf-8"))
    return {"raw": Path(d["raw"]), "book": Path(d["book"]), "processed": Path(d["processed"]),
            "html": Path(d["book"]) / "_build" / "html", "executed": d["executed"], "pdf": d["pdf"],
            "pdf_error": d["pdf_error"]}
