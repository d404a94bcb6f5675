"""Student edition and answer key, generated from the chapters' tagged solution cells.

The **student edition** replaces each solution cell by its starter (``notebooks.starter``), clears
every output and leaves everything else as it was; the **answer key** keeps the solutions, shown
expanded, and adds ``ANSWERS.md``, every exercise's prompt, hint and solution on one page.
``digitlab.leaks`` proves that no solution line reaches students. The reading helpers of
``notebooks`` and the proofs of ``leaks`` are re-exported here, where the grader and the tests
have always found them.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from digitlab import _io
from digitlab.exercises import catalog
from digitlab.leaks import (  # noqa: F401  (re-exported)
    authoring_problems,
    check_student_edition,
    leaks,
    solution_lines,
    solution_only_names,
    texts,
)
from digitlab.notebooks import (  # noqa: F401  (re-exported)
    DEFAULT_STARTER,
    HIDE_TAG,
    META_KEY,
    SOLUTION_TAG,
    chapters,
    is_solution,
    parse,
    read,
    source,
    starter,
)

EDITIONS = ("student", "answers")
CHECK_CALL = re.compile(r"\b(ch\d+[a-z]?)\.(\w+)\.check\(")


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with each solution cell replaced by its starter and all outputs cleared."""
    student = copy.deepcopy(nb)
    for cell in student.cells:
        if is_solution(cell):
            _to_starter(cell)
        _clear_outputs(cell)
    student.metadata.setdefault(META_KEY, {})["edition"] = "student"
    return student


def _to_starter(cell: dict) -> None:
    cell["source"] = starter(cell)
    meta = cell.setdefault("metadata", {})
    meta.pop(META_KEY, None)  # carries the starter, and could carry anything else of the solution
    tags = [t for t in meta.get("tags", []) if t not in (SOLUTION_TAG, HIDE_TAG)]
    meta["tags"] = tags
    if not tags:
        del meta["tags"]
    cell.pop("attachments", None)


def _clear_outputs(cell: dict) -> None:
    if cell.get("cell_type") == "code":
        cell["outputs"] = []
        cell["execution_count"] = None


def answer_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with its solutions shown (not collapsed) and all outputs cleared."""
    key = copy.deepcopy(nb)
    for cell in key.cells:
        if is_solution(cell):
            meta = cell["metadata"]
            meta["tags"] = [t for t in meta["tags"] if t != HIDE_TAG]
        _clear_outputs(cell)
    key.metadata.setdefault(META_KEY, {})["edition"] = "answers"
    return key


def write_edition(
    kind: str, book_dir: str | os.PathLike = "book", out_dir: str | os.PathLike | None = None
) -> Path:
    """Write the ``student`` or ``answers`` edition of the book to ``out_dir`` and return it.

    Notebooks are transformed and every other file of ``book_dir`` (pages, images) is copied, so
    relative links keep working; the student edition leaves out the instructors' guide.
    The folder is built aside and swapped in whole (``_io.new_folder``).
    """
    if kind not in EDITIONS:
        raise ValueError(f"kind must be one of {EDITIONS}, got {kind!r}")
    book = Path(book_dir)
    out = Path(out_dir) if out_dir is not None else Path("_build") / kind
    notebooks = chapters(book)
    if not notebooks:
        raise FileNotFoundError(f"no chapter notebooks (*.ipynb) in {str(book)!r}")
    with _io.new_folder(out) as tmp:
        skip = [".ipynb_checkpoints", "__pycache__", "*.ipynb"] + (
            ["instructors.md"] if kind == "student" else []
        )
        shutil.copytree(book, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*skip))
        transform = student_notebook if kind == "student" else answer_notebook
        for path in notebooks:
            nbformat.write(transform(read(path)), os.fspath(tmp / path.name))
        if kind == "answers":
            (tmp / "ANSWERS.md").write_text(answer_key_markdown(book), encoding="utf-8")
    return out


# --- exercises of a chapter ---------------------------------------------------------------------
@dataclass(frozen=True)
class ExerciseCell:
    """One exercise of a notebook: its name, prompt, solution and starter code."""

    name: str
    prompt: str
    solution: str
    starter: str
    cell_index: int


def exercises(nb: nbformat.NotebookNode) -> list[ExerciseCell]:
    """The exercises of a notebook: each solution cell with the prompt before it and check after it."""
    found = []
    cells = nb.cells
    for i, cell in enumerate(cells):
        if not is_solution(cell):
            continue
        text = next((source(c) for c in reversed(cells[:i]) if c.cell_type == "markdown"), "")
        prompt = _last_section(text)
        name = _checked_after(cells, i) or f"(unchecked, cell {i})"
        found.append(ExerciseCell(name, prompt, source(cell), starter(cell), i))
    return found


def _last_section(markdown: str) -> str:
    """The text from the last heading of ``markdown`` on (the prompt, without the chapter's summary)."""
    lines = markdown.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("#")]
    return "\n".join(lines[starts[-1] :] if starts else lines).strip()


def _checked_after(cells: list, index: int) -> str | None:
    """The exercise name checked by the first check call after cell ``index`` (before the next solution)."""
    for j, cell in enumerate(cells[index:], start=index):
        if j > index and is_solution(cell):
            return None
        match = CHECK_CALL.search(source(cell)) if cell.cell_type == "code" else None
        if match:
            found = catalog(match.group(1))
            return found.get(match.group(2), {}).get("name", f"{match.group(1)}.{match.group(2)}")
    return None


def modules_used(nb: nbformat.NotebookNode) -> list[str]:
    """The ``digitlab.exercises`` chapter modules a notebook checks exercises with (``ch00``...)."""
    used = set()
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        text = source(cell)
        used |= {m.group(1) for m in CHECK_CALL.finditer(text)}
        for line in text.splitlines():
            if "digitlab.exercises" in line:
                used |= set(re.findall(r"\b(ch\d+[a-z]?)\b", line))
    return sorted(used)


def sketches(book_dir: str | os.PathLike = "book") -> dict[str, str]:
    """The solution sketches kept outside the package (``grading/sketches.toml`` beside ``book_dir``)."""
    path = Path(book_dir).resolve().parent / "grading" / "sketches.toml"
    if not path.is_file():
        return {}
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return {str(k): str(v) for k, v in tomllib.loads(path.read_text(encoding="utf-8")).items()}


def answer_key_markdown(book_dir: str | os.PathLike = "book") -> str:
    """The answer key as Markdown: for each chapter and exercise, the prompt, hint and solution."""
    ideas = sketches(book_dir)
    lines = [
        "# Digit Lab: answer key",
        "",
        "Generated by `make answers` from the chapters' solution cells. Not for students.",
        "",
    ]
    for path in chapters(book_dir):
        nb = read(path)
        found = exercises(nb)
        lines += [f"## {path.stem}", "", f"{len(found)} exercise(s).", ""]
        for ex in found:
            module, _, attr = ex.name.partition(".")
            info = catalog(module).get(attr, {}) if re.fullmatch(r"ch\d+[a-z]?", module) else {}
            title, _, body = ex.prompt.strip().partition("\n")
            if not title.startswith("#"):
                title, body = "", ex.prompt.strip()
            lines += [
                f"### {title.lstrip('# ')} (`{ex.name}`)" if title else f"### `{ex.name}`",
                "",
                body.strip(),
                "",
                "```python",
                ex.solution.strip(),
                "```",
                "",
            ]
            if info.get("hint"):
                lines += [f"*Hint:* {info['hint']}", ""]
            idea = ideas.get(ex.name) or info.get("solution")
            if idea:
                lines += [f"*Idea:* {idea}", ""]
    return "\n".join(lines)


def inventory(book_dir: str | os.PathLike = "book") -> list[dict[str, Any]]:
    """One row per chapter: its exercises (names) and their count."""
    rows = []
    for path in chapters(book_dir):
        found = exercises(read(path))
        rows.append({"chapter": path.stem, "count": len(found), "exercises": [e.name for e in found]})
    return rows
