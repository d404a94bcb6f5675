"""Reports: the feedback CSV and summary (self-reported checks) and the marks CSV and summary."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from digitlab import _io
from digitlab.grading.runner import Run

NOT_RUN = "not run"
STATUSES = ("correct", "wrong", "unanswered", "error", NOT_RUN)
MARK = {
    "correct": "✅",
    "wrong": "❌",
    "error": "💥",
    "unanswered": "✏️",
    NOT_RUN: "—",
    "partial": "◐",
    "manual": "✍️",
}
COLUMNS = (
    "student",
    "submission",
    "exercise",
    "status",
    "passed",
    "message",
    "hints",
    "solution_viewed",
    "run_status",
    "run_detail",
    "seconds",
)
MARK_COLUMNS = (
    "id",
    "name",
    "submission",
    "exercise",
    "status",
    "points",
    "max_points",
    "parts",
    "message",
    "run_status",
    "run_detail",
    "seconds",
    "isolation",
)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    _io.write_text(path, text)


FORMULA = ("=", "+", "-", "@", "\t", "\r")


def neutral(value):
    """A CSV cell a spreadsheet will not run: text starting ``= + - @``, tab or CR gets a leading ``'``."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA) else value


def printable(text) -> str:
    """``text`` for a terminal: control characters (escape sequences, carriage returns) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def write_rows(path: str | os.PathLike, columns: tuple, rows: list[dict]) -> None:
    """Write ``rows`` under ``columns`` as CSV, atomically; every cell passes through ``neutral``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writerow({c: neutral(c) for c in columns})
    writer.writerows({k: neutral(v) for k, v in row.items()} for row in rows)
    write_text(path, buffer.getvalue())


def write_csv(rows: list[dict], path: str | os.PathLike) -> None:
    """Write the feedback rows to ``path`` as CSV, atomically."""
    write_rows(path, COLUMNS, rows)


def read_rows(path: str | os.PathLike) -> list[dict]:
    """The rows of a CSV file written by this module (empty when it does not exist)."""
    path = Path(path)
    return read_rows_text(path.read_text(encoding="utf-8")) if path.exists() else []


def read_rows_text(text: str) -> list[dict]:
    """The rows of CSV text written by this module."""
    with io.StringIO(text, newline="") as f:
        return list(csv.DictReader(f))


# --- feedback mode: what the students' own checks logged ------------------------------------------
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


def rows_of(run: Run, exercises: list[str]) -> list[dict]:
    """One row per exercise for this run: the last check's status, hints asked, solution viewed."""
    rows = []
    for name in exercises or [""]:  # a batch with no known exercise still lists every student
        mine = [e for e in run.events if e["exercise"] == name]
        checks = [e for e in mine if e["event"] == "check"]
        last = checks[-1] if checks else {"status": NOT_RUN, "message": not_run_reason(run)}
        rows.append(
            {
                "student": run.student,
                "submission": run.submission.name,
                "exercise": name,
                "status": last["status"],
                "passed": int(last["status"] == "correct"),
                "message": str(last.get("message", "")),
                "hints": sum(e["event"] == "hint" for e in mine),
                "solution_viewed": int(any(e["event"] == "solution" for e in mine)),
                "run_status": run.status,
                "run_detail": run.detail,
                "seconds": run.seconds,
            }
        )
    return rows


def not_run_reason(run: Run) -> str:
    """Why an exercise has no result."""
    if run.status == "invalid notebook":
        return "the notebook could not be read."
    if run.status == "missing":
        return "no submission."
    if run.status in ("notebook timeout", "kernel died"):
        return f"the check never ran ({run.status})."
    return "the notebook has no check for this exercise, or its cell did not run."


def summary_markdown(
    runs: list[Run],
    rows: list[dict],
    exercises: list[str],
    seconds: float,
    cell_timeout: float,
    notebook_timeout: float,
) -> str:
    """The feedback summary: pass rate per exercise, a student-by-exercise table, runs that failed."""
    lines = [
        "# Grading report (feedback: the students' own checks, not marks)",
        "",
        f"{len(runs)} submission(s), {len(exercises)} exercise(s), graded in {seconds:.1f} s "
        f"(limits: {cell_timeout} s per cell, {notebook_timeout} s per notebook; quick mode).",
        "",
        "## Class pass rate per exercise",
        "",
        "| exercise | passed | pass rate |",
        "|---|---|---|",
    ]
    for name in exercises:
        passed = sum(r["passed"] for r in rows if r["exercise"] == name)
        lines.append(f"| `{name}` | {passed}/{len(runs)} | {passed / max(len(runs), 1):.0%} |")
    short = [name.split(".", 1)[-1] for name in exercises]
    lines += [
        "",
        "## Students",
        "",
        "| student | " + " | ".join(short) + " | passed | run |",
        "|---" * (len(exercises) + 3) + "|",
    ]
    for run in runs:
        mine = {r["exercise"]: r for r in rows if r["student"] == run.student}
        marks = [MARK[mine[name]["status"]] for name in exercises]
        total = sum(mine[name]["passed"] for name in exercises)
        lines.append(
            f"| {cell(run.student)} | " + " | ".join(marks) + f" | {total}/{len(exercises)} | {run.status} |"
        )
    lines += ["", "Marks: " + ", ".join(f"{MARK[s]} {s}" for s in STATUSES) + "."]
    return "\n".join(lines + troubled(runs)) + "\n"


def troubled(runs: list[Run]) -> list[str]:
    """Markdown lines listing the runs that did not end cleanly."""
    bad = [run for run in runs if run.status != "ok" or run.detail]
    if not bad:
        return []
    return ["", "## Notebooks that did not run cleanly", ""] + [
        f"- **{cell(r.student)}** (`{r.submission.name}`): {r.status}. {cell(r.detail)}".rstrip() for r in bad
    ]


def marks_markdown(
    rows: list[dict], totals: dict[str, dict], runs: list[Run], seconds: float, seed: int | None = None
) -> str:
    """The marks summary: mean points per exercise and each student's total."""
    exercises = list(dict.fromkeys(r["exercise"] for r in rows))
    again = (
        f" The hidden tests' seed was {seed} (`--seed {seed}` repeats their inputs)."
        if seed is not None
        else ""
    )
    lines = [
        "# Marks",
        "",
        f"{len(totals)} student(s), {len(exercises)} exercise(s); this run graded "
        f"{len(runs)} submission(s) in {seconds:.1f} s.{again}",
        "",
        "| exercise | mean points | max | correct |",
        "|---|---|---|---|",
    ]
    for name in exercises:
        mine = [r for r in rows if r["exercise"] == name]
        mean = sum(float(r["points"]) for r in mine) / max(len(mine), 1)
        correct = sum(r["status"] == "correct" for r in mine)
        lines.append(f"| `{name}` | {mean:.2f} | {mine[0]['max_points']} | {correct}/{len(mine)} |")
    lines += ["", "| id | name | automatic | manual | total | max |", "|---|---|---|---|---|---|"]
    for sid, t in totals.items():
        lines.append(
            f"| {cell(sid)} | {cell(t['name'])} | {t['auto']:g} | {t['manual']:g} | {t['total']:g} | {t['max']:g} |"
        )
    return "\n".join(lines + troubled(runs)) + "\n"


def cell(text: str) -> str:
    """Text made safe for a Markdown table cell (and a terminal)."""
    return printable(str(text).replace("|", "\\|").replace("\n", " "))
