"""Marks for a class: restore, run in isolation, capture, judge outside, then points and gradebook.

For each roster entry: the submission's answer cells go into the source chapter (every other cell is
the source's), the result runs in a fresh workspace and kernel (``isolation``), a capture cell after
each answer sends the answer out as data, and the grader judges it in its own process with the
hidden tests (function answers are called in a sandboxed subprocess). Results, the manual template,
the gradebook and the summary are written once every kernel has finished.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from digitlab import _validation as check
from digitlab import editions, settings
from digitlab.grading import capture, isolation, judge, marks, report, restore, runner, sandbox
from digitlab.grading.runner import Run


def mark_submission(
    student: marks.Student,
    source,
    tests: dict,
    *,
    seed: int,
    cell_timeout: float,
    notebook_timeout: float,
    isolate: str = "process",
    image: str = "",
    call_timeout: float = 60,
) -> Run:
    """Run one student's submission and judge each exercise; the verdicts are in ``run.verdicts``."""
    run = Run(student.submission, student.name or student.id, student_id=student.id)
    start = time.monotonic()
    nonce = secrets.token_hex(16)
    _, slots = restore.restore(source, {"cells": []}, nonce)  # the exercises, for a missing notebook
    nb = runner.read_notebook(student.submission, run) if student.submission.is_file() else None
    if nb is None:
        if run.status == "ok":
            run.status, run.detail = "missing", f"no file {student.submission.name!r}"
        run.verdicts = [judge.Verdict(s.exercise, "not run", 0.0, report.not_run_reason(run)) for s in slots]
        return run
    restored, slots = restore.restore(source, nb, nonce)
    with isolation.Workspace() as ws:
        path = ws.work / "submission.ipynb"
        runner.write_notebook(restored, path)
        sandbox_command = None
        if isolate == "container":
            engine = isolation.container_runtime()
            command = isolation.container_command(engine, image, ws, path.name, cell_timeout)
            restored = runner.execute_in_container(command, ws.work, run, notebook_timeout) or restored
            sandbox_command = isolation.container_sandbox(engine, image, ws)
        else:
            runner.execute(
                restored, ws.work, ws.env(), run, cell_timeout, notebook_timeout, ws.root / "stderr"
            )
        run.verdicts = [
            _judge_slot(slot, restored, tests, seed, ws, call_timeout, nonce, sandbox_command)
            for slot in slots
        ]
    run.seconds = round(time.monotonic() - start, 2)
    return run


def _judge_slot(
    slot: restore.Slot,
    nb,
    tests: dict,
    seed: int,
    ws: isolation.Workspace,
    timeout: float,
    nonce: str,
    command: list[str] | None = None,
) -> judge.Verdict:
    outputs = nb.cells[slot.capture_index].get("outputs", [])
    value, error = capture.read_outputs(outputs, nonce, slot.exercise)
    if error and not outputs and not nb.cells[slot.capture_index].get("execution_count"):
        error = "the notebook stopped before this exercise."
    folder = ws.root / f"sandbox-{slot.capture_index}"

    def run_function(calls: list) -> list:
        folder.mkdir(exist_ok=True)
        return sandbox.call(
            restore.imports_before(nb, slot.answer_index, slot.answer_source),
            slot.answer_source,
            slot.expression,
            calls,
            env=ws.env(),
            cwd=folder,
            timeout=timeout,
            command=command,
        )

    verdict = judge.judge(slot.exercise, value, error, tests, seed, run_function)
    if not slot.found and verdict.status == "unanswered":
        verdict.message = (
            "the submission has no answer cell for this exercise (its cell id is not the chapter's)."
        )
    return verdict


def grade_class(
    source: str | os.PathLike,
    roster: str | os.PathLike,
    out: str | os.PathLike,
    *,
    hidden: str | os.PathLike | None = None,
    points: str | os.PathLike | None = None,
    manual: str | os.PathLike | None = None,
    gradebook: str | os.PathLike | None = None,
    fmt: str = "canvas",
    assignment: str = "",
    merge: list[str] | None = None,
    workers: int = 1,
    isolate: str = "process",
    image: str = "digitlab-grader",
    seed: int | None = None,
    cell_timeout: float = 120,
    notebook_timeout: float = 600,
    call_timeout: float = 60,
    on_progress: Callable[[str], None] | None = None,
) -> list[Run]:
    """Grade the roster's submissions of chapter ``source``; write results, summary and gradebook.

    ``call_timeout`` limits each sandboxed call of a student's functions (all hidden inputs at once).
    """
    runner.check_timeouts(cell_timeout, notebook_timeout)
    check.positive("call_timeout", call_timeout)
    out = Path(out)
    if out.suffix.lower() != ".csv":
        raise ValueError(f"out must be a .csv file, got {str(out)!r}")
    if isolate not in isolation.ISOLATION:
        raise ValueError(f"isolate must be one of {isolation.ISOLATION}, got {isolate!r}")
    if isolate == "container":
        isolation.container_runtime()
    check.positive_int("workers", workers)
    if fmt not in marks.FORMATS:
        raise ValueError(f"format must be one of {marks.FORMATS}, got {fmt!r}")
    if not Path(source).is_file():
        raise ValueError(f"source must be the chapter notebook the class was given, got {str(source)!r}")
    chapter = editions.read(source)
    students = marks.read_roster(roster)
    scheme = marks.read_scheme(points)
    tests = judge.load_hidden(hidden)
    todo = _selected(students, merge, out)
    seed = secrets.randbits(32) if seed is None else seed
    start = time.monotonic()

    def one(student: marks.Student) -> Run:
        run = mark_submission(
            student,
            chapter,
            tests,
            seed=seed,
            cell_timeout=cell_timeout,
            notebook_timeout=notebook_timeout,
            isolate=isolate,
            image=image,
            call_timeout=call_timeout,
        )
        if on_progress:
            on_progress(f"{student.id} ({student.name}): {run.status} in {run.seconds:.1f} s")
        return run

    with quick_mode(), ThreadPoolExecutor(max_workers=workers) as pool:
        runs = list(pool.map(one, todo))
    rows = _rows(runs, scheme)
    if merge:
        graded = {run.student_id for run in runs}
        rows = [r for r in report.read_rows(out) if r["id"] not in graded] + rows
    order = {s.id: i for i, s in enumerate(students)}
    rows.sort(key=lambda r: order.get(r["id"], len(order)))
    report.write_rows(out, report.MARK_COLUMNS, rows)
    totals = write_gradebook(
        roster,
        out,
        points=points,
        manual=manual,
        gradebook=gradebook,
        fmt=fmt,
        assignment=assignment or Path(source).stem,
    )
    report.write_text(
        out.with_suffix(".md"), report.marks_markdown(rows, totals, runs, time.monotonic() - start, seed)
    )
    return runs


@contextlib.contextmanager
def quick_mode() -> Iterator[None]:
    """Judge in quick mode, like the kernels ran: a public check then sees the same data subset."""
    saved = os.environ.get(settings.QUICK)
    os.environ[settings.QUICK] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(settings.QUICK, None)
        else:
            os.environ[settings.QUICK] = saved


def write_gradebook(
    roster: str | os.PathLike,
    results: str | os.PathLike,
    *,
    points=None,
    manual=None,
    gradebook=None,
    fmt: str = "canvas",
    assignment: str = "",
) -> dict[str, dict]:
    """Totals from the results file and the manual column; writes the gradebook when asked.

    The manual CSV (default: RESULTS-manual.csv) is created with empty cells when it does not exist.
    """
    results = Path(results)
    if not results.is_file():
        raise ValueError(f"results must be the class file that grading wrote, got {str(results)!r}")
    students, scheme = marks.read_roster(roster), marks.read_scheme(points)
    manual_path = Path(manual) if manual else results.with_name(results.stem + "-manual.csv")
    totals = marks.totals(report.read_rows(results), marks.read_manual(manual_path, students, scheme), scheme)
    if gradebook:
        header, rows = marks.gradebook_rows(students, totals, fmt, assignment)
        marks.write_csv(gradebook, header, rows)
    return totals


def _selected(students: list[marks.Student], merge: list[str] | None, out: Path) -> list[marks.Student]:
    if not merge:
        return students
    unknown = sorted(set(merge) - {s.id for s in students})
    if unknown:
        raise ValueError(f"merge: id(s) {unknown} are not in the roster")
    if not out.exists():
        raise ValueError(f"merge: there is no class file {str(out)!r} to merge into; grade the class first")
    return [s for s in students if s.id in merge]


def _rows(runs: list[Run], scheme: marks.Scheme) -> list[dict]:
    rows = []
    for run in runs:
        for v in run.verdicts:
            if v.exercise in scheme.manual:  # graded by hand, in the manual column
                continue
            worth = scheme.of(v.exercise)
            rows.append(
                {
                    "id": run.student_id,
                    "name": run.student,
                    "submission": run.submission.name,
                    "exercise": v.exercise,
                    "status": v.status,
                    "points": f"{round(v.score * worth, 2):g}",
                    "max_points": f"{worth:g}",
                    "parts": v.parts,
                    "message": v.message,
                    "run_status": run.status,
                    "run_detail": run.detail,
                    "seconds": run.seconds,
                }
            )
    return rows
