"""Marks for a class: restore, run in isolation, capture, judge outside, then points and gradebook.

Every input is read once first (``inputs``). For each roster entry: the submission's answer cells go
into the source chapter (every other cell is the source's), the result runs jailed (``jail``: its own
user and namespaces, by default), a capture cell after each answer sends the answer out as data,
and the grader judges it in its own process with the hidden tests (function answers are called in a
jailed sandbox too). Each result is journalled as it finishes; the inputs are checked again, then
results, the manual template, the gradebook and the summary are written.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from digitlab import _validation as check
from digitlab.grading import (
    capture,
    confine,
    isolation,
    jail,
    judge,
    marks,
    report,
    restore,
    results,
    runner,
    sandbox,
)
from digitlab.grading.inputs import Inputs, Journal, check_scheme, read_source, submissions
from digitlab.grading.results import quick_mode, selected, write_all, write_gradebook
from digitlab.grading.runner import Run

__all__ = ["grade_class", "mark_submission", "quick_mode", "write_gradebook"]


def mark_submission(
    student: marks.Student,
    source,
    tests: dict,
    data: bytes | None = None,
    *,
    seed: int,
    cell_timeout: float,
    notebook_timeout: float,
    isolate: str = "namespace",
    image: str = "",
    call_timeout: float = 60,
) -> Run:
    """Run one student's submission (``data``: its bytes, None if nothing was handed in) and judge it.

    The verdicts are in ``run.verdicts``.
    """
    run = Run(student.submission, student.name or student.id, student_id=student.id)
    start = time.monotonic()
    nonce = secrets.token_hex(16)
    _, slots = restore.restore(source, {"cells": []}, nonce)  # the exercises, for a missing notebook
    nb = runner.parse_notebook(data, run) if data is not None else None
    if nb is None:
        if run.status == "ok":
            run.status, run.detail = "missing", "nothing was handed in"
        run.verdicts = [judge.Verdict(s.exercise, "not run", 0.0, report.not_run_reason(run)) for s in slots]
        return run
    restored, slots = restore.restore(source, nb, nonce)
    with isolation.Workspace() as ws:
        path = ws.work / "submission.ipynb"
        runner.write_notebook(restored, path)
        sandbox_command = None
        if isolate == "namespace":
            confine.run_notebook(ws, restored, run, cell_timeout, notebook_timeout)
        elif isolate == "container":
            engine = isolation.container_runtime()
            command = isolation.container_command(engine, image, ws, path.name, cell_timeout)
            executed = runner.execute_in_container(command, ws.work, run, notebook_timeout)
            if executed is not None and len(executed.cells) == len(restored.cells):
                confine.copy_outputs(executed.cells, restored)  # the sources stay the grader's
            elif executed is not None:
                run.status, run.detail = "kernel died", "the container's notebook is not the one it was given"
            sandbox_command = isolation.container_sandbox(engine, image, ws)
        else:
            runner.execute(
                restored, ws.work, ws.env(), run, cell_timeout, notebook_timeout, ws.root / "stderr"
            )
        run.verdicts = [
            _judge_slot(slot, restored, tests, seed, ws, call_timeout, nonce, sandbox_command, isolate)
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
    isolate: str = "namespace",
) -> judge.Verdict:
    outputs = nb.cells[slot.capture_index].get("outputs", [])
    value, error = capture.read_outputs(outputs, nonce, slot.exercise)
    if error and not outputs and not nb.cells[slot.capture_index].get("execution_count"):
        error = "the notebook stopped before this exercise."
    folder = ws.root / f"sandbox-{slot.capture_index}"

    def run_function(calls: list) -> list:
        env, jailed = ws.env(), command
        for sub in ("home/tmp", "work"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        if isolate == "namespace":  # a fresh home and folder; the data copy read-only
            ws.give_away(folder)
            env, inside = ws.jail_env(), confine.INSIDE
            mounts = [
                (str(folder / "work"), f"{inside}/work", True),
                (str(folder / "home"), f"{inside}/home", True),
            ]
            mounts.append((str(ws.digitlab), f"{inside}/digitlab", False))
            jailed = jail.command(
                mounts, confine.PYTHON + ["digitlab.grading.sandbox"], f"{inside}/work", int(timeout) + 30
            )
        return sandbox.call(
            restore.imports_before(nb, slot.answer_index, slot.answer_source),
            slot.answer_source,
            slot.expression,
            calls,
            env=env,
            cwd=folder,
            timeout=timeout,
            command=jailed,
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
    isolate: str = "namespace",
    unprotected: bool = False,
    image: str = "digitlab-grader",
    seed: int | None = None,
    cell_timeout: float = 120,
    notebook_timeout: float = 600,
    call_timeout: float = 60,
    on_progress: Callable[[str], None] | None = None,
) -> list[Run]:
    """Grade the roster's submissions of chapter ``source``; write results, summary and gradebook.

    ``isolate``: "namespace" (default: ``jail``), "container", or "process", which protects nothing
    and runs only with ``unprotected=True`` (every output then says so). ``call_timeout`` limits
    each sandboxed call of a student's functions (all hidden inputs at once).
    """
    runner.check_timeouts(cell_timeout, notebook_timeout)
    check.positive("call_timeout", call_timeout)
    out = Path(out)
    if out.suffix.lower() != ".csv":
        raise ValueError(f"out must be a .csv file, got {str(out)!r}")
    label = _isolation(isolate, unprotected)
    check.positive_int("workers", workers)
    if fmt not in marks.FORMATS:
        raise ValueError(f"format must be one of {marks.FORMATS}, got {fmt!r}")
    inputs = Inputs()
    chapter = read_source(source, inputs)
    students = marks.read_roster(roster, inputs.text(roster))
    scheme = marks.read_scheme(points, inputs.text(points) if points else None)
    check_scheme(scheme, [s.exercise for s in restore.restore(chapter, {"cells": []}, "n")[1]], points)
    tests = judge.load_hidden(hidden, inputs)
    manual_path = Path(manual) if manual else out.with_name(out.stem + "-manual.csv")
    manual_text = inputs.text(manual_path)
    todo = selected(students, merge, out)
    kept = report.read_rows_text(inputs.text(out)) if merge else []
    handed_in = submissions(todo, Path(roster).parent)
    journal = Journal(out, inputs.digest(), seed)
    seed = journal.seed if journal.seed is not None else secrets.randbits(32)
    journal.start(seed)
    start = time.monotonic()
    if label == results.UNPROTECTED and on_progress:
        on_progress(f"WARNING: {label}; these marks are not protected.")

    def one(student: marks.Student) -> Run:
        data = handed_in[student.id]
        digest = hashlib.sha256(data).hexdigest() if data is not None else "none"
        done = journal.finished(student.id, digest)
        if done is not None:
            run = results.from_entry(student, done)
        else:
            run = mark_submission(
                student, chapter, tests, data, seed=seed, cell_timeout=cell_timeout,
                notebook_timeout=notebook_timeout, isolate=isolate, image=image, call_timeout=call_timeout,
            )  # fmt: skip
            journal.record(student.id, digest, results.entry(run))
        if on_progress:
            kept_note = " (kept from the journal)" if done is not None else ""
            on_progress(
                report.printable(
                    f"{student.id} ({student.name}): {run.status} in {run.seconds:.1f} s{kept_note}"
                )
            )
        return run

    with quick_mode(), ThreadPoolExecutor(max_workers=workers) as pool:
        runs = list(pool.map(one, todo))
    inputs.verify()
    rows = results.rows(runs, scheme, label)
    if merge:
        graded = {run.student_id for run in runs}
        rows = [r for r in kept if r["id"] not in graded] + rows
    write_all(
        out, rows, runs, students, scheme, (manual_path, manual_text),
        (time.monotonic() - start, seed, label), (gradebook, fmt, assignment or Path(source).stem),
    )  # fmt: skip
    journal.close()
    return runs


def _isolation(isolate: str, unprotected: bool) -> str:
    """The isolation's label for the outputs, or ``ValueError`` when marks would run unprotected."""
    if isolate not in isolation.ISOLATION:
        raise ValueError(f"isolate must be one of {isolation.ISOLATION}, got {isolate!r}")
    if isolate == "process":
        if not unprotected:
            raise ValueError(
                "isolate='process' runs student code as the grader's own user, with the answer key in "
                "reach; for marks pass --unprotected (unprotected=True) to accept that"
            )
        return results.UNPROTECTED
    if isolate == "container":
        isolation.container_runtime()
    elif why := jail.unavailable():
        raise ValueError(
            f"marks run each submission in its own namespaces as uid 65534, and that is unavailable here: "
            f"{why}. Grade as root on Linux (a Linux container or VM on macOS), use --isolate container, "
            "or pass --unprotected to grade without protection"
        )
    return isolate
