"""Normalise the book's notebooks: no outputs, the python3 kernel, Colab metadata (a GPU when it trains).

Usage: python tools/normalize_notebooks.py [book/*.ipynb]
Run it after editing a chapter (pre-commit runs nbstripout too). It rewrites files atomically and
only when something changed. The Colab cell itself is written by hand; tests/test_hygiene.py checks
that every chapter has it, and this tool pins its install line to this release's tag
(``git+https://github.com/digitlab-book/digitlab@v<version>``), so that the cell a reader copies from
the site installs the package the site was built with, as the Colab edition does. A chapter whose first cell calls ``runtime.env_report(trains=True)`` trains a
network, so Colab is asked for a T4 GPU; the others ask for none (no GPU quota spent on NumPy).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
COLAB = {"provenance": [], "gpuType": "T4", "toc_visible": True}
# The install line of the Colab cell: the repository, then an optional tag that the tool rewrites.
INSTALL = re.compile(
    r'(digitlab(?:\[[\w,\s-]+\])? @ git\+https://github\.com/digitlab-book/digitlab)(?:@v[\w.]+)?"'
)


def version() -> str:
    """The release in src/digitlab/__init__.py, read as text (the tool needs no installed package)."""
    init = Path(__file__).resolve().parents[1] / "src" / "digitlab" / "__init__.py"
    return re.search(r'^__version__ = "([^"]+)"', init.read_text(encoding="utf-8"), re.M).group(1)


def pin_install(nb: dict) -> None:
    """Pin the first code cell's install line to this release's tag."""
    first = next((c for c in nb["cells"] if c["cell_type"] == "code"), None)
    if first is not None:
        source = INSTALL.sub(lambda m: f'{m.group(1)}@v{version()}"', "".join(first["source"]))
        first["source"] = source.splitlines(keepends=True)


def trains(nb: dict) -> bool:
    """True when the first code cell says the chapter trains a network."""
    first = next(("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"), "")
    return "env_report(trains=True)" in first


def normalize(nb: dict) -> dict:
    """Return ``nb`` with outputs cleared, the book's metadata set and its install line pinned."""
    pin_install(nb)
    for cell in nb["cells"]:
        cell.pop("id", None) if nb.get("nbformat_minor", 0) < 5 else None
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        meta = cell.get("metadata", {})
        for key in ("execution", "collapsed", "scrolled", "jupyter", "ExecuteTime"):
            meta.pop(key, None)
        cell["metadata"] = meta
    meta = nb.setdefault("metadata", {})
    meta["kernelspec"] = KERNELSPEC
    meta["language_info"] = {"name": "python"}
    name = {k: v for k, v in meta.get("colab", {}).items() if k == "name"}
    meta["colab"] = {k: v for k, v in {**COLAB, **name}.items() if k != "gpuType" or trains(nb)}
    if trains(nb):
        meta["accelerator"] = "GPU"
    else:
        meta.pop("accelerator", None)
    for key in ("jupytext", "widgets"):
        meta.pop(key, None)
    return nb


def main(paths: list[str]) -> int:
    paths = paths or sorted(str(p) for p in Path("book").glob("*.ipynb"))
    for path in map(Path, paths):
        text = path.read_text(encoding="utf-8")
        new = json.dumps(normalize(json.loads(text)), indent=1, ensure_ascii=False) + "\n"
        if new != text:
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".ipynb.tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(new)
            os.replace(tmp, path)
            print(f"normalised {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
