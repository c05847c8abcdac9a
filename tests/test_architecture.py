"""The import graph of ``hbeval_lib`` follows the data flow (docs/architecture.md, issue 23).

Every import — at module level or inside a function — is read from the source (AST). Two rules:

* **Layers.** A module imports only from its own stage or the stages above it in the flow:
  ``config`` ← ``core`` ← ``intake`` ← ``demo`` ← ``page`` ← ``strands`` ← ``release`` ← ``book`` ← ``cli``.
  Inside ``strands`` the strands are independent, except that costs may use wellbeing (cost-effectiveness needs the
  effect) and the synthesis may use every strand; the strands' shared modules (``methods``, ``validate``) sit on top.
* **No cycle** between modules.

The checker is tested on a small package with an import against the flow and a cycle, so it is shown to fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / "hbeval_lib"

# stage of a module: the first matching prefix (most specific first); rank = position in the flow
STAGES = ["config", "core", "intake", "demo", "page", "strands", "release", "book", "cli"]
STRAND_RANK = {"wellbeing": 0, "services": 0, "costs": 1, "synthesis": 2, "methods": 3, "validate": 3}


def stage_of(module: str) -> tuple[int, int] | None:
    """(stage rank, rank inside the strands) of a dotted ``hbeval_lib`` module; None for the package root."""
    parts = module.split(".")[1:]
    if not parts:
        return None
    if parts[0] not in STAGES:
        raise AssertionError(f"{module}: not in a stage folder {STAGES} — put it where it belongs in the flow")
    sub = STRAND_RANK.get(parts[1], 0) if parts[0] == "strands" and len(parts) > 1 else 0
    return STAGES.index(parts[0]), sub


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for p in root.rglob("*.py"):
        parts = list(p.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the package's modules it imports (anywhere in its source)."""
    mods = modules(root)
    pkg = root.name
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        here = m.split(".") if path.name == "__init__.py" else m.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here[: len(here) - (node.level - 1)]
                    base = ".".join(up + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            for t in targets:
                if not t.startswith(pkg):
                    continue
                while t not in mods and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t in mods and t != m and not m.startswith(t + "."):
                    if t == pkg:
                        continue
                    graph[m].add(t)
    # `from pkg.a import b` also names pkg.a; keep only the most specific module of each import
    return graph


def against_flow(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for m, targets in graph.items():
        sm = stage_of(m)
        for t in targets:
            st = stage_of(t)
            if sm is None or st is None:
                continue
            if st[0] > sm[0]:
                bad.append(f"{m} imports {t} ({STAGES[st[0]]} is downstream of {STAGES[sm[0]]})")
            elif st[0] == sm[0] == STAGES.index("strands"):
                a, b = m.split(".")[2], t.split(".")[2]
                if a != b and STRAND_RANK.get(b, 0) >= STRAND_RANK.get(a, 0):
                    bad.append(f"{m} imports {t} (strand {a} may not use strand {b})")
    return sorted(bad)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_against_the_flow():
    assert against_flow(import_graph(LIB)) == []


def test_no_import_cycle():
    assert cycles(import_graph(LIB)) == []


def test_every_strand_has_its_folder():
    for strand in ("wellbeing", "services", "costs", "synthesis"):
        assert (LIB / "strands" / strand / "sections.py").exists(), strand
    loose = sorted(p.name for p in LIB.glob("*.py") if p.name not in {"__init__.py", "config.py", "cli.py"})
    assert loose == [], f"modules outside a stage folder: {loose}"


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def test_checker_rejects_an_upward_import_and_a_cycle(tmp_path):
    root = tmp_path / "hbeval_lib"
    _write(root, {
        "__init__.py": "", "config.py": "",
        "intake/__init__.py": "", "book/__init__.py": "", "strands/__init__.py": "",
        "strands/wellbeing/__init__.py": "", "strands/costs/__init__.py": "",
        # intake reaching down into the book (lazily, inside a function) is against the flow
        "intake/gate.py": "def f():\n    from hbeval_lib.book.run import ensure_processed\n",
        "book/run.py": "from hbeval_lib.intake import gate\nfrom . import pages\n",
        "book/pages.py": "def g():\n    from .run import x\n",
        # the wellbeing strand may not use the cost strand
        "strands/wellbeing/stats.py": "from hbeval_lib.strands.costs import cea\n",
        "strands/costs/cea.py": "from hbeval_lib.strands.wellbeing import stats\n",
    })
    g = import_graph(root)
    bad = against_flow(g)
    assert any("intake.gate imports hbeval_lib.book.run" in b for b in bad)
    assert any("strand wellbeing may not use strand costs" in b for b in bad)
    assert not any("costs.cea" in b.split(" imports ")[0] for b in bad)   # costs may use wellbeing
    found = cycles(g)
    assert ["hbeval_lib.book.pages", "hbeval_lib.book.run", "hbeval_lib.intake.gate"] in found
    with pytest.raises(AssertionError, match="not in a stage folder"):
        stage_of("hbeval_lib.loose")
