"""The book's data discipline, checked on every chapter's code: the test set never trains or monitors.

Chapters train on the training split, monitor and choose on a validation split, and look at the test
set once per model, at the end. This test reads each chapter's code cells and fails when a training
call (``fit``, ``train``, ...) receives test data, in any argument, ``validation_data=`` included.
"""

import ast
import re
from pathlib import Path

import nbformat
import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
TRAINING_CALLS = {"fit", "train", "train_epoch", "train_strong", "fit_strong", "fit_ensemble"}
TEST_NAME = re.compile(r"(^|_)test(_|$)")  # x_test, y_test, test_set, test_loader, mnist.x_test, ...


def code_of(notebook: Path) -> str:
    """The chapter's code cells as one module, IPython magics and shell lines replaced by ``pass``."""
    nb = nbformat.read(notebook, as_version=4)
    magic = re.compile(r"^(\s*)[%!].*$")
    cells = [
        "\n".join(magic.sub(r"\1pass", line) for line in cell.source.splitlines())
        for cell in nb.cells
        if cell.cell_type == "code"
    ]
    return "\n\n".join(cells)


def names_of_test_data(node: ast.AST) -> list[str]:
    """Names inside ``node`` that refer to test data (a function called ``test`` is not data)."""
    called = {id(sub.func) for sub in ast.walk(node) if isinstance(sub, ast.Call)}
    found = []
    for sub in ast.walk(node):
        if id(sub) in called:
            continue
        name = sub.id if isinstance(sub, ast.Name) else sub.attr if isinstance(sub, ast.Attribute) else None
        if name and TEST_NAME.search(name):
            found.append(name)
    return found


def training_calls_on_test_data(source: str) -> list[str]:
    """Training calls given test data, and training functions defined here that read it."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name in TRAINING_CALLS:  # a chapter's own loop
            names = [n for statement in node.body for n in names_of_test_data(statement)]
            if names:
                problems.append(f"line {node.lineno}: def {node.name} uses {', '.join(sorted(set(names)))}")
        if not isinstance(node, ast.Call):
            continue
        func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if func not in TRAINING_CALLS:
            continue
        names = [
            n for arg in [*node.args, *(k.value for k in node.keywords)] for n in names_of_test_data(arg)
        ]
        if names:
            problems.append(f"line {node.lineno}: {func}(...) is given {', '.join(sorted(set(names)))}")
    return problems


@pytest.mark.parametrize("notebook", sorted(BOOK.glob("*.ipynb")), ids=lambda p: p.stem)
def test_no_chapter_trains_or_monitors_on_the_test_set(notebook):
    problems = training_calls_on_test_data(code_of(notebook))
    assert not problems, f"{notebook.name} trains or monitors on the test set:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "snippet",
    [
        "model.fit(x_train, y_train, validation_data=(x_test, y_test))",
        "history = fit(model, mnist.x_test, mnist.y_test)",
        "torch_train.fit(model, data, epochs, monitor=test_loader)",
        "def fit(model, epochs):\n    for epoch in range(epochs):\n        acc = test(model, x_test, y_test)\n",
    ],
)
def test_the_check_catches_test_data_in_training_calls(snippet):
    assert training_calls_on_test_data(snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        "model.fit(x_train, y_train, validation_data=(x_val, y_val))",
        "acc = test(model, test_batches)[1]",
        "model.evaluate(x_test, y_test)",
    ],
)
def test_the_check_lets_validation_and_final_tests_through(snippet):
    assert not training_calls_on_test_data(snippet)
