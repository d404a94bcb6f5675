"""ARCHITECTURE.md stays true: every module it names exists, every module of the package is named."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "digitlab"
PAGE = ROOT / "ARCHITECTURE.md"


def package_modules() -> set[str]:
    """Every module of src/digitlab as a dotted name below ``digitlab`` (packages by their own name)."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and parts[-1] not in {"__main__"}:
            names.add(".".join(parts))
    return names


def named_modules() -> set[str]:
    """The modules the page's tables name: the first cell of each row, in backticks."""
    names = set()
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        cell = line.split("|")[1] if line.startswith("|") else ""
        for name in re.findall(r"`([a-z_][\w.]*)`", cell):
            names.add(name)
    # "exercises.ch00 ... exercises.ch09" names the whole range
    if {"exercises.ch00", "exercises.ch09"} <= names:
        names |= {f"exercises.ch{i:02d}" for i in range(10)}
    return names


def test_every_module_named_exists():
    missing = named_modules() - package_modules()
    assert not missing, f"ARCHITECTURE.md names modules that do not exist: {sorted(missing)}"


def test_every_module_is_named():
    unnamed = package_modules() - named_modules()
    assert not unnamed, f"modules missing from ARCHITECTURE.md: {sorted(unnamed)}"


def test_readme_and_contributing_link_it_and_point_nowhere_outside():
    for name in ("README.md", "CONTRIBUTING.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "ARCHITECTURE.md" in text, f"{name} does not link ARCHITECTURE.md"
        assert "steering" not in text.lower() and "../shared" not in text, (
            f"{name} points outside the repository"
        )
