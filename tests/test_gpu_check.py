"""tools/gpu_check: the notebook-to-script conversion and the report's shape, on the CPU."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from gpu_check import nb2py  # noqa: E402


def notebook(tmp_path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# title")] + [nbformat.v4.new_code_cell(c) for c in cells]
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nb, path)
    return path


def run(script: str, tmp_path: Path, **env) -> subprocess.CompletedProcess:
    path = tmp_path / "chapter.py"
    path.write_text(script)
    return subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, env={**_env(), **env}, cwd=tmp_path
    )


def _env():
    import os

    return {k: v for k, v in os.environ.items() if k != "GPU_CHECK_GLUE"}


def test_magics_become_pass_and_glue_is_recorded(tmp_path):
    path = notebook(
        tmp_path,
        'import sys\nif "google.colab" in sys.modules:\n    %pip install -q digitlab\n!nvidia-smi',
        "from myst_nb import glue\nglue('acc', 0.99, display=False)\nglue('verdict', 'faster')",
        "display({'a': 1})\nx = 2\nx",
    )
    script, dropped = nb2py.convert(path)
    assert dropped == [] and "%pip" not in script and "!nvidia" not in script
    glue_file = tmp_path / "glue.json"
    done = run(script, tmp_path, GPU_CHECK_GLUE=str(glue_file))
    assert done.returncode == 0, done.stderr
    assert "{'a': 1}" in done.stdout, "display prints"
    assert json.loads(glue_file.read_text()) == {"acc": 0.99, "verdict": "faster"}


def test_drop_removes_what_names_keras_and_what_depends_on_it(tmp_path):
    path = notebook(
        tmp_path,
        "import keras\nimport math",
        "aug = keras.Sequential([])\nwrapped = [aug]\nn = math.floor(2.5)",
        "print(len(wrapped))\nprint(n)",
        "wrapped = 'plain again'\nprint(wrapped)",
    )
    script, dropped = nb2py.convert(path, {"keras"})
    assert dropped == ["import keras", "aug = keras.Sequential([])", "wrapped = [aug]", "print(len(wrapped))"]
    done = run(script, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "plain", "again"]
    with pytest.raises(ValueError, match="not a notebook"):
        (tmp_path / "bad.ipynb").write_text("{}")
        nb2py.code_cells(tmp_path / "bad.ipynb")


def test_every_pytorch_chapter_converts_to_valid_python():
    for name, drop in (("04-pytorch-cnn", set()), ("04-training-fast", set()), ("07-going-further", set())):
        script, dropped = nb2py.convert(ROOT / "book" / f"{name}.ipynb", drop)
        compile(script, name, "exec")
        assert dropped == []
    script, dropped = nb2py.convert(ROOT / "book" / "06-augmentation.ipynb", {"keras"})
    compile(script, "06", "exec")
    assert "keras" not in script.split("do not edit.", 1)[1].replace("keras_pipeline", "")
    assert "augment.random_affine" in script and len(dropped) >= 5


def test_the_report_names_every_stage_with_its_result(tmp_path):
    env = {**_env(), "PYTHONPATH": f"{ROOT / 'src'}:{ROOT / 'tools'}"}
    done = subprocess.run(
        [sys.executable, "-m", "gpu_check", "--stages", "probe", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert [s["stage"] for s in report["stages"]] == ["probe"] and report["passed"] is True
    probe = report["stages"][0]
    assert probe["result"] == "pass" and probe["simulated"]["Tesla T4"]["precision"] == "float16"
    if not report["gpu"]:
        assert report["mode"] == "quick (no GPU: CPU run)"
    bad = subprocess.run(
        [sys.executable, "-m", "gpu_check", "--stages", "probe,nope"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert bad.returncode == 2 and "unknown stage(s) ['nope']" in bad.stderr


def test_a_stage_that_raises_or_misses_a_check_fails():
    from gpu_check import common

    def broken():
        raise RuntimeError("CUDA out of memory")

    entry = common.stage("broken", broken)
    assert entry["result"] == "fail" and entry["error"] == "RuntimeError: CUDA out of memory"
    failed = []
    assert not common.check(failed, 0.98 >= 0.99, "floor missed")
    entry = common.stage("floors", lambda: {"failed": failed})
    assert entry["result"] == "fail" and entry["failed"] == ["floor missed"]
    assert common.stage("fine", lambda: {"failed": []})["result"] == "pass"
