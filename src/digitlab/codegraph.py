"""What Python code runs, read from its syntax tree: a package's import graph and docstring-free code hashes.

``digitlab exec-cache`` (``buildcache``) uses it to find which package modules each chapter runs. A
module's code hash is the hash of its syntax tree without docstrings, so comments, docstrings and
layout do not change it. Modules are read from their folder, never imported.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path


def digest(*parts: str) -> str:
    """A short SHA-256 of ``parts``."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def strip_docstrings(tree: ast.AST) -> ast.AST:
    """``tree`` without statements that are a bare string (docstrings): they never change what code does."""
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if not isinstance(body, list):
                continue
            kept = [
                s
                for s in body
                if not (
                    isinstance(s, ast.Expr)
                    and isinstance(s.value, ast.Constant)
                    and isinstance(s.value.value, str)
                )
            ]
            if len(kept) != len(body):
                setattr(node, name, kept or [ast.Pass()])
    return tree


def code_hash(source: str) -> str:
    """Hash of Python code as its syntax tree without docstrings (comments and layout never reach it)."""
    return digest(ast.dump(strip_docstrings(ast.parse(source))))


def called_name(call: ast.Call) -> str:
    """The name a call is made by: ``f`` for ``f(...)`` and ``a.b.f(...)``."""
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def dotted_name(node: ast.AST) -> str:
    """``a.b.c`` for an attribute chain on a name, else ""."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""


def calls_zoo_names(tree: ast.AST) -> bool:
    """True when the code calls ``zoo.names()``: it may load every model of the zoo."""
    return any(isinstance(n, ast.Call) and dotted_name(n.func) == "zoo.names" for n in ast.walk(tree))


class Package:
    """The modules of one package, read from its folder (never imported)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not (self.folder / "__init__.py").is_file():
            raise ValueError(f"package_dir must be a package folder with an __init__.py, got {str(folder)!r}")
        self.name = self.folder.name
        self.files: dict[str, Path] = {}
        for path in sorted(self.folder.rglob("*.py")):
            parts = path.relative_to(self.folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            self.files[".".join((self.name, *parts))] = path
        self._text = {m: p.read_text(encoding="utf-8") for m, p in self.files.items()}
        self._tree = {m: ast.parse(t, str(self.files[m])) for m, t in self._text.items()}
        self._code: dict[str, str] = {}
        self._imports: dict[str, set[str]] = {}
        self._lists: dict[str, bool] = {}

    def code_hash(self, module: str) -> str:
        """Hash of the module's code, docstrings and comments excluded."""
        if module not in self._code:
            self._code[module] = code_hash(self._text[module])
        return self._code[module]

    def text_hash(self, module: str) -> str:
        """Hash of the module's text, as ``inspect.getsource`` shows it."""
        return digest(self._text[module])

    def module_of(self, dotted: str) -> str | None:
        """The module whose text holds ``dotted``: its longest prefix that is a module of the package,
        followed through the package's re-exports (``numpy_nets.MLP`` is ``numpy_nets.mlp.MLP``)."""
        parts = dotted.split(".")
        for i in range(len(parts), 0, -1):
            module = ".".join(parts[:i])
            if module in self.files:
                source = self._reexported(module, parts[i]) if i < len(parts) else None
                return self.module_of(".".join([source, *parts[i:]])) if source else module
        return None

    def _reexported(self, module: str, name: str) -> str | None:
        """The other module of the package that ``module`` imports ``name`` from, if any."""
        for node in self._tree[module].body:
            if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == name for a in node.names):
                base = self._absolute(node, module)
                if base in self.files and base != module:
                    return base
        return None

    def _with_parents(self, dotted: str) -> set[str]:
        """The modules that importing ``dotted`` runs: it and the packages above it, where they are ours."""
        parts = dotted.split(".")
        return {m for i in range(1, len(parts) + 1) if (m := ".".join(parts[:i])) in self.files}

    def _absolute(self, node: ast.ImportFrom, module: str | None) -> str | None:
        """The absolute module a ``from ... import`` names (relative imports resolved inside ``module``)."""
        if node.level == 0:
            return node.module
        if module is None:  # a relative import in a notebook cell: not ours
            return None
        base = module.split(".")
        if self.files[module].name != "__init__.py":
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        return ".".join([*base, node.module] if node.module else base)

    def imported(self, tree: ast.AST, module: str | None = None) -> set[str]:
        """Modules of the package that ``tree`` imports anywhere (inside functions too)."""
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found |= self._with_parents(alias.name)
            elif isinstance(node, ast.ImportFrom) and (base := self._absolute(node, module)):
                found |= self._with_parents(base)
                for alias in node.names:
                    found |= self._with_parents(f"{base}.{alias.name}")
        return found

    def closure(self, modules: set[str]) -> set[str]:
        """``modules`` and every module of the package they import, transitively."""
        seen: set[str] = set()
        todo = list(modules)
        while todo:
            module = todo.pop()
            if module in self.files and module not in seen:
                seen.add(module)
                if module not in self._imports:
                    self._imports[module] = self.imported(self._tree[module], module)
                todo.extend(self._imports[module])
        return seen

    def lists_models(self, module: str) -> bool:
        """True when the module calls ``zoo.names()``."""
        if module not in self._lists:
            self._lists[module] = calls_zoo_names(self._tree[module])
        return self._lists[module]

    def providers(self) -> dict[str, str]:
        """The zoo's ``REGISTRY`` as model name -> module defining its recipe, read from ``zoo.py``."""
        tree = self._tree.get(f"{self.name}.zoo")
        for node in ast.walk(tree) if tree else ():
            target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
            if isinstance(target, ast.Name) and target.id == "REGISTRY" and node.value is not None:
                return {name: where.split(":")[0] for name, where in ast.literal_eval(node.value).items()}
        return {}
