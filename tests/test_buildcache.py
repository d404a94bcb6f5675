"""digitlab.buildcache: which chapters execute again after an edit (the throwaway-book build is in test_build)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from digitlab import buildcache, cli, codegraph, parallel_exec

ROOT = Path(__file__).resolve().parents[1]
AUGMENT_DEPENDENTS = {
    "04-pytorch-cnn",
    "05-evaluation",
    "06-augmentation",
    "07-going-further",
    "08-your-handwriting",
    "results",
}


@pytest.fixture
def package(tmp_path):
    """A copy of the real package, to edit."""
    copy = tmp_path / "digitlab"
    shutil.copytree(ROOT / "src" / "digitlab", copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def real_keys(package_dir: Path) -> dict[str, dict]:
    """Each real chapter's key (by file stem), computed from ``package_dir``."""
    notebooks = buildcache.toc_notebooks(ROOT)
    keys = buildcache.chapter_keys(notebooks, codegraph.Package(package_dir), "env")
    return {Path(name).stem: entry for name, entry in keys.items()}


def changed_by(package_dir: Path, module: str, edit) -> set[str]:
    """The real chapters whose key changes when ``edit`` rewrites the text of ``module`` (a file name)."""
    before = real_keys(package_dir)
    path = package_dir / module
    text = path.read_text()
    path.write_text(edit(text))
    after = real_keys(package_dir)
    path.write_text(text)
    return {name for name in before if before[name]["key"] != after[name]["key"]}


def reword_docstring(text: str) -> str:
    """The module docstring reworded and a comment added: no code changes."""
    assert text.startswith('"""')
    return '"""Reworded. ' + text[3:].replace("\nfrom __future__", "\n# a new comment\nfrom __future__", 1)


def add_code(text: str) -> str:
    return text + "\n_EDITED = 1\n"


def test_code_hash_ignores_docstrings_comments_and_layout():
    source = (ROOT / "src" / "digitlab" / "runtime.py").read_text()
    same = reword_docstring(source).replace("def ", "# the next function\ndef ", 3)
    assert codegraph.code_hash(same) == codegraph.code_hash(source)
    assert codegraph.code_hash(add_code(source)) != codegraph.code_hash(source)
    assert codegraph.code_hash(source.replace("return", "return  ", 1)) == codegraph.code_hash(source)


def test_a_function_that_was_only_a_docstring_still_hashes():
    only_doc = 'def f():\n    """Nothing else."""\n'
    assert codegraph.code_hash(only_doc) == codegraph.code_hash('def f():\n    """Other words."""\n')
    assert codegraph.code_hash(only_doc) != codegraph.code_hash("def f():\n    return 1\n")


def test_real_chapters_import_what_they_use():
    package = codegraph.Package(ROOT / "src" / "digitlab")
    providers = set(package.providers())
    assert {"keras_cnn", "torch_strong"} <= providers
    uses = {
        path.stem: buildcache.uses(path, package, providers)
        for path in buildcache.toc_notebooks(ROOT).values()
    }
    assert len(uses) >= 10
    # chapter 7 imports torch_strong, which imports augment
    assert "digitlab.augment" in uses["07-going-further"].modules
    assert {"digitlab.runtime", "digitlab.data", "digitlab.exercises.ch00"} <= uses["00-meet-mnist"].modules
    assert "digitlab.torch_train" not in uses["00-meet-mnist"].modules
    assert all("digitlab.grade" not in u.modules and "digitlab.cli" not in u.modules for u in uses.values())
    # zoo models: saved by chapters 2 to 4, loaded by later ones, all of them by the results page
    assert uses["03-keras-cnn"].saves == {"keras_cnn"} and uses["03-keras-cnn"].loads == {"keras_mlp"}
    assert uses["05-evaluation"].loads == {"keras_cnn", "torch_cnn"}
    assert uses["results"].loads == providers
    # chapters that print package source depend on its text
    assert uses["01-perceptron"].shown == {"digitlab.numpy_nets.linear"}  # re-exported by numpy_nets
    assert uses["02-mlp"].shown >= {"digitlab.numpy_nets.mlp"}
    assert uses["08-your-handwriting"].shown == {"digitlab.preprocess"}
    # the instructors' page is a MyST Markdown notebook, executed at every reading
    assert "digitlab.editions" in uses["instructors"].modules


def test_chapters_that_depend_on_augment(package):
    importers = {name for name, entry in real_keys(package).items() if "digitlab.augment" in entry["parts"]}
    # chapters 4, 5 and 8 through torch_recipes (chapter 7's recipe trains with augmentation; 5 and 8
    # read its validation split), chapter 6 through tta too
    assert importers == {
        "04-pytorch-cnn",
        "05-evaluation",
        "06-augmentation",
        "07-going-further",
        "08-your-handwriting",
    }
    # plus the chapters that load a model trained with it (08 through chapter 7's ONNX export)
    assert changed_by(package, "augment.py", add_code) == AUGMENT_DEPENDENTS


def test_docstring_and_comment_edits_change_no_key(package):
    before = real_keys(package)
    for module in ("runtime.py", "augment.py", "zoo.py", "exercises/core.py"):
        (package / module).write_text(reword_docstring((package / module).read_text()))
    assert real_keys(package) == before


@pytest.mark.parametrize(
    ("module", "chapters"),
    [
        ("runtime.py", "all"),
        ("grade.py", ""),
        ("cli.py", ""),
        ("bench.py", "results"),
        ("exercises/ch05.py", "05-evaluation"),
        (
            "compress.py",
            "07-going-further,08-your-handwriting,results",
        ),  # chapter 8's predict finds exports through it, and the results page's compare predicts with it
    ],
)
def test_code_edits_change_exactly_the_dependent_chapters(package, module, chapters):
    expected = set(real_keys(package)) if chapters == "all" else set(filter(None, chapters.split(",")))
    assert changed_by(package, module, add_code) == expected


def test_a_comment_in_printed_source_changes_the_chapters_that_print_it(package):
    def comment(text):
        return text.replace("\nimport numpy as np\n", "\nimport numpy as np  # arrays\n", 1)

    assert changed_by(package, "numpy_nets/linear.py", comment) == {"01-perceptron"}
    assert changed_by(package, "numpy_nets/mlp.py", comment) == {"02-mlp"}


def write_book(root: Path, chapters: dict[str, str], modules: dict[str, str]) -> None:
    """A minimal book folder: a _toc.yml, one-cell chapters and a package ``fakelab``."""
    (root / "book").mkdir(parents=True)
    for name, code in chapters.items():
        nb = {
            "cells": [
                {
                    "cell_type": "code",
                    "metadata": {},
                    "outputs": [],
                    "execution_count": None,
                    "source": code,
                    "id": "c",
                }
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        (root / "book" / f"{name}.ipynb").write_text(json.dumps(nb))
    toc = "format: jb-book\nroot: book/intro\nchapters:\n" + "".join(f"- file: book/{n}\n" for n in chapters)
    (root / "_toc.yml").write_text(toc)
    (root / "requirements.txt").write_text("numpy==2.0\n")
    (root / "fakelab").mkdir()
    for name, source in {"__init__.py": "", **modules}.items():
        (root / "fakelab" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "fakelab" / name).write_text(source)


def keys_of(root: Path) -> dict[str, str]:
    keys = buildcache.chapter_keys(buildcache.toc_notebooks(root), codegraph.Package(root / "fakelab"), "env")
    return {Path(name).stem: entry["key"] for name, entry in keys.items()}


def test_relative_imports_and_zoo_models_are_followed(tmp_path):
    write_book(
        tmp_path,
        {
            "trains": "from fakelab import zoo, models\nzoo.save('net', models.train())",
            "loads": "from fakelab import zoo\nnet = zoo.get('net')",
            "lists": "from fakelab import report\nreport.table()",
            "alone": "print(1)",
        },
        {
            "zoo.py": "REGISTRY = {'net': 'fakelab.models:NET'}\ndef get(name): ...\ndef names(): ...\n",
            "models.py": "from .sub import layer\ndef train():\n    return layer.build()\n",
            "sub/__init__.py": "",
            "sub/layer.py": "def build():\n    return 1\n",
            "report.py": "from fakelab import zoo\ndef table():\n    return zoo.names()\n",
        },
    )
    before = keys_of(tmp_path)
    layer = tmp_path / "fakelab" / "sub" / "layer.py"
    layer.write_text("def build():\n    return 2\n")
    after = keys_of(tmp_path)
    # the trainer imports it (through a relative import); the loaders load the model it builds
    assert {n for n in before if before[n] != after[n]} == {"trains", "loads", "lists"}
    nb = tmp_path / "book" / "trains.ipynb"
    nb.write_text(
        nb.read_text()
        .replace("models.train()", "models.train() ")
        .replace("zoo.save('net', models.train())", "zoo.save('net', models.train() + 1)")
    )
    later = keys_of(tmp_path)
    # a new model from its producer chapter: every chapter that loads it executes again
    assert {n for n in after if after[n] != later[n]} == {"trains", "loads", "lists"}


def test_a_cell_that_does_not_parse_depends_on_everything(tmp_path):
    write_book(
        tmp_path,
        {"broken": "def (", "magic": "%time x = 1\n!echo hi\nimport fakelab.a"},
        {"a.py": "A = 1\n", "b.py": "B = 1\n"},
    )
    package = codegraph.Package(tmp_path / "fakelab")
    broken = buildcache.uses(tmp_path / "book" / "broken.ipynb", package, set())
    assert broken.modules == set(package.files)
    magic = buildcache.uses(tmp_path / "book" / "magic.ipynb", package, set())
    assert magic.modules == {"fakelab", "fakelab.a"}


def test_update_removes_exactly_the_changed_chapters_from_jupyter_cache(tmp_path):
    from jupyter_cache import get_cache

    write_book(
        tmp_path,
        {"one": "from fakelab import a", "two": "from fakelab import b"},
        {"a.py": "A = 1\n", "b.py": "B = 1\n"},
    )
    build = tmp_path / "_build"
    lines = []
    assert buildcache.update(tmp_path, build, tmp_path / "fakelab", out=lines.append) == ["one", "two"]
    assert lines[0] == "one: no key from an earlier build"
    cache = get_cache(build / buildcache.CACHE_FOLDER)
    notebooks = {name: tmp_path / "book" / f"{name}.ipynb" for name in ("one", "two")}
    for path in notebooks.values():  # what the build does: execute, then cache
        cache.cache_notebook_file(str(path), uri=str(path), check_validity=False)
    old = {name: path.stat().st_mtime_ns for name, path in notebooks.items()}
    lines.clear()
    assert buildcache.update(tmp_path, build, tmp_path / "fakelab", out=lines.append) == []
    assert lines == ["execution cache %s: 0 of 2 chapters to execute" % (build / ".jupyter_cache")]

    (tmp_path / "fakelab" / "a.py").write_text('"""Now documented."""\nA = 2  # changed\n')
    lines.clear()
    assert buildcache.update(tmp_path, build, tmp_path / "fakelab", out=lines.append) == ["one"]
    assert lines[0] == "one: fakelab.a changed"
    with pytest.raises(KeyError):
        cache.match_cache_file(str(notebooks["one"]))
    assert cache.match_cache_file(str(notebooks["two"])).pk
    assert notebooks["one"].stat().st_mtime_ns > old["one"], "Sphinx must read the chapter again"
    assert notebooks["two"].stat().st_mtime_ns == old["two"]
    # the build was interrupted before chapter one was cached again: it is sent back once more
    assert buildcache.update(tmp_path, build, tmp_path / "fakelab", out=lines.append) == ["one"]
    assert "one: no cached execution" in lines


def test_bad_arguments_are_named(tmp_path, capsys):
    with pytest.raises(ValueError, match="package_dir"):
        codegraph.Package(tmp_path)
    with pytest.raises(ValueError, match="root"):
        buildcache.toc_notebooks(tmp_path)
    assert cli.main(["exec-cache", "--root", str(tmp_path), "--package-dir", str(tmp_path)]) == 2
    assert "digitlab exec-cache:" in capsys.readouterr().err
    assert cli.main(["exec-cache", "--root", str(tmp_path), "--jobs", "0"]) == 2
    assert "--jobs must be a positive integer, got 0" in capsys.readouterr().err
    for jobs in (0, 1.5, True):
        with pytest.raises(ValueError, match="jobs must be a positive integer"):
            parallel_exec.execute(tmp_path, [tmp_path / "a.ipynb"], jobs)
    assert parallel_exec.execute(tmp_path, [tmp_path / "page.md"], 2) == []  # only .ipynb files are executed


def test_a_markdown_notebook_executed_at_every_reading_is_touched_only_when_its_key_changes(tmp_path):
    write_book(tmp_path, {"one": "import fakelab.a"}, {"a.py": "A = 1\n"})
    page = tmp_path / "book" / "page.md"
    page.write_text(
        "---\nkernelspec:\n  name: python3\n  display_name: Python 3\nmystnb:\n"
        "  execution_mode: force\n---\n\n# A page\n\n```{code-cell} ipython3\n"
        "from fakelab import a\nprint(a.A)\n```\n"
    )
    (tmp_path / "_toc.yml").write_text((tmp_path / "_toc.yml").read_text() + "- file: book/page\n")
    assert set(buildcache.toc_notebooks(tmp_path)) == {"book/one.ipynb", "book/page.md"}
    build = tmp_path / "_build"
    (build / buildcache.CACHE_FOLDER).mkdir(parents=True)
    assert buildcache.update(tmp_path, build, tmp_path / "fakelab", out=print) == ["one", "page"]
    # "one" was never cached (no build ran); "page" never is, and its key did not change
    assert buildcache.update(tmp_path, build, tmp_path / "fakelab", out=print) == ["one"]
    (tmp_path / "fakelab" / "a.py").write_text("A = 2\n")
    assert buildcache.update(tmp_path, build, tmp_path / "fakelab", out=print) == ["one", "page"]


def test_the_parallel_executor_takes_the_build_s_cell_timeout(tmp_path):
    assert parallel_exec.cell_timeout(tmp_path) == parallel_exec.DEFAULT_TIMEOUT  # no _config.yml
    (tmp_path / "_config.yml").write_text("title: t\nexecute:\n  execute_notebooks: cache\n  timeout: 42\n")
    assert parallel_exec.cell_timeout(tmp_path) == 42
    assert parallel_exec.cell_timeout(ROOT) == 1800  # the book's own _config.yml


def stand_in_worker(data) -> tuple[int, str, float]:
    """Instead of jupyter-cache's worker: ``once`` cannot run the first time, ``cell`` has a failing cell."""
    path = Path(data.uri)
    if path.stem == "cell":
        return 1, data.uri, 0.0
    marker = path.with_suffix(".tried")
    if path.stem == "once" and not marker.exists():
        marker.touch()
        return 2, data.uri, 0.0
    return 0, data.uri, 0.0


def test_a_chapter_that_could_not_run_is_tried_once_more_alone(tmp_path, monkeypatch):
    import nbformat

    for name in ("fine", "once", "cell"):
        nbformat.write(nbformat.v4.new_notebook(), tmp_path / f"{name}.ipynb")
    monkeypatch.setattr(parallel_exec, "_execute_one", stand_in_worker)  # the forked workers see it too
    lines = []
    paths = [tmp_path / f"{n}.ipynb" for n in ("fine", "once", "cell")]
    cached = parallel_exec.execute(tmp_path / "cache", paths, 2, out=lines.append)
    assert sorted(cached) == ["fine", "once"]
    assert "once: could not run (0 s; jupyter-cache's error is above)" in lines
    assert lines.index("once: trying again, alone") < lines.index("once: executed in 0 s")
    assert "cell: trying again, alone" not in lines  # a cell's error is the build's to report
    assert lines[-1].startswith("2 of 3 chapters executed")
