"""Answers as data: encode a kernel's value to JSON (numbers, arrays as ``.npy`` bytes) and decode it.

The grader never unpickles anything a submission produced: arrays travel as ``np.save`` bytes read
back with ``allow_pickle=False``, functions travel as their name only (the grader re-runs the
student's answer cell in a sandbox to call them), and anything else is reported by its type.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np

MIME = "application/x-digitlab-answer+json"
MAX_BYTES = 50_000_000  # a captured answer larger than this is refused
MAX_ITEMS = 1000


class Function:
    """A function answer: the grader calls it through ``run`` (a sandboxed subprocess), never here."""

    def __init__(self, name: str, run=None):
        self.name = name
        self.run = run  # set by the judge: run(list of argument tuples) -> list of results

    def __repr__(self) -> str:
        return f"<student function {self.name}>"


class Opaque:
    """An answer the grader cannot rebuild (a model, an object): only its type is known."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def encode(value: Any, depth: int = 0) -> dict:
    """A JSON-safe description of ``value`` (runs in the student's kernel or the sandbox)."""
    if value is None or value is Ellipsis:
        return {"kind": "none"}
    if isinstance(value, (bool, np.bool_)):
        return {"kind": "bool", "value": bool(value)}
    if isinstance(value, (int, np.integer)):
        return {"kind": "int", "value": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"kind": "float", "value": float(value)}
    if isinstance(value, str):
        return {"kind": "str", "value": value[:10_000]}
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
    elif hasattr(value, "numpy") and hasattr(value, "dtype") and not isinstance(value, np.ndarray):
        value = value.numpy()  # a TensorFlow tensor
    if isinstance(value, np.ndarray) and value.dtype != object:
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return {"kind": "array", "npy": base64.b64encode(buffer.getvalue()).decode("ascii")}
    if isinstance(value, (tuple, list)) and depth < 3 and len(value) <= MAX_ITEMS:
        return {
            "kind": "tuple" if isinstance(value, tuple) else "list",
            "items": [encode(v, depth + 1) for v in value],
        }
    if (
        isinstance(value, dict)
        and depth < 3
        and len(value) <= MAX_ITEMS
        and all(isinstance(k, str) for k in value)
    ):  # a history, a table of seed accuracies: string keys only
        return {"kind": "dict", "items": [[k[:200], encode(v, depth + 1)] for k, v in value.items()]}
    if callable(value) and not hasattr(value, "layers"):  # a model is callable, but not a function
        return {"kind": "function", "name": str(getattr(value, "__name__", ""))[:200]}
    return {"kind": "opaque", "type": type(value).__name__[:200]}


def decode(data: Any, depth: int = 0) -> Any:
    """The value described by ``encode``'s output; ``ValueError`` on anything malformed."""
    if not isinstance(data, dict) or depth > 3:
        raise ValueError("a captured answer must be a JSON object")
    kind = data.get("kind")
    if kind == "none":
        return None
    if kind in ("bool", "int", "float", "str"):
        value = data.get("value")
        types = {"bool": bool, "int": int, "float": (int, float), "str": str}[kind]
        if not isinstance(value, types) or (kind == "int" and isinstance(value, bool)):
            raise ValueError(f"a captured {kind} holds {type(value).__name__}")
        return float(value) if kind == "float" else value
    if kind == "array":
        raw = base64.b64decode(str(data.get("npy", "")), validate=True)
        return np.load(io.BytesIO(raw), allow_pickle=False)
    if kind in ("tuple", "list"):
        items = data.get("items")
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            raise ValueError("a captured sequence must hold a list of items")
        values = [decode(item, depth + 1) for item in items]
        return tuple(values) if kind == "tuple" else values
    if kind == "dict":
        items = data.get("items")
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            raise ValueError("a captured dict must hold a list of items")
        if not all(isinstance(i, list) and len(i) == 2 and isinstance(i[0], str) for i in items):
            raise ValueError("a captured dict's items must be [key, value] pairs with string keys")
        return {key: decode(value, depth + 1) for key, value in items}
    if kind == "function":
        return Function(str(data.get("name", "")))
    if kind == "opaque":
        return Opaque(str(data.get("type", "object")))
    raise ValueError(f"unknown captured kind {kind!r}")


def cell_source(nonce: str, exercise: str, expression: str) -> str:
    """The code of the capture cell the grader runs after an answer cell."""
    return (
        "def _digitlab_capture():\n"
        "    from IPython.display import display\n"
        "    from digitlab.grading.capture import MIME, encode\n"
        "    try:\n"
        f"        value = encode({expression})\n"
        "    except NameError:\n"
        "        value = {'kind': 'none'}\n"
        f"    display({{MIME: {{'nonce': {nonce!r}, 'exercise': {exercise!r}, 'answer': value}}}}, raw=True)\n"
        "_digitlab_capture()\n"
        "del _digitlab_capture\n"
    )


def read_outputs(outputs: list, nonce: str, exercise: str) -> tuple[Any, str]:
    """The answer a capture cell displayed, and "" or why none could be read."""
    found = None
    for output in outputs:
        payload = output.get("data", {}).get(MIME) if isinstance(output, dict) else None
        if isinstance(payload, str):
            if len(payload) > MAX_BYTES:
                return None, "the captured answer is too large"
            try:
                payload = json.loads(payload)
            except ValueError:
                continue
        if (
            isinstance(payload, dict)
            and payload.get("nonce") == nonce
            and payload.get("exercise") == exercise
        ):
            found = payload.get("answer")
    if found is None:
        errors = [
            o.get("ename", "") for o in outputs if isinstance(o, dict) and o.get("output_type") == "error"
        ]
        return None, f"the answer could not be captured ({errors[0]})" if errors else "no answer was captured"
    if len(json.dumps(found)) > MAX_BYTES:
        return None, "the captured answer is too large"
    try:
        return decode(found), ""
    except (ValueError, TypeError, OSError) as e:
        return None, f"the captured answer is malformed ({e})"
