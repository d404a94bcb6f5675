"""From runs to what grading writes: result rows, journal entries, totals and the gradebook."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from digitlab import settings
from digitlab.grading import judge, marks, report
from digitlab.grading.runner import Run

UNPROTECTED = "UNPROTECTED (isolate=process: student code ran as the grader's user)"


def rows(runs: list[Run], scheme: marks.Scheme, isolation: str) -> list[dict]:
    """One results row per student and automatically graded exercise."""
    out = []
    for run in runs:
        for v in run.verdicts:
            if v.exercise in scheme.manual:  # graded by hand, in the manual column
                continue
            worth = scheme.of(v.exercise)
            out.append(
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
                    "isolation": isolation,
                }
            )
    return out


def entry(run: Run) -> dict:
    """A finished run as a journal entry (JSON)."""
    verdicts = [vars(v) for v in run.verdicts]
    return {
        "run": {k: getattr(run, k) for k in ("student", "status", "detail", "seconds")},
        "verdicts": verdicts,
    }


def from_entry(student: marks.Student, data: dict) -> Run:
    """The run a journal entry holds, or ``ValueError`` when it is malformed."""
    try:
        fields = data["run"]
        run = Run(student.submission, str(fields["student"]), str(fields["status"]), str(fields["detail"]))
        run.seconds, run.student_id = float(fields["seconds"]), student.id
        run.verdicts = [judge.Verdict(**v) for v in data["verdicts"]]
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"a malformed journal entry ({type(e).__name__})") from None
    return run


def write_all(
    out: Path,
    rows: list[dict],
    runs: list[Run],
    students: list[marks.Student],
    scheme: marks.Scheme,
    manual: tuple[Path, str],
    summary: tuple[float, int, str],
    gradebook: tuple[str | None, str, str],
) -> None:
    """Write the results, the manual template (if none), the gradebook (if asked) and the summary."""
    order = {s.id: i for i, s in enumerate(students)}
    rows.sort(key=lambda r: order.get(r["id"], len(order)))
    report.write_rows(out, report.MARK_COLUMNS, rows)
    totals = marks.totals(rows, marks.read_manual(manual[0], students, scheme, manual[1]), scheme)
    path, fmt, assignment = gradebook
    if path:
        header, book = marks.gradebook_rows(students, totals, fmt, assignment)
        marks.write_csv(path, header, book)
    seconds, seed, isolation = summary
    text = report.marks_markdown(rows, totals, runs, seconds, seed)
    if isolation == UNPROTECTED:
        text = text.replace("# Marks\n", f"# Marks\n\n**{UNPROTECTED}: these marks are not protected.**\n", 1)
    report.write_text(out.with_suffix(".md"), text)


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


def selected(students: list[marks.Student], merge: list[str] | None, out: Path) -> list[marks.Student]:
    if not merge:
        return students
    unknown = sorted(set(merge) - {s.id for s in students})
    if unknown:
        raise ValueError(f"merge: id(s) {unknown} are not in the roster")
    if not out.exists():
        raise ValueError(f"merge: there is no class file {str(out)!r} to merge into; grade the class first")
    return [s for s in students if s.id in merge]
