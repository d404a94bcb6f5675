"""Check what `make dist` built: one wheel and one sdist of the current version, the wheel holding
the package, its licences and nothing else (no tests, book, answers or build output).

Usage: python tools/check_dist.py [dist]
"""

from __future__ import annotations

import re
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = re.compile(r"(^|/)(tests?|book|answers|_build|student|\.venv[^/]*)/")


def version() -> str:
    """digitlab.__version__, read from the source without importing the package."""
    text = (ROOT / "src" / "digitlab" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__ = "([^"]+)"', text, flags=re.M)[1]


def check(folder: Path) -> list[str]:
    """Problems found in ``folder`` (empty when the release is sound)."""
    v = version()
    wheels, sdists = sorted(folder.glob("*.whl")), sorted(folder.glob("*.tar.gz"))
    if [w.name for w in wheels] != [f"digitlab-{v}-py3-none-any.whl"] or len(sdists) != 1:
        return [f"expected one wheel and one sdist of {v}, found {[p.name for p in wheels + sdists]}"]
    names = zipfile.ZipFile(wheels[0]).namelist()
    problems = [f"wheel holds {n}" for n in names if FORBIDDEN.search(n)]
    problems += [
        f"wheel holds {n}" for n in names if not n.startswith(("digitlab/", f"digitlab-{v}.dist-info/"))
    ]
    for needed in ("digitlab/__init__.py", "digitlab/runtime.py", "digitlab/exercises/__init__.py"):
        if needed not in names:
            problems.append(f"wheel lacks {needed}")
    licences = [n for n in names if re.search(r"\.dist-info/licenses/LICENSE(-text)?$", n)]
    if len(licences) != 2:
        problems.append(f"wheel carries licences {licences}, expected LICENSE and LICENSE-text")
    members = tarfile.open(sdists[0]).getnames()
    problems += [f"sdist holds {n}" for n in members if re.search(r"(^|/)(book|_build|\.venv[^/]*)/", n)]
    return problems


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "dist")
    problems = check(folder)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{folder}: wheel and sdist of digitlab {version()} hold the package and nothing else")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
