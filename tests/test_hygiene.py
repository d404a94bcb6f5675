"""Repository hygiene: notebooks without outputs and with Colab metadata, a table of contents that
matches the files, no machine-specific paths, and the pre-commit hooks that keep it so."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

import digitlab

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
    dirty = [
        i
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; run tools/normalize_notebooks.py"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def trains_a_network(nb: dict) -> bool:
    """True when a notebook trains a network itself or through the zoo (a fresh Colab runtime trains)."""
    code = "\n".join("".join(c["source"]) for c in nb["cells"][1:] if c["cell_type"] == "code")
    pattern = r"^\s*(import|from)\s+(keras|tensorflow|torch)\b|\b(zoo|bench|keras_models|torch_\w+)\b"
    return bool(re.search(pattern, code, flags=re.M))


def test_chapters_0_and_1_train_nothing_and_the_rest_do():
    trains = {p.stem: trains_a_network(json.loads(p.read_text())) for p in NOTEBOOKS}
    assert not trains.pop("00-meet-mnist") and not trains.pop("01-perceptron")
    assert all(trains.values()), f"expected to train: {trains}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_asks_colab_for_a_gpu_only_when_it_trains(path):
    nb = json.loads(path.read_text())
    meta = nb["metadata"]
    assert "colab" in meta
    if trains_a_network(nb):
        assert meta.get("accelerator") == "GPU", f"{path.name}: metadata.accelerator must be GPU"
        assert meta["colab"].get("gpuType") == "T4"
    else:
        assert "accelerator" not in meta and "gpuType" not in meta["colab"], (
            f"{path.name} asks for a GPU it never uses"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_with_the_colab_cell(path):
    nb = json.loads(path.read_text())
    source = first_code_cell(nb)
    assert '"google.colab" in sys.modules' in source
    install = [line for line in source.splitlines() if "%pip install" in line]
    assert len(install) == 1 and "digitlab" in install[0] and "git+https://github.com/" in install[0]
    assert f'digitlab@v{digitlab.__version__}"' in install[0], (
        f"{path.name}: the install line must pin this release's tag (run tools/normalize_notebooks.py)"
    )
    assert not re.search(r"\b(numpy|tensorflow|torch|keras)\s*[=<>~!]", install[0]), (
        "the Colab cell pins a framework"
    )
    expected = "runtime.env_report(trains=True)" if trains_a_network(nb) else "runtime.env_report()"
    assert source.rstrip().endswith(expected), f"{path.name}: the first cell must end with {expected}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solution_cells_carry_a_starter(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if "solution" in cell["metadata"].get("tags", []):
            assert cell["cell_type"] == "code"
            assert "starter" in cell["metadata"].get("digitlab", {}), (
                f"{path.name}: solution cell without starter"
            )


def test_toc_lists_existing_files_and_every_chapter():
    listed = toc_files()
    for name in listed:
        assert any((ROOT / f"{name}{ext}").exists() for ext in ("", ".md", ".ipynb")), (
            f"_toc.yml lists missing {name}"
        )
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
