"""A submission's notebook run inside ``jail``: the grader's side and the side inside the jail.

The grader writes the restored notebook into the workspace, starts the jail with this module as its
command, and reads back one JSON line from the jail's stdout (a file of bounded size): the run's
status and each cell's outputs. That line is the submission's to forge, so the grader takes only
outputs and counts from it (cell sources stay its own), refuses output that is too large or
malformed, and judges the captured answers itself.
Inside, nbclient runs the kernel over unix sockets in the jail's private ``io`` folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from digitlab.grading import jail
from digitlab.grading.runner import Run, execute, first_line, summarise

INSIDE = "/sandbox"
RESULT_BYTES = 120_000_000  # the result file (captures included) must stay below this: the grader parses it
STATUSES = ("ok", "cell errors", "cell timeout", "notebook timeout", "kernel died")
PYTHON = ["python", "-m"]
MARKER = b"digitlab-result "  # the result line the jail prints last


def binds(ws, writable_data: bool = True) -> list[tuple]:
    """The workspace folders a notebook run sees: home, data, work and the private io folder."""
    return [
        (str(ws.home), f"{INSIDE}/home", True),
        (str(ws.digitlab), f"{INSIDE}/digitlab", writable_data),
        (str(ws.work), f"{INSIDE}/work", True),
        (str(ws.io), f"{INSIDE}/io", True),
    ]


def run_notebook(ws, nb, run: Run, cell_timeout: float, notebook_timeout: float) -> None:
    """Execute ``nb`` jailed and copy each cell's outputs back into ``nb``; sets ``run``'s status."""
    (ws.io / "request.json").write_text(
        json.dumps({"cell_timeout": cell_timeout, "notebook_timeout": notebook_timeout}), encoding="utf-8"
    )
    ws.give_away()
    cpu = int(notebook_timeout * 2) + 120
    command = jail.command(
        binds(ws), PYTHON + ["digitlab.grading.confine"], f"{INSIDE}/work", cpu_seconds=cpu
    )
    out, err = ws.root / "jail.out", ws.root / "jail.err"  # outside the jail's reach; size-limited
    try:
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            subprocess.run(
                command, env=ws.jail_env(), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                timeout=notebook_timeout + 120,
            )  # fmt: skip
    except subprocess.TimeoutExpired:  # unshare is killed, and with it the whole namespace
        run.status, run.detail = "notebook timeout", f"stopped at the {notebook_timeout} s notebook limit."
        return
    _take_result(out, nb, run)


def _take_result(path: Path, nb, run: Run) -> None:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > RESULT_BYTES:
            raise ValueError("no result file of a sane size")
        lines = [line for line in path.read_bytes().splitlines() if line.startswith(MARKER)]
        result = json.loads(lines[-1][len(MARKER) :].decode("utf-8"))
        cells = result["cells"]
        if not isinstance(cells, list) or len(cells) != len(nb.cells):
            raise ValueError("the result does not match the notebook")
        status, detail = str(result.get("status")), str(result.get("detail", ""))[:1000]
        if status not in STATUSES:
            raise ValueError("unknown status")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        run.status = "kernel died"
        run.detail = (
            "the jailed run ended without a readable result (the code crashed it or ran out of memory)."
        )
        return
    copy_outputs(cells, nb)
    run.status, run.detail = status, detail


def copy_outputs(cells: list, nb) -> None:
    """Each code cell of ``nb`` takes the outputs and count of ``cells``' cell at its index, nothing else."""
    for cell, out in zip(nb.cells, cells):
        if cell.get("cell_type") == "code" and isinstance(out, dict):
            outputs = out.get("outputs")
            cell["outputs"] = [o for o in outputs if isinstance(o, dict)] if isinstance(outputs, list) else []
            count = out.get("execution_count")
            cell["execution_count"] = (
                count if isinstance(count, int) and not isinstance(count, bool) else None
            )


def main() -> None:
    """Inside the jail: run ``work/submission.ipynb`` and print the result line on stdout."""
    from digitlab import editions

    io = Path(INSIDE) / "io"
    request = json.loads((io / "request.json").read_text(encoding="utf-8"))
    run = Run(Path("submission.ipynb"), "")
    nb = editions.read(Path(INSIDE) / "work" / "submission.ipynb")
    try:
        execute(
            nb, Path.cwd(), dict(os.environ), run, request["cell_timeout"], request["notebook_timeout"],
            io / "stderr", ipc=str(io / "kernel"),
        )  # fmt: skip
    except Exception as e:  # report, never hang: the grader reads "kernel died"
        run.status, run.detail = "kernel died", f"{type(e).__name__}: {first_line(e)}"
        summarise(run, [], [], 0, 0)
    cells = [{"outputs": c.get("outputs", []), "execution_count": c.get("execution_count")} for c in nb.cells]
    result = json.dumps({"status": run.status, "detail": run.detail, "cells": cells})
    os.write(1, MARKER + result.encode("utf-8") + b"\n")  # the last line of the jail's stdout
    sys.exit(0)


if __name__ == "__main__":
    main()
