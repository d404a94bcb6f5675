"""The grader's two modes: feedback (the students' own checks) and marks (``grading.classroom``).

**Feedback** (``grade``): each submission runs as it is, in its own isolated workspace
(``grading.isolation``), and every ``check`` in the kernel appends a JSON line to a log outside the
workspace (``DIGITLAB_GRADE_LOG``). The kernel writes that log, so a submission can fake it: use it
for feedback, never for marks. **Marks** (``grade_class``): each submission runs jailed
(``grading.jail``), the check cells come from the source chapter, answers are captured as data and
judged in the grader's process with hidden tests.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from digitlab import _validation as check
from digitlab import editions, exercises, settings
from digitlab.grading.classroom import grade_class
from digitlab.grading.isolation import Workspace
from digitlab.grading.report import (
    COLUMNS,
    MARK,
    NOT_RUN,
    STATUSES,
    printable,
    read_log,
    rows_of,
    summary_markdown,
    write_csv,
    write_text,
)
from digitlab.grading.runner import Run, check_timeouts, execute, read_notebook, write_notebook

__all__ = [
    "COLUMNS",
    "MARK",
    "NOT_RUN",
    "STATUSES",
    "Run",
    "expected_exercises",
    "find_submissions",
    "grade",
    "grade_class",
    "read_log",
    "rows_of",
    "run_submission",
    "student_names",
    "summary_markdown",
    "write_csv",
    "write_text",
]


def find_submissions(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Notebook files named by ``paths``: files as given, folders searched for ``*.ipynb``."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such submission file or folder: {str(path)!r}")
    if not found:
        raise FileNotFoundError("no submissions (*.ipynb) found in the given paths")
    return list(dict.fromkeys(found))


def student_names(paths: list[Path]) -> dict[Path, str]:
    """A unique name per submission (feedback mode): ``student`` metadata, else the file or folder name.

    Marks never use this: there the roster decides who is who.
    """
    names = {p: _metadata_student(p) for p in paths}
    stems = [p.stem for p in paths]
    for p in paths:
        if not names[p]:
            names[p] = p.stem if stems.count(p.stem) == 1 else f"{p.parent.name}/{p.stem}"
    seen: dict[str, int] = {}
    for p in paths:  # still equal (two notebooks claim one student): number them
        seen[names[p]] = seen.get(names[p], 0) + 1
        if seen[names[p]] > 1:
            names[p] = f"{names[p]} ({seen[names[p]]})"
    return names


def _metadata_student(path: Path) -> str:
    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return ""
    value = meta.get("student") or meta.get("digitlab", {}).get("student")
    return value.strip() if isinstance(value, str) else ""


def expected_exercises(nb) -> list[str]:
    """The exercises a notebook should answer: all of each chapter module it checks exercises with."""
    names = []
    for module in editions.modules_used(nb):
        names += [info["name"] for info in exercises.catalog(module).values()]
    return names


def run_submission(
    path: str | os.PathLike, student: str = "", *, cell_timeout: float = 120, notebook_timeout: float = 600
) -> Run:
    """Run one notebook as it is, isolated, and return what its own checks logged (feedback)."""
    check_timeouts(cell_timeout, notebook_timeout)
    path = Path(path)
    run = Run(path, student or path.stem)
    start = time.monotonic()
    nb = read_notebook(path, run)
    if nb is None:
        return run
    run.expected = expected_exercises(nb)
    logdir = Path(tempfile.mkdtemp(prefix="digitlab-grade-log-"))
    try:
        with Workspace() as ws:
            log = logdir / "checks.jsonl"
            write_notebook(nb, ws.work / path.name)  # the notebook's own copy, free to touch
            execute(
                nb,
                ws.work,
                ws.env({settings.GRADE_LOG: str(log)}),
                run,
                cell_timeout,
                notebook_timeout,
                logdir / "stderr",
            )
            run.events = read_log(log)
    finally:
        shutil.rmtree(logdir, ignore_errors=True)
        run.seconds = round(time.monotonic() - start, 2)
    return run


def grade(
    submissions: Iterable[str | os.PathLike],
    out: str | os.PathLike,
    *,
    summary: str | os.PathLike | None = None,
    cell_timeout: float = 120,
    notebook_timeout: float = 600,
    workers: int = 1,
    on_progress: Callable[[str], None] | None = None,
) -> list[Run]:
    """Feedback: run every submission, write the CSV to ``out`` and the Markdown summary next to it."""
    check_timeouts(cell_timeout, notebook_timeout)
    out = Path(out)
    if out.suffix.lower() != ".csv":
        raise ValueError(f"out must be a .csv file, got {str(out)!r}")
    check.positive_int("workers", workers)
    summary = Path(summary) if summary is not None else out.with_suffix(".md")
    paths = find_submissions(submissions)
    names = student_names(paths)
    start = time.monotonic()

    def one(path: Path) -> Run:
        run = run_submission(path, names[path], cell_timeout=cell_timeout, notebook_timeout=notebook_timeout)
        if on_progress:
            on_progress(printable(f"{run.student}: {run.status} in {run.seconds:.1f} s"))
        return run

    with ThreadPoolExecutor(max_workers=workers) as pool:
        runs = list(pool.map(one, paths))
    exercises = list(
        dict.fromkeys([n for r in runs for n in r.expected] + [e["exercise"] for r in runs for e in r.events])
    )
    rows = [row for r in runs for row in rows_of(r, exercises)]
    write_csv(rows, out)
    write_text(
        summary,
        summary_markdown(runs, rows, exercises, time.monotonic() - start, cell_timeout, notebook_timeout),
    )
    return runs
