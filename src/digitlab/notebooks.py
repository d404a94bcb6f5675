"""Reading the book's notebooks: chapters in order, cells, solution cells and their starters.

Shared by the editions (``editions``), the leak proofs (``leaks``), the grader and the Colab
edition. A chapter's exercise has a solution cell tagged ``solution`` whose metadata may carry the
starter code that replaces it for students (``{"digitlab": {"starter": "..."}}``).
"""

from __future__ import annotations

import ast
import os
import warnings
from pathlib import Path

import nbformat

SOLUTION_TAG = "solution"
HIDE_TAG = "hide-input"
META_KEY = "digitlab"
DEFAULT_STARTER = "# your code here"


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
    tree = parse(code)
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


def parse(code: str) -> ast.Module | None:
    """Parse a cell's code, IPython magics included; None when it is not valid Python."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(code))
    except (SyntaxError, ValueError):
        return None
