"""Every command of the instructors' walk-through (book/instructors.md), run as written.

The commands run in a temporary course folder laid out like the repository: `book/03-keras-cnn.ipynb`
is a small synthetic stand-in for chapter 3 (the real one takes half a minute per submission in
quick mode), `grading/` is the repository's own, and `submissions/` holds a class of four, starting
with the roster shown on the page. `make` lines are checked with `make -n` in the repository.
"""

from __future__ import annotations

import csv
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import classkit as ck
import nbformat
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = ck.ROOT
PAGE = ROOT / "book" / "instructors.md"
START, END = "## Grading chapter 3 for marks", "## How the grader decides"


def walkthrough() -> str:
    text = PAGE.read_text(encoding="utf-8")
    return text[text.index(START) : text.index(END)]


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", walkthrough(), flags=re.S)


def commands() -> list[str]:
    return [line.strip() for block in blocks("bash") for line in block.splitlines() if line.strip()]


def make_course(folder: Path) -> Path:
    (folder / "book").mkdir()
    nbformat.write(ck.source_chapter(), folder / "book" / "03-keras-cnn.ipynb")
    shutil.copytree(ROOT / "grading", folder / "grading")
    points = folder / "grading" / "ch03-points.toml"  # the stand-in's exercises are chapter 1's
    text = points.read_text(encoding="utf-8").replace('"ch03.one_hot"', '"ch01.and_gate"')
    points.write_text(text.replace('"ch03.stack_shape"', '"ch01.silu_derivative"'), encoding="utf-8")
    subs = folder / "submissions"
    subs.mkdir()
    roster_text = blocks("text")[0]
    extra = (
        "s002,Grace Hopper,grace@example.edu,s002/03-keras-cnn.ipynb\n"
        "s003,Edsger Dijkstra,edsger@example.edu,\n"  # handed nothing in: an empty cell
    )
    (subs / "roster.csv").write_text(roster_text + extra, encoding="utf-8")
    for sid, answers in (
        ("s001", ck.RIGHT),
        ("s017", ck.WRONG),
        ("s002", ck.PARTIAL),
    ):  # s003 submits nothing
        (subs / sid).mkdir()
        nbformat.write(ck.submission(answers), subs / sid / "03-keras-cnn.ipynb")
    return folder


def test_the_page_shows_the_points_file_it_names():
    assert tomllib.loads(blocks("toml")[0]) == tomllib.loads(
        (ROOT / "grading" / "ch03-points.toml").read_text()
    )
    assert [c.split()[0] for c in commands()] == [
        "make",
        "make",
        "digitlab",
        "digitlab",
        "digitlab",
        "digitlab",
    ]


def test_make_lines_name_real_targets(tmp_path):
    for command in (c for c in commands() if c.startswith("make ")):
        done = subprocess.run(
            ["make", "-n", *shlex.split(command)[1:]], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert "digitlab student" in done.stdout or "DIGITLAB_COURSE=1" in done.stdout


def fill_manual(path: Path) -> None:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "name", "ch03.wider_adam", "ch03.strided", "why_pooling"]
    for row in rows:
        row.update(
            {"s001": {"ch03.wider_adam": "2", "why_pooling": "1"}, "s017": {"why_pooling": "2"}}.get(
                row["id"], {}
            )
        )
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.slow
def test_the_walkthrough_runs_from_grading_to_the_gradebook(tmp_path):
    course = make_course(tmp_path)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for command in (c for c in commands() if c.startswith("digitlab ")):
        if "--merge" in command:  # steps 5 and 6: the instructor grades by hand, s017 resubmits
            fill_manual(course / "marks" / "ch03-manual.csv")
            nbformat.write(ck.submission(ck.RIGHT), course / "submissions" / "s017" / "03-keras-cnn.ipynb")
        extra = ck.CLI_MODE if command.startswith("digitlab grade ") else []
        done = subprocess.run(
            shlex.split(command) + extra, cwd=course, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    results = ck.points_by(ck.read_csv(course / "marks" / "ch03.csv"))
    assert {sid: round(sum(p.values()), 2) for sid, p in results.items()} == {
        "s001": 5.0,
        "s017": 5.0,
        "s002": 3.16,
        "s003": 0.0,
    }
    canvas = ck.read_csv(course / "marks" / "ch03-canvas.csv")
    assert canvas[0] == {
        "Student": "Points Possible",
        "ID": "",
        "SIS User ID": "",
        "SIS Login ID": "",
        "Section": "",
        "Chapter 3": "12",
    }  # 5 automatic + 7 manual
    assert {r["SIS User ID"]: r["Chapter 3"] for r in canvas[1:]} == {
        "s001": "8",
        "s017": "7",
        "s002": "3.16",
        "s003": "0",
    }
    moodle = ck.read_csv(course / "marks" / "ch03-moodle.csv")
    assert moodle[0] == {
        "ID number": "s001",
        "Email address": "ada@example.edu",
        "Full name": "Ada Lovelace",
        "Chapter 3": "8",
    }
