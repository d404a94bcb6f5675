"""Send back to execution exactly the chapters whose outputs may have changed (``digitlab exec-cache``).

jupyter-cache, which the build uses, executes a notebook again only when its code cells change. A
page also depends on the package code it runs, the zoo models it loads and the environment, so each
chapter gets a key made of:

- ``requirements.txt``, the Python version and the chapter's code cells;
- the code of every package module the chapter imports, transitively (imports inside functions too),
  as a syntax tree without docstrings: comments, docstrings and layout do not count, except in a
  module whose source the chapter prints with ``inspect.getsource`` (that one counts as text);
- for each zoo model it loads (named in its code; all of them when it or a module it imports calls
  ``zoo.names()``): the code of the recipe's provider module and its imports, and what the chapters
  that ``zoo.save`` the model compute.

``update`` compares the keys with the last build's (``<build dir>/.exec-keys.json``). Each chapter
whose key changed, or that has no cached execution, is removed from jupyter-cache (through its API)
and touched, because Sphinx reads a source again only when it is newer than its last reading."""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from digitlab import _io
from digitlab.codegraph import Package, called_name, calls_zoo_names, digest, dotted_name

KEYS_FILE = ".exec-keys.json"
CACHE_FOLDER = ".jupyter_cache"  # where MyST-NB keeps jupyter-cache inside a build folder


@dataclass
class Uses:
    """What one chapter's outputs depend on."""

    cells: str  # hash of its code cells
    modules: set[str]  # package modules it runs, transitively
    shown: set[str]  # modules whose source text it prints
    loads: set[str]  # zoo models it loads
    saves: set[str]  # zoo models it trains and saves itself


def read_notebook(path: Path):
    """The notebook at ``path``: a ``.ipynb`` file, or a MyST Markdown notebook read as MyST-NB reads it."""
    if path.suffix == ".md":
        from myst_nb.core.read import read_myst_markdown_notebook

        return read_myst_markdown_notebook(path.read_text(encoding="utf-8"), path=path)
    import nbformat

    return nbformat.read(str(path), as_version=nbformat.NO_CONVERT)


def is_notebook(path: Path) -> bool:
    """True for a ``.ipynb`` file, or a Markdown file whose front matter makes it a MyST-NB notebook."""
    if path.suffix == ".ipynb":
        return path.is_file()
    head = path.read_text(encoding="utf-8").split("\n---", 1)[0] if path.is_file() else ""
    return head.startswith("---") and ("kernelspec:" in head or "file_format: mystnb" in head)


def executes_always(nb) -> bool:
    """True when the notebook asks MyST-NB to execute it at every reading (never cached)."""
    return nb.metadata.get("mystnb", {}).get("execution_mode") == "force"


def code_cells(notebook: Path) -> list[str]:
    """The source of each code cell of ``notebook``."""
    return [c.source for c in read_notebook(notebook).cells if c.cell_type == "code"]


def parse_cells(cells: list[str]) -> ast.Module | None:
    """The code cells as one module (IPython magics made Python by IPython); None if a cell does not parse."""
    body = []
    for cell in cells:
        tree = _parse_cell(cell)
        if tree is None:
            return None
        body += tree.body
    return ast.Module(body=body, type_ignores=[])


@functools.lru_cache(maxsize=1024)
def _parse_cell(cell: str) -> ast.Module | None:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(cell))
    except SyntaxError:
        return None


def shown_modules(tree: ast.Module, package: Package) -> set[str]:
    """Modules whose objects the chapter passes to ``inspect.getsource`` or to a chapter function calling it."""
    showers = {"getsource"} | {
        f.name
        for f in ast.walk(tree)
        if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
        and any(isinstance(n, ast.Call) and called_name(n) == "getsource" for n in ast.walk(f))
    }
    bound = {}  # local name -> dotted name in the package
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound |= {
                a.asname or a.name.split(".")[0]: a.name if a.asname else a.name.split(".")[0]
                for a in node.names
            }
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            bound |= {a.asname or a.name: f"{node.module}.{a.name}" for a in node.names}
    shown = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and called_name(node) in showers and node.args:
            root, _, rest = dotted_name(node.args[0]).partition(".")
            if root in bound and (module := package.module_of(".".join(filter(None, (bound[root], rest))))):
                shown.add(module)
    return shown


def uses(notebook: Path, package: Package, models: set[str]) -> Uses:
    """What ``notebook`` depends on, read from its code cells."""
    cells = code_cells(notebook)
    tree = parse_cells(cells)
    if tree is None:  # a cell that does not parse: assume it depends on everything
        everything = set(package.files)
        return Uses(digest(*cells), everything, everything, set(models), set())
    modules = package.closure(package.imported(tree))
    nodes = list(ast.walk(tree))
    saves = {
        n.args[0].value
        for n in nodes
        if isinstance(n, ast.Call)
        and dotted_name(n.func) == "zoo.save"
        and n.args
        and isinstance(n.args[0], ast.Constant)
        and n.args[0].value in models
    }
    named = {
        n.value
        for n in nodes
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in models
    }
    if calls_zoo_names(tree) or any(package.lists_models(m) for m in modules):
        named = set(models)
    return Uses(digest(*cells), modules, shown_modules(tree, package), named - saves, saves)


def chapter_keys(notebooks: dict[str, Path], package: Package, environment: str) -> dict[str, dict]:
    """For each notebook (by name): its key and the parts it is made of, which name what changed."""
    providers = package.providers()
    found = {name: uses(path, package, set(providers)) for name, path in notebooks.items()}
    runs = {}  # what a chapter computes, hence the models it saves (the source it prints aside)
    for name, u in found.items():
        runs[name] = {"environment": environment, "code cells": u.cells}
        runs[name] |= {m: package.code_hash(m) for m in sorted(u.modules)}

    @functools.cache
    def model_hash(model: str) -> str:
        recipe = package.closure({providers[model]})
        savers = [name for name, u in found.items() if model in u.saves]
        return digest(
            *(f"{m} {package.code_hash(m)}" for m in sorted(recipe)),
            *(f"{name} {digest(json.dumps(runs[name], sort_keys=True))}" for name in sorted(savers)),
        )

    keys = {}
    for name, u in found.items():
        parts = runs[name] | {f"source of {m}": package.text_hash(m) for m in sorted(u.shown)}
        parts |= {f"zoo model {m}": model_hash(m) for m in sorted(u.loads)}
        keys[name] = {"key": digest(json.dumps(parts, sort_keys=True)), "parts": parts}
    return keys


def toc_notebooks(root: Path) -> dict[str, Path]:
    """The notebooks (``.ipynb`` and MyST Markdown) that ``_toc.yml`` lists, by their path from ``root``."""
    import yaml

    toc_file = root / "_toc.yml"
    if not toc_file.is_file():
        raise ValueError(f"root must be a book folder with a _toc.yml, got {str(root)!r}")
    entries: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            entries.extend(str(node[k]) for k in ("root", "file") if k in node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(toc_file.read_text(encoding="utf-8")))
    found = {}
    for entry in entries:
        names = [entry] if entry.endswith((".ipynb", ".md")) else [f"{entry}.ipynb", f"{entry}.md"]
        found |= {name: root / name for name in names if is_notebook(root / name)}
    return found


def read_config(path: str | Path) -> dict:
    """The book's configuration (``_config.yml``) as a dict: {} when the file is missing or empty."""
    import yaml

    path = Path(path)
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.is_file() else {}


def environment_hash(root: Path) -> str:
    """Hash of the pinned environment: ``requirements.txt`` and the Python version."""
    requirements = root / "requirements.txt"
    text = requirements.read_text(encoding="utf-8") if requirements.is_file() else ""
    return digest(text, f"python {sys.version_info[0]}.{sys.version_info[1]}")


def reasons(old: dict | None, new: dict) -> list[str]:
    """What differs between two keys' parts, in words."""
    if not old:
        return ["no key from an earlier build"]
    a, b = old.get("parts", {}), new["parts"]
    words = [
        f"now uses {p}" if p not in a else f"no longer uses {p}" if p not in b else f"{p} changed"
        for p in sorted(set(a) | set(b))
        if a.get(p) != b.get(p)
    ]
    return (words[:4] + [f"{len(words) - 4} more"] if len(words) > 4 else words) or ["its key changed"]


def _records(cache, notebook: Path) -> list[int]:
    """Primary keys of the cached executions of ``notebook``: the one matching its code, and older ones."""
    pks = []
    try:
        pks.append(cache.match_cache_notebook(read_notebook(notebook)).pk)
    except KeyError:  # not cached
        pass
    here = notebook.resolve()
    pks += [
        r.pk
        for r in cache.list_cache_records()
        if r.uri and Path(r.uri).resolve() == here and r.pk not in pks
    ]
    return pks


def _forget(cache, notebook: Path) -> None:
    """Remove the cached executions of ``notebook`` through jupyter-cache's API."""
    for pk in _records(cache, notebook):
        with contextlib.suppress(KeyError):  # its files are already gone
            cache.remove_cache(pk)


def _write_keys(path: Path, keys: dict) -> None:
    """Write ``keys`` as JSON atomically (temporary file, then rename)."""
    _io.write_json(path, keys, indent=1, sort_keys=True)


def update(
    root: str | Path = ".",
    build_dir: str | Path = "_build",
    package_dir: str | Path = "src/digitlab",
    out=print,
) -> list[str]:
    """Send back to execution the chapters whose key changed or that have no cached execution; return their names."""
    root, build = Path(root), Path(build_dir)
    notebooks = toc_notebooks(root)
    keys = chapter_keys(notebooks, Package(package_dir), environment_hash(root))
    before = json.loads((build / KEYS_FILE).read_text()) if (build / KEYS_FILE).is_file() else {}
    cache = None
    if (build / CACHE_FOLDER).is_dir():
        from jupyter_cache import get_cache

        cache = get_cache(build / CACHE_FOLDER)
    again = []
    for name, path in notebooks.items():
        if before.get(name, {}).get("key") != keys[name]["key"]:
            why = reasons(before.get(name), keys[name])
            if cache is not None:
                _forget(cache, path)
        elif not executes_always(read_notebook(path)) and (cache is None or not _records(cache, path)):
            why = ["no cached execution"]  # a failed or interrupted execution, or a deleted cache
        else:
            continue
        os.utime(path)  # newer than Sphinx's last reading: the page is read, hence executed, again
        out(f"{path.stem}: {', '.join(why)}")
        again.append(path.stem)
    _write_keys(build / KEYS_FILE, keys)
    out(f"execution cache {build / CACHE_FOLDER}: {len(again)} of {len(notebooks)} chapters to execute")
    return again


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``digitlab exec-cache``."""
    parser.add_argument(
        "--build-dir",
        default="_build",
        help="build folder holding .jupyter_cache and .exec-keys.json (default: _build)",
    )
    parser.add_argument(
        "--package-dir",
        default="src/digitlab",
        help="folder of the package the chapters import (default: src/digitlab)",
    )
    parser.add_argument("--root", default=".", help="the book's folder, with _toc.yml (default: .)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="execute the chapters to run now, this many at a time, before the build reads them "
        "(default 1: the build executes them itself, one after another); for quick mode",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``update`` with parsed arguments, then execute what it sent back ``--jobs`` at a time."""
    try:
        if args.jobs < 1:
            raise ValueError(f"--jobs must be a positive integer, got {args.jobs}")
        again = update(args.root, args.build_dir, args.package_dir)
        if args.jobs > 1 and again:
            from digitlab import parallel_exec

            root = Path(args.root)
            paths = [
                p
                for p in toc_notebooks(root).values()
                if p.stem in again and not executes_always(read_notebook(p))  # MyST-NB runs those anyway
            ]
            timeout = parallel_exec.cell_timeout(root)
            parallel_exec.execute(Path(args.build_dir) / CACHE_FOLDER, paths, args.jobs, timeout=timeout)
    except (ValueError, FileNotFoundError, SyntaxError) as e:
        print(f"digitlab exec-cache: {e}", file=sys.stderr)
        return 2
    return 0
