"""Points, the roster, the manual column and the gradebook: from verdicts to marks.

Points per exercise default to the exercise's level (warm-up 1, core 2, stretch 3); a small TOML
file overrides them (``[points]``) and declares questions graded by hand (``[manual]``, with their
maximum). The roster CSV (``id,name,submission``, optionally ``email``, ``section``, ``login``,
``canvas_id``) decides who is who. The manual CSV holds the instructor's points for the "why"
questions; the totals include them. The gradebook is written in the columns Canvas or Moodle import.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

LEVELS = {
    "ch00.sevens": "warm-up",
    "ch00.pixel_std": "warm-up",
    "ch00.average_three": "warm-up",
    "ch01.and_gate": "warm-up",
    "ch01.silu_derivative": "core",
    "ch01.critical_lr": "stretch",
    "ch01.stable_softmax": "core",
    "ch02.relu_backward": "core",
    "ch02.planted_bug": "stretch",
    "ch02.deeper_mlp": "core",
    "ch02.early_stop": "core",
    "ch03.one_hot": "warm-up",
    "ch03.stack_shape": "core",
    "ch03.wider_adam": "core",
    "ch03.strided": "stretch",
    "ch03.best_epochs": "warm-up",
    "ch04.in_features": "warm-up",
    "ch04.dataset": "core",
    "ch04.macs": "core",
    "ch04.luck": "stretch",
    "ch04b.macs": "core",
    "ch04b.first_time": "warm-up",
    "ch05.precision_recall": "core",
    "ch05.auc_for": "core",
    "ch05.mcnemar": "core",
    "ch05.abstain": "core",
    "ch06.shift": "core",
    "ch06.theta": "stretch",
    "ch06.keras_pipeline": "core",
    "ch06.gain_is_real": "core",
    "ch07.zero_fraction": "core",
    "ch07.soft_vote": "warm-up",
    "ch07.quantize": "core",
    "ch07.greedy_select": "stretch",
    "ch08.center_of_mass": "core",
    "ch08.is_light": "warm-up",
    "ch08.fit_box": "core",
    "ch09.ring_bytes": "core",
    "ch09.scaled_lr": "warm-up",
    "ch09.shard": "core",
}
LEVEL_POINTS = {"warm-up": 1.0, "core": 2.0, "stretch": 3.0}
FORMATS = ("canvas", "moodle")
ROSTER_COLUMNS = ("id", "name", "submission")


@dataclass
class Student:
    """One row of the roster."""

    id: str
    name: str
    submission: Path
    email: str = ""
    section: str = ""
    login: str = ""
    canvas_id: str = ""
    relative: str = ""  # the roster's submission cell ("" when nothing was handed in)


@dataclass
class Scheme:
    """Points per automatically graded exercise and maximum points per manual question."""

    points: dict[str, float]
    manual: dict[str, float]

    def of(self, exercise: str) -> float:
        """The points an exercise is worth (its level's default unless overridden)."""
        return self.points.get(exercise, LEVEL_POINTS.get(LEVELS.get(exercise, ""), 1.0))


def read_scheme(path: str | os.PathLike | None, text: str | None = None) -> Scheme:
    """The points file (TOML with ``[points]`` and ``[manual]`` tables), or the defaults for None.

    ``text`` is the file's content when the caller has read it already (``inputs.Inputs``).
    """
    if path is None:
        return Scheme({}, {})
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        table = tomllib.loads(Path(path).read_text(encoding="utf-8") if text is None else text)
    except (OSError, ValueError) as e:
        raise ValueError(f"points: could not read {str(path)!r} as TOML ({e})") from None
    unknown = set(table) - {"points", "manual"}
    if unknown:
        raise ValueError(f"points: unknown table(s) {sorted(unknown)}; expected [points] and [manual]")
    scheme = Scheme({}, {})
    for key in ("points", "manual"):
        for name, value in table.get(key, {}).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"points: [{key}] {name} must be a number of points >= 0, got {value!r}")
            getattr(scheme, key)[name] = float(value)
    return scheme


def read_roster(path: str | os.PathLike, text: str | None = None) -> list[Student]:
    """The roster's students; submission paths are relative to the roster's folder.

    An empty submission cell means the student handed nothing in ("missing", no points).
    """
    from digitlab.grading.inputs import check_relative

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"roster must be a CSV file, got {str(path)!r}")
    with io.StringIO(path.read_text(encoding="utf-8-sig") if text is None else text, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ROSTER_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"roster: {str(path)!r} lacks the column(s) {missing}; it needs {list(ROSTER_COLUMNS)}"
            )
        rows = list(reader)
    students, seen = [], set()
    for number, row in enumerate(rows, start=2):
        sid = (row["id"] or "").strip()
        if not sid or sid in seen:
            raise ValueError(f"roster: line {number} has {'a repeated' if sid else 'no'} id {sid!r}")
        seen.add(sid)
        relative = (row["submission"] or "").strip()
        if relative:
            check_relative(relative, number)
        students.append(
            Student(
                sid,
                (row["name"] or "").strip(),
                path.parent / relative,
                *((row.get(k) or "").strip() for k in ("email", "section", "login", "canvas_id")),
                relative=relative,
            )
        )
    return students


def read_manual(
    path: Path, students: list[Student], scheme: Scheme, text: str | None = None
) -> dict[str, dict[str, float]]:
    """The instructor's manual points by student id; writes an empty template when there is none.

    ``text`` is the file's content when the caller has read it already ("" for no file).
    """
    if not scheme.manual:
        return {}
    if (text == "") if text is not None else not path.exists():
        if not path.exists():
            rows = [{"id": s.id, "name": s.name, **dict.fromkeys(scheme.manual, "")} for s in students]
            write_csv(path, ["id", "name", *scheme.manual], rows)
        return {}
    with io.StringIO(path.read_text(encoding="utf-8-sig") if text is None else text, newline="") as f:
        rows = list(csv.DictReader(f))
    marks: dict[str, dict[str, float]] = {}
    for row in rows:
        for question, maximum in scheme.manual.items():
            text = (row.get(question) or "").strip()
            if not text:
                continue
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"manual: {row.get('id')!r}, {question}: {text!r} is not a number") from None
            if not 0 <= value <= maximum:
                raise ValueError(f"manual: {row.get('id')!r}, {question}: {value} is outside 0..{maximum}")
            marks.setdefault((row.get("id") or "").strip(), {})[question] = value
    return marks


def totals(rows: list[dict], manual: dict[str, dict[str, float]], scheme: Scheme) -> dict[str, dict]:
    """Per student id: automatic points, manual points, total and the maximum."""
    out: dict[str, dict] = {}
    for row in rows:
        entry = out.setdefault(row["id"], {"name": row["name"], "auto": 0.0, "auto_max": 0.0})
        entry["auto"] += float(row["points"])
        entry["auto_max"] += float(row["max_points"])
    for sid, entry in out.items():
        entry["manual"] = sum(manual.get(sid, {}).values())
        entry["total"] = round(entry["auto"] + entry["manual"], 2)
        entry["max"] = round(entry["auto_max"] + sum(scheme.manual.values()), 2)
    return out


def gradebook_rows(
    students: list[Student], marks: dict[str, dict], fmt: str, assignment: str
) -> tuple[list, list]:
    """The header and rows of a gradebook CSV that Canvas or Moodle imports."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if not assignment.strip():
        raise ValueError("assignment must name the gradebook column, got an empty name")
    maximum = max((m["max"] for m in marks.values()), default=0.0)
    if fmt == "canvas":
        header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment]
        rows = [{"Student": "Points Possible", assignment: f"{maximum:g}"}]
        rows += [
            {
                "Student": s.name,
                "ID": s.canvas_id,
                "SIS User ID": s.id,
                "SIS Login ID": s.login,
                "Section": s.section,
                assignment: _total(marks, s.id),
            }
            for s in students
        ]
    else:
        header = ["ID number", "Email address", "Full name", assignment]
        rows = [
            {
                "ID number": s.id,
                "Email address": s.email,
                "Full name": s.name,
                assignment: _total(marks, s.id),
            }
            for s in students
        ]
    return header, rows


def _total(marks: dict[str, dict], sid: str) -> str:
    return f"{marks[sid]['total']:g}" if sid in marks else ""


def write_csv(path: str | os.PathLike, header: list[str], rows: list[dict]) -> None:
    """Write rows as CSV through a temporary file and a rename."""
    from digitlab.grading.report import write_rows

    write_rows(path, tuple(header), rows)
