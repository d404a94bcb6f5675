"""Student edition and answer key, generated from the chapters' tagged solution cells.

A chapter's exercise has a solution cell tagged ``solution`` whose metadata carries the starter
code (``{"digitlab": {"starter": "..."}}``). The **student edition** replaces each solution cell by
its starter, clears every output and leaves everything else as it was; the **answer key** keeps the
solutions, shown expanded, and adds ``ANSWERS.md``, every exercise's prompt, hint and solution on
one page. ``leaks`` and ``authoring_problems`` prove that no solution line reaches students.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

SOLUTION_TAG = "solution"
HIDE_TAG = "hide-input"
META_KEY = "digitlab"
DEFAULT_STARTER = "# your code here"
EDITIONS = ("student", "answers")

CHECK_CALL = re.compile(r"\b(ch\d+[a-z]?)\.(\w+)\.check\(")
_KEYWORDS_AND_PUNCTUATION = re.compile(
    r"\b(?:return|pass|else|elif|try|except|finally|break|continue|None|True|False|self)\b|[\W_]"
)


# --- reading chapters -----------------------------------------------------------------------------
def chapters(book_dir: str | os.PathLike = "book") -> list[Path]:
    """The chapter notebooks of the book, ``book_dir/*.ipynb``, in order."""
    book = Path(book_dir)
    if not book.is_dir():
        raise FileNotFoundError(f"book_dir must be a folder of chapter notebooks, got {str(book)!r}")
    return sorted(book.glob("*.ipynb"))


def read(path: str | os.PathLike) -> nbformat.NotebookNode:
    """Read a notebook (any nbformat 4 minor version) without upgrading or validating it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing cell ids and similar: harmless here
        return nbformat.read(os.fspath(path), as_version=4)


def is_solution(cell: dict) -> bool:
    """True when ``cell`` is tagged ``solution``."""
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def source(cell: dict) -> str:
    """A cell's source as one string (nbformat allows a list of lines on disk)."""
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


def starter(cell: dict) -> str:
    """The code the student edition puts in place of a solution cell.

    The starter from the cell's metadata when there is one; otherwise ``# your code here`` followed
    by a placeholder for each name the solution defines at top level (``answer = ...``, or a
    function that returns None), so that the check cell reports "not yet answered" instead of
    raising ``NameError``.
    """
    given = cell.get("metadata", {}).get(META_KEY, {}).get("starter")
    if isinstance(given, str) and given.strip():
        return given
    if cell.get("cell_type") != "code":
        return "*Write your answer here.*"
    return "\n".join([DEFAULT_STARTER, *_placeholders(source(cell))])


def _placeholders(code: str) -> list[str]:
    tree = _parse(code)
    if tree is None:
        return []
    lines = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines.append(f"def {node.name}({ast.unparse(node.args)}):\n    ...")
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            lines += [f"{name} = ..." for name in names if f"{name} = ..." not in lines]
    return lines


def _parse(code: str) -> ast.Module | None:
    """Parse a cell's code, IPython magics included; None when it is not valid Python."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(code))
    except (SyntaxError, ValueError):
        return None


# --- the two editions -----------------------------------------------------------------------------
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


def write_edition(kind: str, book_dir: str | os.PathLike = "book",
                  out_dir: str | os.PathLike | None = None) -> Path:
    """Write the ``student`` or ``answers`` edition of the book to ``out_dir`` and return it.

    Notebooks are transformed and every other file of ``book_dir`` (pages, images) is copied, so
    relative links keep working; the student edition leaves out the instructors' guide. The folder is built aside and swapped in whole.
    """
    if kind not in EDITIONS:
        raise ValueError(f"kind must be one of {EDITIONS}, got {kind!r}")
    book = Path(book_dir)
    out = Path(out_dir) if out_dir is not None else Path("_build") / kind
    notebooks = chapters(book)
    if not notebooks:
        raise FileNotFoundError(f"no chapter notebooks (*.ipynb) in {str(book)!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; the edition is for sharing
        skip = [".ipynb_checkpoints", "__pycache__", "*.ipynb"] + (["instructors.md"] if kind == "student" else [])
        shutil.copytree(book, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*skip))
        transform = student_notebook if kind == "student" else answer_notebook
        for path in notebooks:
            nbformat.write(transform(read(path)), os.fspath(tmp / path.name))
        if kind == "answers":
            (tmp / "ANSWERS.md").write_text(answer_key_markdown(book), encoding="utf-8")
        _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _swap_in(new: Path, out: Path) -> None:
    """Replace folder ``out`` by ``new`` (renames only, so ``out`` is never half written)."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}-old-{os.getpid()}")
        os.replace(out, old)
    os.replace(new, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --- exercises of a chapter -----------------------------------------------------------------------
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
    return "\n".join(lines[starts[-1]:] if starts else lines).strip()


def _checked_after(cells: list, index: int) -> str | None:
    """The exercise name checked by the first check call after cell ``index`` (before the next solution)."""
    for j, cell in enumerate(cells[index:], start=index):
        if j > index and is_solution(cell):
            return None
        match = CHECK_CALL.search(source(cell)) if cell.cell_type == "code" else None
        if match:
            catalog = catalog_of(match.group(1))
            return catalog.get(match.group(2), {}).get("name", f"{match.group(1)}.{match.group(2)}")
    return None


def catalog_of(module: str) -> dict[str, dict[str, str]]:
    """The ``Exercise`` objects of ``digitlab.exercises.<module>``, read from its source (not imported).

    Returns ``{attribute: {"name", "hint", "solution"}}``; empty when the module does not exist.
    Reading the source keeps a grader from importing TensorFlow or PyTorch for a chapter's checks.
    """
    if not re.fullmatch(r"ch\d+[a-z]?", module):
        raise ValueError(f"module must look like 'ch03' or 'ch04b', got {module!r}")
    spec = importlib.util.find_spec(f"digitlab.exercises.{module}")
    if spec is None or not spec.origin:
        return {}
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    catalog = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "id", getattr(node.value.func, "attr", "")) == "Exercise"):
            catalog[node.targets[0].id] = _exercise_fields(node.value, node.targets[0].id, module)
    return catalog


def _exercise_fields(call: ast.Call, attr: str, module: str) -> dict[str, str]:
    args = [a.value if isinstance(a, ast.Constant) else "" for a in call.args]
    fields = dict(zip(("name", "checker", "hint", "solution"), args, strict=False))
    for kw in call.keywords:
        if kw.arg and isinstance(kw.value, ast.Constant):
            fields[kw.arg] = kw.value.value
    return {"name": fields.get("name") or f"{module}.{attr}",
            "hint": str(fields.get("hint", "")), "solution": str(fields.get("solution", ""))}


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
    lines = ["# Digit Lab: answer key", "",
             "Generated by `make answers` from the chapters' solution cells. Not for students.", ""]
    for path in chapters(book_dir):
        nb = read(path)
        found = exercises(nb)
        lines += [f"## {path.stem}", "", f"{len(found)} exercise(s).", ""]
        for ex in found:
            module, _, attr = ex.name.partition(".")
            info = catalog_of(module).get(attr, {}) if re.fullmatch(r"ch\d+[a-z]?", module) else {}
            title, _, body = ex.prompt.strip().partition("\n")
            if not title.startswith("#"):
                title, body = "", ex.prompt.strip()
            lines += [f"### {title.lstrip('# ')} (`{ex.name}`)" if title else f"### `{ex.name}`", "",
                      body.strip(), "", "```python", ex.solution.strip(), "```", ""]
            if info.get("hint"):
                lines += [f"*Hint:* {info['hint']}", ""]
            idea = ideas.get(ex.name) or info.get("solution")
            if idea:
                lines += [f"*Idea:* {idea}", ""]
    return "\n".join(lines)


# --- proving that no solution leaks ---------------------------------------------------------------
def solution_lines(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """The non-trivial stripped lines of every solution cell, as ``(cell index, line)``.

    Trivial lines may legitimately reach students: blank lines, imports, ``def``/``class``
    signatures, calls without arguments (``plt.show()``, ``super().__init__()``), storing an
    argument (``self.images = images``), lines with at most one short word once keywords and
    punctuation are removed (``return x``, ``else:``, ``)``), and lines of the cell's starter (or
    inside one of its lines, such as a commented-out signature).
    """
    found = []
    for i, cell in enumerate(nb.cells):
        if not is_solution(cell):
            continue
        given = [line.strip() for line in starter(cell).splitlines()]
        for line in source(cell).splitlines():
            line = line.strip()
            if line and not _found_in(line, given) and not _is_trivial(line):
                found.append((i, line))
    return found


_TRIVIAL = [
    re.compile(r"(import|from)\s+[\w.]+(\s+import\s+.+|\s+as\s+\w+)?"),  # imports
    re.compile(r"(async\s+)?(def|class)\s+\w+(\(.*\))?(\s*->\s*.+)?:"),  # signatures: prompts state them
    re.compile(r"(\w+\s*=\s*)?[\w.]+(\(\)[\w.]*)*\(\)"),  # calls without arguments: plt.show(), net = CNN()
    re.compile(r"self\.(\w+)\s*=\s*\1"),  # storing an argument: self.images = images
]


def _is_trivial(line: str) -> bool:
    if any(pattern.fullmatch(line) for pattern in _TRIVIAL):
        return True
    words = _KEYWORDS_AND_PUNCTUATION.sub(" ", line).split()
    return len(words) == 0 or (len(words) == 1 and len(words[0]) <= 2)


def texts(node: Any) -> Iterator[str]:
    """Every string inside a notebook (sources, outputs, metadata keys and values), recursively."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from texts(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from texts(item)


def _lines_of(node: Any) -> list[str]:
    return [line.strip() for text in texts(node) for line in text.splitlines()]


def _found_in(needle: str, haystack: list[str]) -> bool:
    return any(needle in line for line in haystack)


def leaks(original: nbformat.NotebookNode, student: nbformat.NotebookNode) -> list[str]:
    """Solution lines of ``original`` found anywhere in ``student`` (every string it holds)."""
    haystack = _lines_of(student)
    return [f"cell {i}: {line!r}" for i, line in solution_lines(original) if _found_in(line, haystack)]


def authoring_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Solution lines that also appear outside the solution cells (in prose, code or metadata).

    Such a line reaches students anyway, so the solution is partly given away: keep solutions
    distinct from the rest of the chapter.
    """
    others = copy.deepcopy(nb)
    others.cells = [c for c in others.cells if not is_solution(c)]
    haystack = _lines_of(others)
    return [f"cell {i}: {line!r}" for i, line in solution_lines(nb) if _found_in(line, haystack)]


def solution_only_names(nb: nbformat.NotebookNode) -> list[str]:
    """Names a solution defines (beyond its starter) that a later cell uses: the student edition would fail there."""
    missing: set[str] = set()
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        if is_solution(cell):
            given = _bound(starter(cell))
            missing = (missing | _bound(source(cell))) - given
            continue
        tree = _parse(source(cell))
        if tree is None:
            continue
        bound = _bound(source(cell))
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        problems += [f"cell {i} uses {name!r}, defined only by a solution" for name in sorted((used - bound) & missing)]
        missing -= bound
    return problems


def _bound(code: str) -> set[str]:
    tree = _parse(code)
    if tree is None:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names


def check_student_edition(book_dir: str | os.PathLike, student_dir: str | os.PathLike) -> list[str]:
    """Problems of a written student edition: missing chapters, solution cells or solution lines left.

    Solution lines that the chapter also writes outside its solution cells are not counted here
    (the chapter shows them anyway); ``authoring_problems`` reports those.
    """
    problems = []
    for path in chapters(book_dir):
        copy_path = Path(student_dir) / path.name
        if not copy_path.exists():
            problems.append(f"{path.name}: missing from the student edition")
            continue
        original, student = read(path), read(copy_path)
        if any(is_solution(c) for c in student.cells):
            problems.append(f"{path.name}: a cell is still tagged {SOLUTION_TAG!r}")
        authored = set(authoring_problems(original))  # public anyway: see authoring_problems
        problems += [f"{path.name}: solution line leaked, {p}" for p in leaks(original, student)
                     if p not in authored]
    return problems


def inventory(book_dir: str | os.PathLike = "book") -> list[dict[str, Any]]:
    """One row per chapter: its exercises (names) and their count."""
    rows = []
    for path in chapters(book_dir):
        found = exercises(read(path))
        rows.append({"chapter": path.stem, "count": len(found), "exercises": [e.name for e in found]})
    return rows
