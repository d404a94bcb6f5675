"""Run one notebook in a fresh kernel, cell by cell, with a per-cell and a per-notebook time limit.

Cells run with errors allowed, so one failing cell does not hide later ones; a cell over the
per-cell limit is interrupted and the run goes on; at the per-notebook limit a watchdog kills the
kernel's whole process group, whatever the cell is doing. Outputs are capped per cell and per
notebook (``CELL_BYTES``, ``NOTEBOOK_BYTES``): what a cell prints beyond its share is dropped with a note.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from digitlab import _validation as check
from digitlab import editions

CELL_BYTES = 1_000_000  # outputs kept per cell (the grader's capture cells: capture.MAX_BYTES)
NOTEBOOK_BYTES = 20_000_000  # outputs kept per notebook, capture cells aside
CUT = "[digitlab: output cut here, over the grader's limit]\n"


@dataclass
class Run:
    """What happened when one submission ran: a run status, a detail, timing and what it logged."""

    submission: Path
    student: str
    status: str = (
        "ok"  # ok | cell errors | cell timeout | notebook timeout | kernel died | invalid notebook | missing
    )
    detail: str = ""
    seconds: float = 0.0
    events: list[dict] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    verdicts: list = field(default_factory=list)  # marks mode: one judge.Verdict per exercise
    student_id: str = ""


def check_timeouts(cell_timeout: float, notebook_timeout: float) -> None:
    """``ValueError`` naming the argument unless both limits are positive numbers of seconds."""
    for name, value in (("cell_timeout", cell_timeout), ("notebook_timeout", notebook_timeout)):
        check.positive(name, value)


def read_notebook(path: Path, run: Run):
    """The submission as a notebook, or None with the run marked "invalid notebook"."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        run.status, run.detail = "invalid notebook", f"could not read it ({type(e).__name__})"
        return None
    return parse_notebook(data, run)


def parse_notebook(data: bytes, run: Run):
    """``data`` as a notebook, or None with the run marked "invalid notebook" (no content echoed)."""
    import warnings

    import nbformat

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing cell ids and similar: harmless here
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("no list of cells")
        return nb
    except Exception as e:  # anything unreadable: JSON, nbformat or encoding errors
        run.status = "invalid notebook"
        run.detail = f"could not read it as a notebook ({type(e).__name__}); nothing of it ran"
        return None


def execute(
    nb,
    workdir: Path,
    env: dict,
    run: Run,
    cell_timeout: float,
    notebook_timeout: float,
    stderr_path: Path,
    ipc: str = "",
) -> None:
    """Execute ``nb`` in place, in ``workdir``, until it ends or the notebook limit passes.

    With ``ipc`` (a path prefix) the kernel talks over unix sockets instead of TCP (a jail has no
    network); the kernel's stdout and stderr go to ``stderr_path``, never to the grader's terminal.
    """
    from nbclient.exceptions import DeadKernelError

    km = None
    if ipc:
        from jupyter_client.manager import AsyncKernelManager

        km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=ipc)
    client = _capped_client()(
        nb,
        km=km,
        timeout=cell_timeout,
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={
            "ename": "CellTimeoutError",
            "evalue": "the cell ran over its time limit",
            "traceback": [],
        },
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    deadline = time.monotonic() + notebook_timeout
    errors, timeouts, fired = [], [], threading.Event()
    with open(stderr_path, "wb") as stderr:
        try:
            with (
                client.setup_kernel(env=env, stdout=stderr, stderr=stderr, cwd=str(workdir)),
                _watchdog(client, notebook_timeout, fired),
            ):
                for index, cell in enumerate(nb.cells):
                    if cell.get("cell_type") != "code":
                        continue
                    left = deadline - time.monotonic()
                    if left <= 0 or fired.is_set():
                        break
                    client.timeout = max(1, min(cell_timeout, math.ceil(left)))
                    began = time.monotonic()
                    client.execute_cell(cell, index)
                    if time.monotonic() - began >= client.timeout:  # interrupted at the cell limit
                        timeouts.append(index)
                        continue
                    errors += [
                        f"cell {index} raised {o.get('ename', 'an error')}"
                        for o in cell.get("outputs", [])
                        if o.get("output_type") == "error"
                    ]
        except DeadKernelError:
            run.status = "kernel died"
        except Exception as e:  # the kernel failed to start or stopped answering
            run.status = "kernel died"
            run.detail += f"{type(e).__name__}: {first_line(e)}. "
    if time.monotonic() >= deadline or fired.is_set():
        run.status = "notebook timeout"
    elif run.status == "kernel died":
        run.detail += "the kernel stopped (the code crashed Python or ran out of memory). "
        run.detail += _last_line(stderr_path)
    summarise(run, errors, timeouts, cell_timeout, notebook_timeout)


def _capped_client():
    """``NotebookClient`` that keeps at most ``CELL_BYTES`` of output per cell, ``NOTEBOOK_BYTES`` in all."""
    from nbclient import NotebookClient
    from nbformat.v4 import new_output

    from digitlab.grading.capture import MAX_BYTES

    class Capped(NotebookClient):
        def output(self, outs, msg, display_id, cell_index):
            sizes = self.__dict__.setdefault("_digitlab_sizes", {"notebook": 0})
            capture = self.nb.cells[cell_index].get("metadata", {}).get("digitlab", {}).get("capture")
            size = len(json.dumps(msg.get("content", {}), default=str))
            sizes[cell_index] = sizes.get(cell_index, 0) + size
            sizes["notebook"] += 0 if capture else size
            over = sizes["notebook"] > NOTEBOOK_BYTES and not capture
            if over or sizes[cell_index] > (MAX_BYTES if capture else CELL_BYTES):
                if not any(o.get("text") == CUT for o in outs):
                    outs.append(new_output("stream", name="stderr", text=CUT))
                return None
            return super().output(outs, msg, display_id, cell_index)

    return Capped


def execute_in_container(command: list[str], workdir: Path, run: Run, notebook_timeout: float):
    """Run ``command`` (a container running nbconvert) and return the executed notebook, or None."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=notebook_timeout)
    except subprocess.TimeoutExpired:
        run.status, run.detail = "notebook timeout", f"stopped at the {notebook_timeout} s notebook limit."
        return None
    executed = workdir / "executed.ipynb"
    if not executed.exists():
        run.status = "kernel died"
        run.detail = f"the container exited with {done.returncode}: {(done.stderr or '').strip()[-200:]}"
        return None
    nb = editions.read(executed)
    errors = [
        f"cell {i} raised {o.get('ename', 'an error')}"
        for i, c in enumerate(nb.cells)
        if c.get("cell_type") == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    summarise(run, errors, [], 0, notebook_timeout)
    return nb


@contextlib.contextmanager
def _watchdog(client, seconds: float, fired: threading.Event) -> Iterator[None]:
    """Kill the client's kernel (and its process group) after ``seconds``, and set ``fired``."""

    def kill() -> None:
        fired.set()
        process = getattr(getattr(client.km, "provisioner", None), "process", None)
        if process is not None and process.poll() is None:
            try:
                os.killpg(os.getpgid(process.pid), signal.SIGKILL)
            except (OSError, AttributeError):  # no process groups (Windows) or already gone
                process.kill()

    timer = threading.Timer(seconds, kill)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _last_line(path: Path) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        lines = [line for line in text.splitlines() if line.strip() and "WARNING" not in line]
    except OSError:
        return ""
    return f"The kernel's last words: {lines[-1][:200]}" if lines else ""


def summarise(
    run: Run, errors: list[str], timeouts: list[int], cell_timeout: float, notebook_timeout: float
) -> None:
    """Set the run's status and detail from its errors and timeouts."""
    if run.status == "notebook timeout":
        run.detail += f"stopped at the {notebook_timeout} s notebook limit; later cells did not run. "
    elif run.status == "ok" and timeouts:
        run.status = "cell timeout"
    elif run.status == "ok" and errors:
        run.status = "cell errors"
    if timeouts:
        run.detail += f"cell(s) {', '.join(map(str, timeouts))} hit the {cell_timeout} s cell limit. "
    if errors:
        run.detail += "; ".join(errors[:3]) + ("; ..." if len(errors) > 3 else "") + ". "
    run.detail = run.detail.strip()


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, at most 200 characters."""
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else ""


def write_notebook(nb, path: Path) -> None:
    """Write ``nb`` as JSON (no validation: a submission may be odd but still runnable)."""
    path.write_text(json.dumps(nb), encoding="utf-8")
