"""Rebuild what runs from the source chapter: the student's answer cells, everything else the book's.

Every cell of the source chapter that is not a solution cell (setup, prose, check cells) comes from
the source, in the source's order, whatever the submission did to it: edited, deleted and moved
cells are restored in place. A solution cell takes the source of the submission's cell with the same
cell id. Cells the student added (ids the source does not have) are kept after the source cell they
followed, so a helper the student wrote still runs; they cannot touch how answers are judged.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

import nbformat

from digitlab import editions, exercises
from digitlab.grading import capture


@dataclass
class Slot:
    """One exercise to capture: its name, the expression its check passes, and the answer cell."""

    exercise: str
    expression: str
    answer_source: str
    answer_index: int = -1  # the answer cell in the restored notebook
    capture_index: int = -1  # the grader's capture cell in the restored notebook
    found: bool = True  # False when the submission had no cell with the solution cell's id


def _cell_id(cell: dict) -> str:
    return str(cell.get("id", ""))


def check_target(code: str) -> tuple[str, str] | None:
    """``("ch01.and_gate", "answer")`` for a cell that calls ``ch01.and_gate.check(answer)``."""
    match = editions.CHECK_CALL.search(code)
    if not match:
        return None
    module, attr = match.groups()
    name = exercises.catalog(module).get(attr, {}).get("name", f"{module}.{attr}")
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "check"
            and ast.unparse(node.func.value) == f"{module}.{attr}"
            and len(node.args) == 1
        ):
            return name, ast.unparse(node.args[0])
    return name, "None"


def restore(
    source: nbformat.NotebookNode, submission: nbformat.NotebookNode, nonce: str
) -> tuple[nbformat.NotebookNode, list[Slot]]:
    """The notebook the grader runs (the source with the submission's answers and capture cells)."""
    source_ids = {_cell_id(c) for c in source.cells}
    if "" in source_ids:
        raise ValueError("source: every cell needs an id (nbformat 4.5); normalise the chapter first")
    answers, extras, anchor = {}, {}, _cell_id(source.cells[0])
    for cell in submission.get("cells", []):
        if not isinstance(cell, dict):
            continue
        cid = _cell_id(cell)
        if cid in source_ids:
            anchor = cid
            if cid not in answers:
                answers[cid] = editions.source(cell)
        elif cell.get("cell_type") == "code":
            extras.setdefault(anchor, []).append(editions.source(cell))
    out = copy.deepcopy(source)
    cells, slots, pending = [], [], None
    for cell in source.cells:
        new = copy.deepcopy(cell)
        if cell.get("cell_type") == "code":
            new["outputs"], new["execution_count"] = [], None
        if editions.is_solution(cell):
            cid = _cell_id(cell)
            new["source"] = answers.get(cid, editions.starter(cell))
            pending = Slot("", "None", new["source"], len(cells), found=cid in answers)
        target = check_target(editions.source(cell)) if cell.get("cell_type") == "code" else None
        if target and pending is not None:
            pending.exercise, pending.expression = target
            pending.capture_index = len(cells)
            cells.append(
                nbformat.v4.new_code_cell(
                    capture.cell_source(nonce, *target), metadata={"digitlab": {"capture": True}}
                )
            )
            slots.append(pending)
            pending = None
        cells.append(new)
        cells += [nbformat.v4.new_code_cell(code) for code in extras.get(_cell_id(cell), [])]
    out.cells = cells
    for cell in out.cells:  # new cells get fresh ids; keep them valid and unique
        cell.setdefault("id", nbformat.v4.new_code_cell().id)
    return out, slots


DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def imports_before(nb: nbformat.NotebookNode, index: int, code: str = "") -> str:
    """The imports, functions and classes before cell ``index`` that ``code`` needs (the sandbox's prelude).

    Only what the answer cell uses, directly or through another kept definition, so a function that
    needs NumPy does not pay for TensorFlow because the chapter imported it too. With no ``code``,
    every definition is kept.
    """
    nodes = []
    for cell in nb.cells[:index]:
        if cell.get("cell_type") != "code" or cell.get("metadata", {}).get("digitlab", {}).get("capture"):
            continue
        tree = editions.parse(editions.source(cell))
        nodes += [node for node in (tree.body if tree else []) if isinstance(node, DEFINITIONS)]
    tree = editions.parse(code) if code else None
    if tree is not None:
        needed, kept, changed = _names_used(tree), [], True
        while changed:
            changed = False
            for node in nodes:
                if node not in kept and _names_bound(node) & needed:
                    kept.append(node)
                    needed |= _names_used(node)
                    changed = True
        nodes = [node for node in nodes if node in kept]
    return "\n".join(dict.fromkeys(ast.unparse(node) for node in nodes))


def _names_used(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _names_bound(node: ast.AST) -> set[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return {node.name}
