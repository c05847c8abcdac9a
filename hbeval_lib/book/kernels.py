"""Execute one page's notebook with papermill on a warm kernel; run many pages in parallel.

Notebooks run through papermill (the ``parameters`` cell is tagged, papermill injects the ``injected-parameters``
cell after it) on **warm kernels**: each of the ``jobs`` worker threads owns one ``hbeval`` kernel that has imported
pandas, statsmodels, seaborn and the report modules once. Before every notebook the kernel is reset (``%reset -f``,
open figures closed, and matplotlib rcParams, pandas options, numpy error/print settings, warning filters and their
"once" registries, working directory, environment variables and ``sys.path`` restored to the state after the
imports), so no variable or setting leaks from one notebook into the next. A kernel whose notebook failed is shut
down and the next notebook gets a new one. ``warm=False`` (``--cold-kernels``) starts one kernel per notebook.

A no-change run is cheap: the derived digests (a module's imports, a notebook's code digest, a pilot's slice of a
table) are memoised by content hash in ``<cache>/memo.json``, the results merge is skipped when no results file
changed, and :func:`jupyter_book_build` skips jupyter-book when no file of the book folder changed since its last
successful build (``_build/.hbeval_built-html``).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from hbeval_lib.book.cache import CELLS_SUFFIX, MAGNITUDES_SUFFIX, Job, KERNEL_NAME, finalise_notebook, longest_first, to_ipynb, write_key_file
from hbeval_lib.book.errors import RunError
from hbeval_lib.config import REPO_ROOT

# errors of a kernel that did not start or died: parallel papermill occasionally races for ZMQ ports
RETRYABLE = re.compile(r"address already in use|kernel died|deadkernel|kernel didn't respond|"
                       r"timeout waiting for kernel|zmq|kernel_info", re.IGNORECASE)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _error_text(exc: BaseException, job: Job, failed_copy: Path | None) -> str:
    lines = [f"notebook {job.source.name} failed ({job.name})",
             "parameters: " + json.dumps(job.parameters(), ensure_ascii=False)]
    tb = getattr(exc, "traceback", None)
    if getattr(exc, "cell_index", None) is not None:
        src = (getattr(exc, "source", "") or "").strip().splitlines()
        lines.append(f"cell {exc.cell_index} (execution count {exc.exec_count}):")
        lines += ["    " + s for s in src[:15]] + (["    …"] if len(src) > 15 else [])
    if tb:
        lines.append("traceback:")
        lines += [ANSI.sub("", t) for t in tb]
    else:
        lines.append(f"{type(exc).__name__}: {exc}")
    if failed_copy:
        lines.append(f"the failed execution is kept in {failed_copy}")
    return "\n".join(lines)


def _ipc_kernel_manager():
    """A kernel manager using IPC sockets (files) instead of TCP ports: parallel kernels cannot race for ports."""
    import tempfile

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum, default

    class IPCKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        @default("ip")
        def _ip_default(self):  # a unique socket path prefix per kernel
            return os.path.join(tempfile.gettempdir(), f"hbeval-kernel-{uuid.uuid4().hex[:12]}")

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            # the kernel's own log (e.g. its shutdown chatter) would break the progress bar; cell errors and
            # output reach the notebook anyway, and a dead kernel is reported by nbclient
            kw.setdefault("stderr", subprocess.DEVNULL)
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    return IPCKernelManager


# --- kernel side of a warm kernel: snapshot after the imports, restore before every notebook ------------------------
WARM_MODULES = ["numpy", "pandas", "scipy.stats", "matplotlib", "matplotlib.pyplot", "seaborn", "statsmodels.api",
                "statsmodels.formula.api", "pingouin", "myst_nb", "hbeval_lib.page.report", "hbeval_lib.core.plots",
                "hbeval_lib.core.tables", "hbeval_lib.page.results", "hbeval_lib.page.disclosure", "hbeval_lib.strands.wellbeing.sections",
                "hbeval_lib.strands.services.sections", "hbeval_lib.strands.costs.sections", "hbeval_lib.strands.synthesis.sections"]
# a module that fails to import here is left for the notebook to import (and to report its error). No
# warnings.catch_warnings() around the imports: the filters modules install when imported (statsmodels: "always" for
# ConvergenceWarning…) must stay, as in a cold kernel; the warm-up's own output is discarded anyway
WARM_IMPORTS = f"""\
import importlib
for _m in {WARM_MODULES!r}:
    try:
        importlib.import_module(_m)
    except Exception:
        pass
import hbeval_lib.book.kernels
hbeval_lib.book.kernels.kernel_snapshot()
"""
WARM_RESET = """\
%reset -f
import hbeval_lib.book.kernels
hbeval_lib.book.kernels.kernel_restore()
del hbeval_lib
"""
_KERNEL_STATE: dict = {}


def kernel_snapshot() -> None:
    """(In a warm kernel, after the imports.) Remember the process-wide state a notebook may change."""
    import warnings

    import matplotlib as mpl
    import numpy as np
    import pandas as pd

    opts = {}
    for k in pd._config.config._registered_options:  # noqa: SLF001 — no public list of option keys
        if k in pd._config.config._deprecated_options:  # noqa: SLF001
            continue
        try:
            opts[k] = pd.get_option(k)
        except Exception:  # noqa: BLE001
            pass
    _KERNEL_STATE.update(cwd=os.getcwd(), env=dict(os.environ), path=list(sys.path), filters=list(warnings.filters),
                         rc={k: v for k, v in mpl.rcParams.items() if k != "backend"}, np_err=np.geterr(),
                         np_print=np.get_printoptions(), pd=opts)


def kernel_restore() -> None:
    """(In a warm kernel, before a notebook.) Back to the state of :func:`kernel_snapshot`: the notebook starts as
    in a kernel that has just imported the libraries."""
    import random
    import warnings

    import matplotlib as mpl
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    st = _KERNEL_STATE
    plt.close("all")
    os.chdir(st["cwd"])
    os.environ.clear()
    os.environ.update(st["env"])
    sys.path[:] = st["path"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mpl.rcParams.update(st["rc"])
        for k, v in st["pd"].items():
            try:
                if pd.get_option(k) != v:
                    pd.set_option(k, v)
            except Exception:  # noqa: BLE001
                pass
    np.seterr(**st["np_err"])
    np.set_printoptions(**st["np_print"])
    warnings.filters[:] = st["filters"]
    warnings._filters_mutated()  # noqa: SLF001 — forget every module's "already warned once" registry
    for m in list(sys.modules.values()):
        reg = getattr(m, "__warningregistry__", None)
        if isinstance(reg, dict):
            reg.clear()
    random.seed()
    np.random.seed()


# --- client side ------------------------------------------------------------------------------------------------------
class WarmKernel:
    """One ``hbeval`` kernel that has imported the libraries; used by one worker thread for many notebooks."""

    def __init__(self, start_timeout: int = 120):
        from jupyter_core.utils import run_sync

        self._run_sync = run_sync
        self.km = _ipc_kernel_manager()(kernel_name=KERNEL_NAME)
        run_sync(self.km.start_kernel)(cwd=str(REPO_ROOT))
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            run_sync(self.kc.wait_for_ready)(timeout=start_timeout)
            self.run_code(WARM_IMPORTS, timeout=start_timeout * 3)
        except Exception:
            self.shutdown()
            raise
        self.notebooks = 0

    @property
    def pid(self):
        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        return getattr(proc, "pid", None)

    def run_code(self, code: str, timeout: int = 120) -> None:
        """Execute ``code`` in the kernel outside any notebook; raise on an error."""
        import nbformat
        from nbclient import NotebookClient

        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(code)]
        client = NotebookClient(nb, km=self.km, kernel_name=KERNEL_NAME, timeout=timeout)
        client.kc = self.kc
        client.execute()

    def reset(self) -> None:
        self.run_code(WARM_RESET)

    def shutdown(self) -> None:
        try:
            self.kc.stop_channels()
        except Exception:  # noqa: BLE001
            pass
        try:
            self._run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001
            pass


def _warm_engine():
    """The papermill engine ``hbeval-warm``: papermill's nbclient engine on a :class:`WarmKernel` (same
    parameter injection, cell metadata and error handling as papermill's default engine)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.utils import merge_kwargs, remove_args

    if "hbeval-warm" in papermill_engines._engines:  # noqa: SLF001
        return "hbeval-warm"

    class WarmEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
            warm = kwargs.pop("warm_kernel")
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                                 kernel_name=kernel_name, log=logging.getLogger("papermill"),
                                 log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file)
            client = PapermillNotebookClient(nb_man, km=warm.km, **final)
            client.kc = warm.kc  # owns_km is False: the kernel outlives the notebook
            return client.execute()

    papermill_engines.register("hbeval-warm", WarmEngine)
    return "hbeval-warm"


class KernelSlot:
    """The warm kernel of one worker thread: started on first use, reset before each notebook, replaced after a
    failure. ``warm=False``: papermill's own cold kernel per notebook."""

    def __init__(self, warm: bool = True):
        self.warm = warm
        self.kernel: WarmKernel | None = None

    def execute(self, nb_in: Path, out_nb: Path, parameters: dict) -> None:
        import papermill as pm

        if not self.warm:
            pm.execute_notebook(str(nb_in), str(out_nb), parameters=parameters, kernel_name=KERNEL_NAME,
                                progress_bar=False, cwd=str(REPO_ROOT), start_timeout=120,
                                kernel_manager_class=_ipc_kernel_manager())
            return
        if self.kernel is None:
            self.kernel = WarmKernel()
        self.kernel.reset()
        pm.execute_notebook(str(nb_in), str(out_nb), parameters=parameters, kernel_name=KERNEL_NAME,
                            progress_bar=False, engine_name=_warm_engine(), warm_kernel=self.kernel,
                            request_save_on_cell_execute=False)
        self.kernel.notebooks += 1

    def discard(self) -> None:
        if self.kernel is not None:
            self.kernel.shutdown()
            self.kernel = None


def execute_job(job: Job, staging_root: Path, failed_dir: Path | None = None, retries: int = 2,
                slot: KernelSlot | None = None) -> dict:
    """Execute one job on ``slot``'s kernel (a new warm kernel when None). Outputs are written to a staging folder
    and moved into the book only when the notebook succeeded; a kernel that fails to start or dies is replaced and
    the notebook retried ``retries`` times; after any failure the kernel is replaced.

    Returns ``{"ok": bool, "name": str, "error": str, "seconds": float, "attempts": int}``.
    """
    own_slot = slot is None
    slot = slot or KernelSlot()
    t0 = time.monotonic()
    staging = Path(staging_root) / uuid.uuid4().hex
    staging.mkdir(parents=True)
    nb_in = to_ipynb(job.source, staging / f"{job.strand}.input.ipynb")
    out_nb = staging / f"{job.pilot}.ipynb"
    res, sup = staging / f"{job.pilot}.results.csv", staging / f"{job.pilot}.suppressions.csv"
    cells = staging / f"{job.pilot}{CELLS_SUFFIX}"
    mags = staging / f"{job.pilot}{MAGNITUDES_SUFFIX}"
    attempt, error = 0, None
    try:
        while True:
            attempt += 1
            for p in (out_nb, res, sup, cells, mags):
                p.unlink(missing_ok=True)
            try:
                slot.execute(nb_in, out_nb, job.parameters(res, sup))
                break
            except Exception as exc:  # noqa: BLE001 — classified below, re-raised as a report
                slot.discard()  # a failed notebook may leave the kernel in any state: the next one gets a new one
                if (type(exc).__name__ != "PapermillExecutionError" and attempt <= retries
                        and RETRYABLE.search(f"{type(exc).__name__} {exc}")):
                    time.sleep(0.5 + random.random() * 2)
                    continue
                failed_copy = None
                if failed_dir and out_nb.exists():
                    failed_dir.mkdir(parents=True, exist_ok=True)
                    failed_copy = failed_dir / f"{job.phase}-{job.strand}-{job.pilot}.ipynb"
                    shutil.copyfile(out_nb, failed_copy)
                error = _error_text(exc, job, failed_copy)
                break
        if error is None and res.exists() and sup.exists() and not cells.exists():
            # a notebook that writes its tables itself (not through Disclosure.write) published no release cell
            from hbeval_lib.page.disclosure import RECORD_COLUMNS
            from hbeval_lib.core.fileio import write_csv_atomic
            import pandas as pd

            write_csv_atomic(pd.DataFrame(columns=RECORD_COLUMNS), cells)
        if error is None and res.exists() and sup.exists() and not mags.exists():
            # nor a magnitude record: it decided no euro figure through Disclosure
            from hbeval_lib.page.disclosure import MAGNITUDE_COLUMNS
            from hbeval_lib.core.fileio import write_csv_atomic
            import pandas as pd

            write_csv_atomic(pd.DataFrame(columns=MAGNITUDE_COLUMNS), mags)
        if error is None:
            missing = [p.name for p in (res, sup, cells) if not p.exists()]
            if missing:
                error = (f"notebook {job.source.name} ({job.name}) ran but did not write {', '.join(missing)}: its "
                         "last cell must write results_path and suppressions_path\nparameters: "
                         + json.dumps(job.parameters(), ensure_ascii=False))
        if error is not None:
            remove_outputs(job)
            return {"ok": False, "name": job.name, "error": error, "seconds": time.monotonic() - t0,
                    "attempts": attempt}
        finalise_notebook(out_nb, job)
        job.out_dir.mkdir(parents=True, exist_ok=True)
        job.key_file.unlink(missing_ok=True)  # the old key must not vouch for half-replaced outputs
        for src, dst in zip((out_nb, res, sup, cells, mags), job.outputs(), strict=True):
            os.replace(src, dst)
        write_key_file(job, round(time.monotonic() - t0, 2))
        return {"ok": True, "name": job.name, "error": "", "seconds": time.monotonic() - t0, "attempts": attempt}
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if own_slot:
            slot.discard()


def remove_outputs(job: Job) -> None:
    """Delete a job's outputs and key (its previous outputs no longer match its inputs)."""
    for p in job.outputs() + [job.key_file]:
        p.unlink(missing_ok=True)


class Executor:
    """``n`` worker threads, each owning one :class:`KernelSlot` for the whole run (kernels are separate
    processes, so the threads run notebooks in parallel). Kernels are shut down by :meth:`close`."""

    def __init__(self, n: int, warm: bool = True):
        self.n, self.warm = max(1, n), warm
        self.slots: list[KernelSlot] = []
        self.seconds: dict[str, float] = {}

    def run(self, jobs: list[Job], staging_root: Path, failed_dir: Path, bar_state: dict) -> list[str]:
        """Execute ``jobs``; on the first failure stop taking new jobs, let the running ones finish and raise
        :class:`RunError`."""
        if not jobs:
            return []
        bar = bar_state.get("bar")
        todo: queue.Queue = queue.Queue()
        for j in longest_first(jobs):
            todo.put(j)
        results: queue.Queue = queue.Queue()
        stop = threading.Event()
        while len(self.slots) < min(self.n, len(jobs)):
            self.slots.append(KernelSlot(self.warm))

        def worker(slot: KernelSlot):
            while not stop.is_set():
                try:
                    job = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    out = execute_job(job, staging_root, failed_dir, slot=slot)
                except Exception as exc:  # noqa: BLE001 — a crash here is a failure of this job
                    slot.discard()
                    remove_outputs(job)
                    out = {"ok": False, "error": _error_text(exc, job, None)}
                if not out["ok"]:
                    stop.set()
                results.put((job, out))

        threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in self.slots[:len(jobs)]]
        for t in threads:
            t.start()
        done, failure = [], None
        while any(t.is_alive() for t in threads) or not results.empty():
            try:
                job, out = results.get(timeout=0.2)
            except queue.Empty:
                continue
            if out["ok"]:
                done.append(job.name)
                self.seconds[job.name] = round(out.get("seconds", 0.0), 2)
                if bar is not None:
                    bar.update(1)
            elif failure is None:
                failure = out["error"]
        for t in threads:
            t.join()
        if failure:
            raise RunError(failure)
        return done

    def close(self) -> None:
        for s in self.slots:
            s.discard()
        self.slots = []
