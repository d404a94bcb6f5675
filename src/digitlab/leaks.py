"""Proofs that no solution reaches students: solution lines, leaks, authoring problems.

A solution line is a non-trivial line of a solution cell. ``leaks`` finds them anywhere in a
student edition (every string it holds, metadata included); ``authoring_problems`` finds them
outside the solution cells of the chapter itself; ``solution_only_names`` finds names that only a
solution defines but a later cell uses (the student edition would fail there).
"""

from __future__ import annotations

import ast
import copy
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat

from digitlab.notebooks import SOLUTION_TAG, chapters, is_solution, parse, read, source, starter

_KEYWORDS_AND_PUNCTUATION = re.compile(
    r"\b(?:return|pass|else|elif|try|except|finally|break|continue|None|True|False|self)\b|[\W_]"
)


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
        tree = parse(source(cell))
        if tree is None:
            continue
        bound = _bound(source(cell))
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        problems += [
            f"cell {i} uses {name!r}, defined only by a solution" for name in sorted((used - bound) & missing)
        ]
        missing -= bound
    return problems


def _bound(code: str) -> set[str]:
    tree = parse(code)
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
        problems += [
            f"{path.name}: solution line leaked, {p}" for p in leaks(original, student) if p not in authored
        ]
    return problems
