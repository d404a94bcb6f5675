"""Call a student's function on the grader's inputs, in a separate process with a time limit.

The grader starts ``python -m digitlab.grading.sandbox`` in a fresh workspace with the isolated
environment, sends on stdin the notebook's imports and definitions, the student's answer cell (of
which only definitions and assignments run), the expression naming the function and the argument
lists, and reads one JSON line back: each call's encoded result or the
exception it raised. Nothing the student's code does runs in the grader's own process.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from digitlab.grading import capture

OUTPUT_BYTES = 120_000_000  # the answer line and the student's prints together, at most


class Raised:
    """A call that raised: the exception's type and first line."""

    def __init__(self, message: str):
        self.message = message

    def __repr__(self) -> str:
        return f"<raised {self.message}>"


def call(
    prelude: str,
    cell: str,
    expression: str,
    calls: list[tuple],
    *,
    env: dict,
    cwd: Path,
    timeout: float = 30,
    command: list[str] | None = None,
) -> list:
    """Run the student's function on each argument tuple of ``calls``; results or ``Raised``.

    ``command`` replaces the local Python (``isolation.container_sandbox`` runs it in a container).
    """
    request = json.dumps(
        {
            "prelude": prelude,
            "cell": cell,
            "expression": expression,
            "calls": [[capture.encode(a) for a in args] for args in calls],
        }
    )
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:  # not pipes: capped
        try:
            subprocess.run(
                command or [sys.executable, "-m", "digitlab.grading.sandbox"],
                input=request.encode("utf-8"),
                stdout=stdout,
                stderr=stderr,
                env=env,
                cwd=cwd,
                timeout=timeout,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired:
            return [Raised(f"the function ran over the {timeout} s limit")] * len(calls)
        out, tail = _read(stdout), _read(stderr, tail=True).strip().splitlines()
    if out is None:
        return [Raised("the function's process printed more than the grader reads")] * len(calls)
    lines = [line for line in out.splitlines() if line.startswith('{"results"')]
    if not lines:
        return [Raised(tail[-1][:200] if tail else "the function's process ended without an answer")] * len(
            calls
        )
    results = json.loads(lines[-1]).get("results", [])
    if not isinstance(results, list) or len(results) != len(calls):
        return [Raised("the function's process answered malformed results")] * len(calls)
    return [
        Raised(str(r["raised"])[:200]) if isinstance(r, dict) and "raised" in r else _decode(r)
        for r in results
    ]


def _read(file, tail: bool = False) -> str | None:
    """A child's output file as text: None when over ``OUTPUT_BYTES`` (or its last 4 kB, for ``tail``)."""
    size = file.seek(0, os.SEEK_END)
    if size > OUTPUT_BYTES and not tail:
        return None
    file.seek(max(0, size - 4096) if tail else 0)
    return file.read().decode("utf-8", errors="replace")


def _decode(data) -> object:
    try:
        return capture.decode(data)
    except (ValueError, TypeError, OSError) as e:
        return Raised(f"malformed result ({e})")


def _define(code: str, namespace: dict) -> None:
    """Run the definitions, imports and assignments of ``code``, one statement at a time.

    Other statements (prints, plots, loops) are the cell's demonstration and are skipped; a statement
    that fails (it needs a variable of the notebook) is skipped too, so later definitions still run.
    """
    keep = (
        ast.Import,
        ast.ImportFrom,
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.Assign,
        ast.AnnAssign,
    )
    for node in ast.parse(code).body:
        if isinstance(node, keep):
            try:
                exec(compile(ast.Module([node], type_ignores=[]), "<answer cell>", "exec"), namespace)
            except Exception:
                continue


def main() -> None:
    """Read the request, define the function, call it, print the results (the subprocess side)."""
    request = json.loads(sys.stdin.read())
    out = os.fdopen(os.dup(1), "w")  # results go here; the student's prints go to stderr
    sys.stdout = sys.stderr
    namespace = {"__name__": "__main__"}
    try:
        code = request["cell"]
        if any(line.lstrip().startswith(("%", "!")) for line in code.splitlines()):  # IPython syntax
            from IPython.core.inputtransformer2 import TransformerManager

            code = TransformerManager().transform_cell(code)
        _define(request["prelude"], namespace)
        _define(code, namespace)
        function = eval(request["expression"], namespace)
    except BaseException as e:  # the answer cell itself failed
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        print(
            json.dumps({"results": [{"raised": f"{type(e).__name__}: {first}"}] * len(request["calls"])}),
            file=out,
            flush=True,
        )
        return
    results = []
    for args in request["calls"]:
        try:
            value = function(*[capture.decode(a) for a in args])
            results.append(capture.encode(value))
        except BaseException as e:  # the student's function raised
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            results.append({"raised": f"{type(e).__name__}: {first}"})
    print(json.dumps({"results": results}), file=out, flush=True)


if __name__ == "__main__":
    main()
