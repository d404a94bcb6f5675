"""A synthetic chapter with three chapter-1 exercises, and the students who answer it.

Tiny on purpose: the grader's tests run many kernels, and a notebook that loads no data starts and
ends in a couple of seconds. The exercises are the real ``digitlab.exercises.ch01`` ones, so the
restore, capture and hidden-test machinery is the one real chapters use.
"""

from __future__ import annotations

import csv
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from digitlab import editions
from digitlab.grading import jail

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = ROOT / "grading" / "hidden"
EXERCISES = ["ch01.and_gate", "ch01.silu_derivative", "ch01.stable_softmax"]
DEFAULT_POINTS = {"ch01.and_gate": 1.0, "ch01.silu_derivative": 2.0, "ch01.stable_softmax": 2.0}

RIGHT = {
    "a1": "w = np.array([1.0, 1.0])\nb = -1.5\nanswer = (w, b)",
    "a2": "def silu_grad(z):\n    s = numpy_nets.sigmoid(z)\n    return s + z * s * (1 - s)\n\n\nanswer = silu_grad",
    "a3": "def softmax(z):\n    e = np.exp(z - z.max(axis=-1, keepdims=True))\n    return e / e.sum(axis=-1, keepdims=True)\n\n\nanswer = softmax",
}
WRONG = {
    "a1": "answer = (np.array([-1.0, -1.0]), 1.5)  # NAND, not AND",
    "a2": "def silu_grad(z):\n    s = numpy_nets.sigmoid(z)\n    return s * (1 - s)  # the sigmoid's slope\n\n\nanswer = silu_grad",
    "a3": "def softmax(z):\n    return np.exp(z) / np.exp(z).sum()\n\n\nanswer = softmax",
}
PARTIAL = {  # and_gate 2/4 (OR is right on (0,0) and (1,1)), silu 2/3 (1-D only), softmax 2/3 (overflows)
    "a1": "answer = (np.array([1.0, 1.0]), -0.5)",
    "a2": "def silu_grad(z):\n    z = np.ravel(z)\n    s = 1 / (1 + np.exp(-z))\n    return s + z * s * (1 - s)\n\n\nanswer = silu_grad",
    "a3": "def softmax(z):\n    with np.errstate(all='ignore'):\n        e = np.exp(z)\n        return e / e.sum(axis=-1, keepdims=True)\n\n\nanswer = softmax",
}
PARTIAL_POINTS = 1 * 2 / 4 + 2 * 2 / 3 + 2 * 2 / 3

# The default marks mode (jailed) where this machine allows it (Linux, root); else the explicit
# unprotected mode, so that the tests of what grading computes still run (test_grade_attacks.py
# tests the jail itself, and the refusal).
JAILED = not jail.unavailable()
MODE: dict = {} if JAILED else {"isolate": "process", "unprotected": True}
CLI_MODE: list[str] = [] if JAILED else ["--unprotected"]


def source_chapter() -> nbformat.NotebookNode:
    """The chapter as the instructor has it: setup, then three exercises (solution cell, check)."""
    cells = [
        new_markdown_cell("# A synthetic chapter", id="intro"),
        new_code_cell(
            "import numpy as np\nfrom digitlab import numpy_nets\nfrom digitlab.exercises import ch01",
            id="setup",
        ),
    ]
    starters = {
        "a1": "answer = None  # (w, b)",
        "a2": "def silu_grad(z):\n    return None\n\n\nanswer = silu_grad",
        "a3": "def softmax(z):\n    return None\n\n\nanswer = softmax",
    }
    for n, name in enumerate(EXERCISES, start=1):
        solution = new_code_cell(RIGHT[f"a{n}"], id=f"a{n}")
        solution.metadata = {"tags": ["solution", "hide-input"], "digitlab": {"starter": starters[f"a{n}"]}}
        cells += [
            new_markdown_cell(f"### Exercise {n}", id=f"p{n}"),
            solution,
            new_code_cell(f"ch01.{name.split('.')[1]}.check(answer)", id=f"c{n}"),
        ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def submission(
    answers: dict[str, str] | None = None, *, before: list[str] = (), edit=None, student: str | None = None
) -> nbformat.NotebookNode:
    """The student edition with ``answers`` (by solution cell id), extra cells after setup, and edits."""
    nb = editions.student_notebook(source_chapter())
    for cell in nb.cells:
        if cell.get("id") in (answers or {}):
            cell.source = answers[cell.id]
    index = next(i for i, c in enumerate(nb.cells) if c.get("id") == "setup") + 1
    nb.cells[index:index] = [new_code_cell(code) for code in before]
    if edit:
        edit(nb)
    if student:
        nb.metadata["student"] = student
    return nb


def write_class(
    folder: Path, students: dict[str, nbformat.NotebookNode | str | None], names: dict[str, str] | None = None
) -> Path:
    """Write each student's notebook to ``folder/subs/<id>.ipynb`` and the roster; return the roster.

    A student whose notebook is None handed nothing in: the roster's submission cell is empty.
    """
    subs = folder / "subs"
    subs.mkdir(parents=True, exist_ok=True)
    rows = []
    for sid, nb in students.items():
        path = subs / f"{sid}.ipynb"
        if isinstance(nb, str):
            path.write_text(nb, encoding="utf-8")
        elif nb is not None:
            nbformat.write(nb, path)
        rows.append(
            {
                "id": sid,
                "name": (names or {}).get(sid, sid.title()),
                "submission": f"subs/{sid}.ipynb" if nb is not None else "",  # None: handed nothing in
                "email": f"{sid}@example.edu",
                "section": "A",
                "login": sid,
                "canvas_id": "",
            }
        )
    roster = folder / "roster.csv"
    with roster.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return roster


def write_source(folder: Path) -> Path:
    """The source chapter, written to ``folder/chapter.ipynb``."""
    path = folder / "chapter.ipynb"
    nbformat.write(source_chapter(), path)
    return path


def read_csv(path: Path) -> list[dict]:
    """Rows of a CSV file."""
    with Path(path).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def points_by(rows: list[dict]) -> dict[str, dict[str, float]]:
    """``{id: {exercise: points}}`` from a results CSV's rows."""
    out: dict[str, dict[str, float]] = {}
    for row in rows:
        out.setdefault(row["id"], {})[row["exercise"]] = float(row["points"])
    return out


# --- submissions that try to raise their marks (all answer as WRONG does) --------------------------
PATCH = """import digitlab.exercises.core as core
core.Exercise.evaluate = lambda self, answer=None: core.Result(self.name, 'correct', 'patched')
import digitlab.grading.judge as judge
import digitlab.grading.capture as capture
judge.judge = lambda *args, **kwargs: judge.Verdict(args[0], 'correct', 1.0, 'patched')
capture.encode = lambda value, depth=0: {'kind': 'float', 'value': 1.0}"""

RECORDS = """import json, os
records = [{'event': 'check', 'exercise': name, 'status': 'correct', 'message': 'forged'}
           for name in ('ch01.and_gate', 'ch01.silu_derivative', 'ch01.stable_softmax')]
for target in (os.environ.get('DIGITLAB_GRADE_LOG', 'grade.jsonl'), '../results.csv', '../marks/results.csv', os.path.expanduser('~/results.csv')):
    try:
        with open(target, 'a') as f:
            f.write('\\n'.join(json.dumps(r) for r in records) + '\\nforger,Forger,x,ch01.and_gate,correct,5,1\\n')
    except OSError:
        pass"""

HOOK = """import json, re
from IPython.display import display
state = {}
def _pre(info):
    found = re.search(r"'nonce': '(\\w+)', 'exercise': '([\\w.]+)'", info.raw_cell or '')
    if found:
        state['key'] = found.groups()
def _post(result):
    if 'key' in state:
        nonce, exercise = state.pop('key')
        display({'application/x-digitlab-answer+json': {'nonce': nonce, 'exercise': exercise,
                 'answer': {'kind': 'float', 'value': 1.0}}}, raw=True)
    with open('grade.jsonl', 'a') as f:
        f.write(json.dumps({'event': 'check', 'exercise': 'ch01.and_gate', 'status': 'correct'}) + '\\n')
get_ipython().events.register('pre_run_cell', _pre)
get_ipython().events.register('post_run_cell', _post)"""

SNOOP = """import os, pathlib
found = []
for base in [pathlib.Path.cwd(), *pathlib.Path.cwd().parents]:
    try:
        names = os.listdir(base)
    except OSError:
        continue
    found += [str(base / n) for n in names
              if n in ('ann.ipynb', 'chapter.ipynb', 'roster.csv', 'subs', 'hidden', 'grading', 'sketches.toml')]
found += [v for v in os.environ.values() if any(w in v for w in ('subs', 'hidden', 'roster', 'pytest'))]
for rel in ('../subs/ann.ipynb', '../../subs/ann.ipynb', '../roster.csv', '../../roster.csv', '../../grading/hidden/ch01.py'):
    if os.path.exists(rel):
        found.append(rel)
FOUND = bool(found)
print('found:', found)"""

# The snooper answers right only if it found another submission, the roster or the hidden tests.
SNOOP_ANSWERS = {
    "a1": "answer = (np.array([1.0, 1.0]), -1.5) if FOUND else (np.array([-1.0, -1.0]), 1.5)",
    "a2": WRONG["a2"],
    "a3": WRONG["a3"],
}


def edit_checks(nb) -> None:
    """Delete the first check cell, rewrite the second, and move the third to the top."""
    by_id = {c.get("id"): c for c in nb.cells}
    by_id["c2"].source = "print('✅ Correct: well done.')"
    nb.cells = [by_id["c3"]] + [c for c in nb.cells if c.get("id") not in ("c1", "c3")]
    for cell in nb.cells:
        if cell.get("id") == "setup":
            cell.source += "\nnumpy_nets.sigmoid = lambda z: z"


def forgers() -> dict[str, nbformat.NotebookNode]:
    """Submissions that try to raise their marks; each earns what WRONG earns (0 points)."""
    return {
        "patcher": submission(WRONG, before=[PATCH]),
        "recorder": submission(WRONG, before=[RECORDS]),
        "hooker": submission(WRONG, before=[HOOK]),
        "editor": submission(WRONG, edit=edit_checks),
        "impostor": submission(WRONG, student="ann"),
        "snooper": submission(SNOOP_ANSWERS, before=[SNOOP]),
    }
