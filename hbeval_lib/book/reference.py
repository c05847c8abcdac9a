"""The nbval reference executions (``tests/reference/*.ipynb``): every phase of the all-pilots pages and the final
phase of one pilot, demo data seed 1 (``hbeval run --update-reference``).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from hbeval_lib.book.cache import STRANDS, SYNTHESIS, stabilise_outputs, to_ipynb
from hbeval_lib.book.kernels import KernelSlot
from hbeval_lib.config import ALL_PILOTS, REPO_ROOT, Config, load_config, strand_folder

# ---------------------------------------------------------------------------------------------------------------------
# nbval reference executions
# ---------------------------------------------------------------------------------------------------------------------
REFERENCE_DIR = REPO_ROOT / "tests" / "reference"
REFERENCE_ENV = "HBEVAL_REFERENCE_PROCESSED"
REFERENCE_PHASE = "loppuraportti"  # the synthesis reference reads the strands' results of this phase
REFERENCE_PILOT = "kainuu"  # the small pilot (14 clients in the demo set): suppression and small-n paths


def reference_set(cfg: Config | None = None) -> list[tuple[str, str, str]]:
    """(strand, phase, pilot) of every reference execution: each strand for every phase, all pilots; the synthesis
    (final phase, all pilots); each strand for the final phase of :data:`REFERENCE_PILOT`."""
    cfg = cfg or load_config()
    phases = [p.key for p in cfg.phases]
    out = [(s, ph, ALL_PILOTS) for s in STRANDS for ph in phases]
    out.append((SYNTHESIS, REFERENCE_PHASE, ALL_PILOTS))
    out += [(s, REFERENCE_PHASE, REFERENCE_PILOT) for s in STRANDS]
    return out


def reference_name(strand: str, phase: str, pilot: str) -> str:
    return f"{strand}.{phase}.{pilot}.ipynb"


def reference_processed(work_dir: str | os.PathLike) -> Path:
    """The reference data: the demo set (seed 1, no faults) and its intake, under ``work_dir`` (raw/, processed/)."""
    from hbeval_lib.demo.generator import generate
    from hbeval_lib.intake.run import run_intake

    work_dir = Path(work_dir)
    shutil.rmtree(work_dir / "raw", ignore_errors=True)
    shutil.rmtree(work_dir / "processed", ignore_errors=True)
    generate(work_dir / "raw", seed=1, faults="none")
    run_intake(work_dir / "raw", work_dir / "processed")
    return work_dir / "processed"


def _reference_parameters_cell(strand: str, phase: str = REFERENCE_PHASE, pilot: str = ALL_PILOTS) -> str:
    lines = ["# Parametrit: nbval-regressiotesti (tests/reference); aineisto = demoaineisto (siemen 1)",
             "import os", f"pilot = {pilot!r}", f"phase = {phase!r}",
             f"processed_dir = os.environ[{REFERENCE_ENV!r}]", 'results_path = ""', 'suppressions_path = ""']
    if strand == SYNTHESIS:
        lines += ["from hbeval_lib.config import REPO_ROOT",
                  f'results_dir = str(REPO_ROOT / "tests" / "reference" / "results" / {phase!r})']
    return "\n".join(lines)


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def update_reference(reference_dir: str | os.PathLike | None = None, notebooks_dir: str | os.PathLike | None = None,
                     work_dir: str | os.PathLike | None = None) -> list[Path]:
    """Regenerate the nbval reference executions ``tests/reference/<strand>.<phase>.<pilot>.ipynb``
    (:func:`reference_set`, demo data seed 1) and return the files whose content changed (a file is rewritten only
    then; outputs are made run-independent by :func:`stabilise_outputs`, so an unchanged result gives an unchanged
    file). The strands' final-phase all-pilots results tables are kept in ``tests/reference/results/`` as the
    synthesis notebook's fixed input. The parameters cell of each reference reads the data folder from
    ``$HBEVAL_REFERENCE_PROCESSED`` (set by ``tests/reference/conftest.py``). References no longer in the set are
    removed."""
    import tempfile

    import nbformat

    reference_dir = Path(reference_dir) if reference_dir else REFERENCE_DIR
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else REPO_ROOT / "notebooks"
    changed = []
    wanted = set()
    slot = KernelSlot(warm=True)
    with tempfile.TemporaryDirectory(prefix="hbeval-reference-") as tmp:
        work = Path(work_dir) if work_dir else Path(tmp)
        processed = reference_processed(work)
        try:
            for strand, phase, pilot in reference_set():
                src = notebooks_dir / f"{strand}.md"
                if not src.exists():
                    print(f"hbeval: {src} missing: no reference for {strand}", file=sys.stderr)
                    continue
                name = reference_name(strand, phase, pilot)
                wanted.add(name)
                results_dir = reference_dir / "results" / phase
                nb_in = to_ipynb(src, Path(tmp) / f"{strand}.input.ipynb")
                scratch = Path(tmp) / "scratch"
                scratch.mkdir(exist_ok=True)
                params = {"pilot": pilot, "phase": phase, "processed_dir": str(processed),
                          "results_path": str(scratch / f"{strand}.results.csv"),
                          "suppressions_path": str(scratch / f"{strand}.suppressions.csv")}
                if strand == SYNTHESIS:
                    params["results_dir"] = str(results_dir)
                out = Path(tmp) / name
                slot.execute(nb_in, out, params)
                if strand != SYNTHESIS and phase == REFERENCE_PHASE and pilot == ALL_PILOTS:
                    res = results_dir / strand_folder(strand) / f"{ALL_PILOTS}.results.csv"
                    if _write_if_changed(res, (scratch / f"{strand}.results.csv").read_text(encoding="utf-8")):
                        changed.append(res)
                nb = nbformat.read(out, as_version=4)
                for i, cell in enumerate(nb.cells):
                    if "injected-parameters" in cell.metadata.get("tags", []):
                        cell.source = _reference_parameters_cell(strand, phase, pilot)
                    cell.metadata.pop("papermill", None)
                    cell.metadata.pop("execution", None)
                    cell["id"] = f"cell-{i:03d}"  # stable ids: a regenerated reference differs only where outputs do
                nb.metadata.pop("papermill", None)
                stabilise_outputs(nb)
                dest = reference_dir / name
                if _write_if_changed(dest, nbformat.writes(nb) + "\n"):
                    changed.append(dest)
        finally:
            slot.discard()
    for old in sorted(reference_dir.glob("*.ipynb")):
        if old.name not in wanted:
            old.unlink()
            changed.append(old)
    return changed
