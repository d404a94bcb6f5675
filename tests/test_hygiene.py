"""Repository hygiene: notebooks without outputs and with Colab metadata, a table of contents that
matches the files, no machine-specific paths, and the pre-commit hooks that keep it so."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def first_code_cell(nb: dict) -> str:
    return next("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks in book/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_no_outputs_and_python3_kernel(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; run tools/normalize_notebooks.py"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_asks_colab_for_a_gpu(path):
    meta = json.loads(path.read_text())["metadata"]
    assert meta.get("accelerator") == "GPU", f"{path.name}: metadata.accelerator must be GPU"
    assert "colab" in meta


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_with_the_colab_cell(path):
    source = first_code_cell(json.loads(path.read_text()))
    assert '"google.colab" in sys.modules' in source
    install = [line for line in source.splitlines() if "%pip install" in line]
    assert len(install) == 1 and "digitlab" in install[0] and "git+https://github.com/" in install[0]
    assert not re.search(r"\b(numpy|tensorflow|torch|keras)\s*[=<>~!]", install[0]), "the Colab cell pins a framework"
    assert "runtime.env_report()" in source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solution_cells_carry_a_starter(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if "solution" in cell["metadata"].get("tags", []):
            assert cell["cell_type"] == "code"
            assert "starter" in cell["metadata"].get("digitlab", {}), f"{path.name}: solution cell without starter"


def test_toc_lists_existing_files_and_every_chapter():
    listed = toc_files()
    for name in listed:
        assert any((ROOT / f"{name}{ext}").exists() for ext in ("", ".md", ".ipynb")), f"_toc.yml lists missing {name}"
    for path in NOTEBOOKS:
        assert f"book/{path.stem}" in listed, f"{path.name} is not in _toc.yml"


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / line for line in out.splitlines() if (ROOT / line).is_file()]


def test_no_machine_specific_paths_in_tracked_files():
    # Written so that the pattern does not match itself: a developer's checkout, root's or a
    # user's home folder, a Windows profile.
    pattern = re.compile(r"(/wor[k]/main|/roo[t]/|/hom[e]/[a-z]+/|C:\\\\User[s])")
    offenders = []
    for path in tracked_files():
        if path.suffix in {".png", ".jpg", ".wasm"} or path.name == "package-lock.json":
            continue
        text = path.read_text(errors="ignore")
        if pattern.search(text):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"machine-specific paths in {offenders}"


def test_no_large_or_generated_files_tracked():
    for path in tracked_files():
        assert path.stat().st_size < 2_000_000, f"{path} is over 2 MB"
        assert path.suffix not in {".npz", ".keras", ".pt", ".onnx", ".whl"}, f"{path} should not be in git"


def test_gitignore_and_pre_commit():
    ignore = (ROOT / ".gitignore").read_text()
    for entry in (".venv", "_build", "__pycache__", "node_modules"):
        assert entry in ignore
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    ids = {hook["id"] for repo in hooks["repos"] for hook in repo["hooks"]}
    assert {"nbstripout", "ruff"} <= ids
