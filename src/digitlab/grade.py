"""The autograder: run each submitted notebook in a fresh kernel and collect its exercise checks.

Each submission is copied alone into a new temporary folder and run there in quick mode, so a
notebook that deletes files only deletes its own copy. Every ``check`` in the kernel appends a JSON
line to a grade log kept outside that folder (``DIGITLAB_GRADE_LOG``). Cells run with errors
allowed, so one failing cell does not hide later checks; a cell that exceeds the per-cell limit is
interrupted and the run goes on; at the per-notebook limit the kernel is killed and the remaining
exercises are "not run". The report is one CSV row per student and exercise plus a Markdown summary.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from digitlab import editions

NOT_RUN = "not run"
STATUSES = ("correct", "wrong", "unanswered", "error", NOT_RUN)
MARK = {"correct": "✅", "wrong": "❌", "error": "💥", "unanswered": "✏️", NOT_RUN: "—"}
COLUMNS = ("student", "submission", "exercise", "status", "passed", "message", "hints",
           "solution_viewed", "run_status", "run_detail", "seconds")


@dataclass
class Run:
    """What happened when one submission ran: a run status, a detail, timing and the logged events."""

    submission: Path
    student: str
    status: str = "ok"  # ok | cell errors | cell timeout | notebook timeout | kernel died | invalid notebook
    detail: str = ""
    seconds: float = 0.0
    events: list[dict] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)


# --- finding submissions and students -------------------------------------------------------------
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
    """A unique student name per submission: the ``student`` metadata field, else the file name.

    When file names repeat (``alice/ch00.ipynb``, ``bob/ch00.ipynb``) the folder name is used.
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


# --- running one submission -----------------------------------------------------------------------
def run_submission(path: str | os.PathLike, student: str = "", *, cell_timeout: int = 120,
                   notebook_timeout: int = 600) -> Run:
    """Run one notebook in a temporary copy with a fresh kernel and return what its checks logged."""
    _check_timeouts(cell_timeout, notebook_timeout)
    path = Path(path)
    run = Run(path, student or path.stem)
    start = time.monotonic()
    try:
        nb = editions.read(path)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("it has no list of cells")
    except Exception as e:  # anything unreadable: JSON, nbformat or encoding errors
        run.status, run.detail = "invalid notebook", f"could not read it ({type(e).__name__}: {_first_line(e)})"
        return run
    run.expected = expected_exercises(nb)
    if _mentions_grade_log(nb):
        run.detail = "the notebook mentions DIGITLAB_GRADE_LOG: review it by hand. "
    workdir = Path(tempfile.mkdtemp(prefix="digitlab-grade-run-"))
    logdir = Path(tempfile.mkdtemp(prefix="digitlab-grade-log-"))
    try:
        log = logdir / "checks.jsonl"
        _execute(nb, workdir / path.name, _kernel_env(log), run, cell_timeout, notebook_timeout)
        run.events = read_log(log)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(logdir, ignore_errors=True)
        run.seconds = round(time.monotonic() - start, 2)
    return run


def _check_timeouts(cell_timeout: int, notebook_timeout: int) -> None:
    for name, value in (("cell_timeout", cell_timeout), ("notebook_timeout", notebook_timeout)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")


def _kernel_env(log: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DIGITLAB_STRICT_EXERCISES", None)  # a wrong answer must be reported, not raised
    env.update(DIGITLAB_QUICK="1", DIGITLAB_GRADE_LOG=str(log), MPLBACKEND="Agg",
               TF_CPP_MIN_LOG_LEVEL=env.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    return env


def _execute(nb, copy: Path, env: dict, run: Run, cell_timeout: int, notebook_timeout: int) -> None:
    """Execute ``nb`` cell by cell next to ``copy`` until it ends or the notebook limit passes.

    A cell over its limit is interrupted and recorded as an error, and the run goes on. At the
    notebook limit a watchdog kills the kernel, whatever the cell is doing.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    copy.write_text(json.dumps(nb), encoding="utf-8")  # the notebook's own copy, free to touch
    client = NotebookClient(
        nb, timeout=cell_timeout, allow_errors=True, interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": "the cell ran over its time limit",
                          "traceback": []},
        kernel_name="python3", resources={"metadata": {"path": str(copy.parent)}})
    deadline = time.monotonic() + notebook_timeout
    errors, timeouts, fired = [], [], threading.Event()
    stderr = open(env["DIGITLAB_GRADE_LOG"] + ".stderr", "wb")  # the kernel's own messages
    try:
        with client.setup_kernel(env=env, stderr=stderr), _watchdog(client, notebook_timeout, fired):
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
                errors += [f"cell {index} raised {o.get('ename', 'an error')}"
                           for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    except DeadKernelError:
        run.status = "kernel died"
    except Exception as e:  # the kernel failed to start or stopped answering
        run.status = "kernel died"
        run.detail += f"{type(e).__name__}: {_first_line(e)}. "
    finally:
        stderr.close()
    if time.monotonic() >= deadline or fired.is_set():
        run.status = "notebook timeout"
    elif run.status == "kernel died":
        run.detail += "the kernel stopped (the code crashed Python or ran out of memory). "
        run.detail += _last_line(env["DIGITLAB_GRADE_LOG"] + ".stderr")
    _summarise(run, errors, timeouts, cell_timeout, notebook_timeout)


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


def _last_line(path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        lines = [line for line in text.splitlines() if line.strip() and "WARNING" not in line]
    except OSError:
        return ""
    return f"The kernel's last words: {lines[-1][:200]}" if lines else ""


def _summarise(run: Run, errors: list[str], timeouts: list[int], cell_timeout: int,
               notebook_timeout: int) -> None:
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


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else ""


def _mentions_grade_log(nb) -> bool:
    return any("GRADE_LOG" in editions.source(c) or "core._log" in editions.source(c)
               for c in nb.cells if c.get("cell_type") == "code")


def expected_exercises(nb) -> list[str]:
    """The exercises a notebook should answer: all of each chapter module it checks exercises with."""
    names = []
    for module in editions.modules_used(nb):
        names += [info["name"] for info in editions.catalog_of(module).values()]
    return names


def read_log(path: str | os.PathLike) -> list[dict]:
    """The events in a grade log, skipping lines that are not well-formed records."""
    path = Path(path)
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("exercise"), str):
            record.setdefault("event", "check")
            if record["event"] != "check" or record.get("status") in STATUSES:
                events.append(record)
    return events


# --- rows and reports -----------------------------------------------------------------------------
def rows_of(run: Run, exercises: list[str]) -> list[dict]:
    """One row per exercise for this run: the last check's status, hints asked, solution viewed."""
    rows = []
    for name in exercises or [""]:  # a batch with no known exercise still lists every student
        mine = [e for e in run.events if e["exercise"] == name]
        checks = [e for e in mine if e["event"] == "check"]
        last = checks[-1] if checks else {"status": NOT_RUN, "message": _not_run_reason(run)}
        rows.append({
            "student": run.student, "submission": run.submission.name, "exercise": name,
            "status": last["status"], "passed": int(last["status"] == "correct"),
            "message": str(last.get("message", "")), "hints": sum(e["event"] == "hint" for e in mine),
            "solution_viewed": int(any(e["event"] == "solution" for e in mine)),
            "run_status": run.status, "run_detail": run.detail, "seconds": run.seconds,
        })
    return rows


def _not_run_reason(run: Run) -> str:
    if run.status == "invalid notebook":
        return "the notebook could not be read."
    if run.status in ("notebook timeout", "kernel died"):
        return f"the check never ran ({run.status})."
    return "the notebook has no check for this exercise, or its cell did not run."


def write_csv(rows: list[dict], path: str | os.PathLike) -> None:
    """Write the rows to ``path`` as CSV, atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes it private; a report is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def summary_markdown(runs: list[Run], rows: list[dict], exercises: list[str], seconds: float,
                     cell_timeout: int, notebook_timeout: int) -> str:
    """The Markdown summary: pass rate per exercise, a student-by-exercise table, runs that failed."""
    lines = ["# Grading report", "",
             f"{len(runs)} submission(s), {len(exercises)} exercise(s), graded in {seconds:.1f} s "
             f"(limits: {cell_timeout} s per cell, {notebook_timeout} s per notebook; quick mode).", "",
             "## Class pass rate per exercise", "", "| exercise | passed | pass rate |", "|---|---|---|"]
    for name in exercises:
        passed = sum(r["passed"] for r in rows if r["exercise"] == name)
        lines.append(f"| `{name}` | {passed}/{len(runs)} | {passed / max(len(runs), 1):.0%} |")
    short = [name.split(".", 1)[-1] for name in exercises]
    lines += ["", "## Students", "", "| student | " + " | ".join(short) + " | passed | run |",
              "|---" * (len(exercises) + 3) + "|"]
    for run in runs:
        mine = {r["exercise"]: r for r in rows if r["student"] == run.student}
        marks = [MARK[mine[name]["status"]] for name in exercises]
        total = sum(mine[name]["passed"] for name in exercises)
        lines.append(f"| {_cell(run.student)} | " + " | ".join(marks) + f" | {total}/{len(exercises)} | {run.status} |")
    lines += ["", "Marks: " + ", ".join(f"{mark} {status}" for status, mark in MARK.items()) + "."]
    troubled = [run for run in runs if run.status != "ok" or run.detail]
    if troubled:
        lines += ["", "## Notebooks that did not run cleanly", ""]
        lines += [f"- **{_cell(r.student)}** (`{r.submission.name}`): {r.status}. {_cell(r.detail)}".rstrip()
                  for r in troubled]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# --- the batch ------------------------------------------------------------------------------------
def grade(submissions: Iterable[str | os.PathLike], out: str | os.PathLike, *,
          summary: str | os.PathLike | None = None, cell_timeout: int = 120,
          notebook_timeout: int = 600, progress: Callable[[str], None] | None = None) -> list[Run]:
    """Grade every submission; write the CSV to ``out`` and the Markdown summary next to it.

    The reports are rewritten (atomically) after each notebook, so an interrupted batch keeps what
    was graded so far.
    """
    _check_timeouts(cell_timeout, notebook_timeout)
    out = Path(out)
    if out.suffix.lower() != ".csv":
        raise ValueError(f"out must be a .csv file, got {str(out)!r}")
    summary = Path(summary) if summary is not None else out.with_suffix(".md")
    paths = find_submissions(submissions)
    names = student_names(paths)
    runs: list[Run] = []
    start = time.monotonic()
    for number, path in enumerate(paths, start=1):
        run = run_submission(path, names[path], cell_timeout=cell_timeout, notebook_timeout=notebook_timeout)
        runs.append(run)
        if progress:
            progress(f"[{number}/{len(paths)}] {run.student}: {run.status} in {run.seconds:.1f} s")
        exercises = _all_exercises(runs)
        rows = [row for r in runs for row in rows_of(r, exercises)]
        write_csv(rows, out)
        write_text(summary, summary_markdown(runs, rows, exercises, time.monotonic() - start,
                                             cell_timeout, notebook_timeout))
    return runs


def _all_exercises(runs: list[Run]) -> list[str]:
    """Every exercise any submission should answer or did check, in first-seen order."""
    names = [name for run in runs for name in run.expected]
    names += [e["exercise"] for run in runs for e in run.events]
    return list(dict.fromkeys(names))
