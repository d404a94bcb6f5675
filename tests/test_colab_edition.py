"""The Colab edition (`make colab`): plain Markdown, build values, no solutions, working links.

Small notebooks made here exercise every conversion; the real chapters are checked too, from
whichever executed build exists (`make book` or `make preview`), and skipped only when none does.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import nbformat
import pytest
import yaml
from myst_nb.core.variables import format_plain_text

from digitlab import __version__, colab, editions, myst

ROOT = Path(__file__).resolve().parents[1]
SITE = colab.site_url(colab.REPOSITORY)
ROLE_OR_DIRECTIVE = re.compile(r"\{[A-Za-z][\w:-]*\}`|^\s*(?:`{3,}|:{3,}|~{3,})\s*\{", re.M)
LINK = re.compile(r"\]\((?P<md>[^)\s]+)\)|href=[\"'](?P<html>[^\"']+)")
GLUED = re.compile(r"\{glue(?::text)?\}`(?P<key>[^`:]+)(?::(?P<fmt>[^`]+))?`")
GLUE = myst.GLUE_PREFIX


# --- a small book, made here ----------------------------------------------------------------------
def _inventory(entries: list[str]) -> bytes:
    header = b"# Sphinx inventory version 2\n# Project: t\n# Version: \n# The remainder of this file is compressed using zlib.\n"
    return header + zlib.compress("\n".join(entries).encode() + b"\n")


def _glue(name: str, text_plain: str) -> dict:
    return nbformat.v4.new_output(
        "display_data",
        data={GLUE + "text/plain": text_plain},
        metadata={"scrapbook": {"name": name, "mime_prefix": GLUE}},
    )


FIRST = (
    'import sys\nif "google.colab" in sys.modules:\n'
    '    %pip install -q "digitlab[onnx,torch] @ git+https://github.com/digitlab-book/digitlab"\n'
    "from digitlab import runtime\n\nruntime.env_report(trains=True)"
)
PROSE = (
    "Accuracy {glue:text}`acc:.2%` by {glue}`who`, see {doc}`setup` and {ref}`my-label`; "
    "after {cite}`smith2020`, as {cite:t}`smith2020,doe2019` showed.\n\n"
    ":::{note}\nRaw {glue:text}`acc` here.\n:::\n\n"
    "````{admonition} A titled box\n:class: tip\nInside.\n\n```python\nprint(1)\n```\n````\n\n"
    "![a digit](images/d.png)\n\n```bash\ndigitlab fetch\n```"
)
SOLUTION = "answer = sum(range(7)) * 2\nprint('the secret route', answer)"


def _book(tmp_path: Path) -> tuple[Path, Path]:
    book, build = tmp_path / "book", tmp_path / "_build"
    (book / "images").mkdir(parents=True)
    from PIL import Image

    Image.new("L", (4, 4), 255).save(book / "images" / "d.png")
    (book / "references.bib").write_text(
        "@article{smith2020, author={Smith, Ann and Jones, Bo and Ng, Cy}, title={T}, year={2020}}\n"
        "@book{doe2019, author={Doe, Dee and R{\\'o}e, Remy}, title={U}, year={2019}}\n"
    )
    solution = nbformat.v4.new_code_cell(
        SOLUTION,
        metadata={"tags": ["solution", "hide-input"], "digitlab": {"starter": "answer = ...  # a number"}},
    )
    nb = nbformat.v4.new_notebook(
        metadata={"accelerator": "GPU", "colab": {"gpuType": "T4"}},
        cells=[
            nbformat.v4.new_markdown_cell("# A demo chapter\n\nIt cites {cite}`doe2019`."),
            nbformat.v4.new_code_cell(FIRST),
            nbformat.v4.new_code_cell("glue('acc', 0.98765)\nglue('who', 'Ada')"),
            nbformat.v4.new_markdown_cell(PROSE),
            nbformat.v4.new_markdown_cell("## Exercises\n\n### Exercise 1.1: the `answer`\n\nCompute it."),
            solution,
            nbformat.v4.new_code_cell("ch01.answer.check(answer)"),
        ],
    )
    plain = nbformat.v4.new_notebook(
        metadata={"accelerator": "GPU", "colab": {"gpuType": "T4"}},
        cells=[
            nbformat.v4.new_markdown_cell("# Plain"),
            nbformat.v4.new_code_cell('%pip install -q "digitlab @ x"\nruntime.env_report()'),
        ],
    )
    nbformat.write(nb, book / "01-demo.ipynb")
    nbformat.write(plain, book / "02-plain.ipynb")
    executed = nbformat.from_dict(json.loads(nbformat.writes(nb)))
    executed.cells[1].outputs = [nbformat.v4.new_output("stream", text="mode  full\n")]
    executed.cells[2].outputs = [_glue("acc", "0.98765")]
    (build / "jupyter_execute" / "book").mkdir(parents=True)
    moved = {"who": _glue("who", "'Ada'")}  # myst-nb moves glue outputs to <name>.glue.json
    moved["who"]["data"] = {"text/plain": "'Ada'"}
    (build / "jupyter_execute" / "book" / "01-demo.glue.json").write_text(json.dumps(moved))
    nbformat.write(executed, build / "jupyter_execute" / "book" / "01-demo.ipynb")
    nbformat.write(plain, build / "jupyter_execute" / "book" / "02-plain.ipynb")
    html = build / "html"
    (html / "book").mkdir(parents=True)
    (html / "objects.inv").write_bytes(
        _inventory(
            [
                "book/setup std:doc -1 book/setup.html Setting up",
                "my-label std:label -1 book/setup.html#$ The label's section",
            ]
        )
    )
    (html / "book" / "setup.html").write_text('<section id="my-label"></section>')
    (html / "book" / "references.html").write_text("<p>refs</p>")
    (html / "book" / "01-demo.html").write_text('<section id="exercise-1-1-the-answer"></section>')
    (html / "book" / "02-plain.html").write_text("<p></p>")
    return book, build


@pytest.fixture
def edition(tmp_path):
    book, build = _book(tmp_path)
    out = colab.write_colab(book, build, tmp_path / "out" / "colab")
    return book, build, out


def _markdown(nb) -> str:
    return "\n".join(editions.source(c) for c in nb.cells if c.cell_type == "markdown")


def test_markup_becomes_plain_markdown(edition):
    book, _, out = edition
    nb = editions.read(out / "01-demo.ipynb")
    text = _markdown(nb)
    refs = f"{SITE}book/references.html"
    assert f"Accuracy 98.77%{myst.BUILD_MARK} by Ada{myst.BUILD_MARK}" in text
    assert f"Raw 0.98765{myst.BUILD_MARK} here" in text
    assert (
        f"see [Setting up]({SITE}book/setup.html) and [The label's section]({SITE}book/setup.html#my-label)"
        in text
    )
    assert f"after ([Smith et al., 2020]({refs}))" in text
    assert f"as [Smith et al. (2020)]({refs}), [Doe and Róe (2019)]({refs}) showed" in text
    assert f"It cites ([Doe and Róe, 2019]({refs}))" in text
    assert "> **Note**\n>\n> Raw" in text
    assert "> **A titled box**\n>\n> Inside.\n>\n> ```python\n> print(1)\n> ```" in text
    assert ":class:" not in text and "```bash\ndigitlab fetch\n```" in text
    image = next(c for c in nb.cells if "attachments" in c)
    assert "![a digit](attachment:d.png)" in image.source
    assert image.attachments["d.png"]["image/png"].startswith("iVBOR")
    assert not colab.markup(text) and not ROLE_OR_DIRECTIVE.search(text)
    assert "The Colab edition" in nb.cells[1].source and "the book's build" in nb.cells[1].source


def test_solutions_are_starters_with_a_link(edition):
    book, _, out = edition
    original, nb = editions.read(book / "01-demo.ipynb"), editions.read(out / "01-demo.ipynb")
    assert not editions.leaks(original, nb) and "secret" not in json.dumps(nb)
    code = [editions.source(c) for c in nb.cells if c.cell_type == "code"]
    assert "answer = ...  # a number" in code and "ch01.answer.check(answer)" in code
    at = code.index("answer = ...  # a number")
    cells = [editions.source(c) for c in nb.cells]
    link = cells[cells.index("answer = ...  # a number") + 1]
    assert f"]({SITE}book/01-demo.html#exercise-1-1-the-answer)" in link
    assert at == len(code) - 2 and not any(editions.is_solution(c) for c in nb.cells)
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")


def test_first_cell_installs_this_release_with_the_chapter_extras(edition):
    _, _, out = edition
    demo, plain = (editions.read(out / name) for name in ("01-demo.ipynb", "02-plain.ipynb"))
    first = next(c.source for c in demo.cells if c.cell_type == "code")
    ast.parse(first)
    assert f'"git+{colab.REPOSITORY}@v{__version__}"' in first and "DIGITLAB_SOURCE" in first
    assert '"digitlab[onnx] @ {source}"' in first.replace('f"', '"') and "torch" not in first
    assert first.rstrip().endswith("runtime.env_report(trains=True)")  # no cache, so no cpu_seconds
    assert demo.metadata["accelerator"] == "GPU" and demo.metadata["colab"]["gpuType"] == "T4"
    assert "accelerator" not in plain.metadata and "gpuType" not in plain.metadata["colab"]
    plain_first = next(c.source for c in plain.cells if c.cell_type == "code")
    assert '"digitlab @ {source}"' in plain_first.replace('f"', '"')
    assert plain_first.rstrip().endswith("runtime.env_report()")
    assert demo.metadata["digitlab"]["edition"] == "colab"


def test_failed_install_says_what_to_do_in_one_sentence(tmp_path):
    cell = colab.install_cell(["onnx"], True, 12.3)
    assert cell.rstrip().endswith("runtime.env_report(trains=True, cpu_seconds=12)")
    install = cell.split("from digitlab import runtime")[0]
    script = "import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n" + install
    env = {
        "DIGITLAB_SOURCE": (tmp_path / "missing.whl").as_uri(),
        "PATH": "/usr/bin:/bin",
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    message = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(message) == 1, done.stderr
    assert message[0].startswith(f"Installing digitlab[onnx] {__version__} from file://")
    assert "failed (" in message[0] and message[0].endswith("then run this cell again.")


def test_the_edition_is_swapped_in_whole(tmp_path):
    book, build = _book(tmp_path)
    out = tmp_path / "colab"
    out.mkdir()
    (out / "stale.ipynb").write_text("{}")
    colab.write_colab(book, build, out)
    assert sorted(p.name for p in out.iterdir()) == ["01-demo.ipynb", "02-plain.ipynb", "README.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_build", "book", "colab"]


@pytest.mark.parametrize(
    ("prose", "error"),
    [
        ("{glue:text}`nope`", "no value glued as 'nope'"),
        ("{cite}`nobody2000`", "'nobody2000' is not in the book's references.bib"),
        ("{doc}`nowhere`", "names nothing in the built site"),
        ("{sub-ref}`x`", "cannot convert the role {sub-ref}"),
        (":::{figure} x.png\n:::", "cannot convert the directive {figure}"),
        ("![gone](images/gone.png)", "the image 'images/gone.png' is not an image file"),
    ],
)
def test_markup_it_cannot_convert_is_an_error(tmp_path, prose, error):
    book, build = _book(tmp_path)
    nb = editions.read(book / "01-demo.ipynb")
    nb.cells[3].source = prose
    nbformat.write(nb, book / "01-demo.ipynb")
    with pytest.raises(ValueError, match=re.escape(error)):
        colab.write_colab(book, build, tmp_path / "colab")
    assert not (tmp_path / "colab").exists()


def test_missing_build_is_a_clear_error(tmp_path):
    book, _ = _book(tmp_path)
    with pytest.raises(FileNotFoundError, match="run `make book`"):
        colab.write_colab(book, tmp_path / "nothing", tmp_path / "colab")


def test_addresses_come_from_the_repository():
    assert (
        colab.site_url("https://github.com/Digitlab-Book/digitlab")
        == "https://digitlab-book.github.io/digitlab/"
    )
    assert colab.colab_url("book/03-keras-cnn.ipynb") == (
        "https://colab.research.google.com/github/digitlab-book/digitlab/blob/colab/03-keras-cnn.ipynb"
    )
    with pytest.raises(ValueError, match="repository must be"):
        colab.site_url("https://gitlab.com/a/b")
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["repository"]["url"] == colab.REPOSITORY
    assert config["launch_buttons"]["colab_url"] == colab.COLAB


def test_the_workflow_publishes_both_editions():
    book = yaml.safe_load((ROOT / ".github/workflows/book.yml").read_text(encoding="utf-8"))
    steps = [s for job in book["jobs"].values() for s in job["steps"]]
    runs = " ".join(s.get("run", "") for s in steps)
    assert "make colab" in runs and "make student" in runs
    published = {
        (m["branch"], m["folder"]) for m in book["jobs"]["editions"]["strategy"]["matrix"]["include"]
    }
    assert published == {
        (colab.BRANCH, "_build/colab"),
        ("colab-zh", "_build/colab-zh"),
        ("student", "_build/student"),
    }
    assert "make colab-zh" in runs
    push = next(s for s in book["jobs"]["editions"]["steps"] if "git push" in s.get("run", ""))
    assert push["env"]["BRANCH"] == "${{ matrix.branch }}" and push["env"]["FOLDER"] == "${{ matrix.folder }}"
    assert book["jobs"]["editions"]["permissions"] == {"contents": "write"}
    assert f"{colab.REPOSITORY}/tree/student" in (ROOT / "book" / "instructors.md").read_text(
        encoding="utf-8"
    )


# --- the real chapters, from an executed build ----------------------------------------------------
def _builds() -> list[Path]:
    found = [ROOT / "_build", ROOT / "_build" / "preview" / "_build"]
    return [
        b
        for b in found
        if (b / "html" / "objects.inv").is_file()
        and all((b / "jupyter_execute" / "book" / p.name).is_file() for p in editions.chapters(ROOT / "book"))
    ]


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    builds = _builds()
    if not builds:
        why = "no executed build of every chapter: run `make preview` (or `make book`) first"
        if os.environ.get("DIGITLAB_REQUIRE_BUILD") == "1":  # .ci/run, after the site build
            pytest.fail(why)
        pytest.skip(why)
    out = colab.write_colab(ROOT / "book", builds[0], tmp_path_factory.mktemp("real") / "colab")
    return builds[0], out


def test_real_edition_has_every_notebook_and_no_markup_or_solution(real):
    _, out = real
    chapters = editions.chapters(ROOT / "book")
    assert sorted(p.name for p in out.glob("*.ipynb")) == [p.name for p in chapters]
    for path in chapters:
        original, nb = editions.read(path), editions.read(out / path.name)
        assert not colab.problems(original, nb), path.name
        text = _markdown(nb)
        assert not ROLE_OR_DIRECTIVE.search(text), f"{path.name}: {ROLE_OR_DIRECTIVE.findall(text)}"
        public = set(editions.authoring_problems(original))
        assert not [p for p in editions.leaks(original, nb) if p not in public], path.name
        assert sum(editions.is_solution(c) for c in original.cells) == text.count("[worked solution](")


def test_real_edition_links_resolve(real):
    build, out = real
    html = build / "html"
    for path in out.glob("*.ipynb"):
        for target in (
            m.group("md") or m.group("html") for m in LINK.finditer(_markdown(editions.read(path)))
        ):
            if target.startswith("attachment:"):
                continue
            assert target.startswith(("https://", "http://")), f"{path.name}: {target}"
            if target.startswith(SITE):
                page, _, fragment = target[len(SITE) :].partition("#")
                assert (html / page).is_file(), f"{path.name}: {target} is not a page of the site"
                body = (html / page).read_text(encoding="utf-8")
                assert not fragment or f'id="{fragment}"' in body, f"{path.name}: no #{fragment} in {page}"


def test_real_glued_values_are_the_builds(real):
    build, out = real
    checked = 0
    for path in editions.chapters(ROOT / "book"):
        glued = build / "jupyter_execute" / "book" / f"{path.stem}.glue.json"  # myst-nb writes it
        stored = json.loads(glued.read_text(encoding="utf-8")) if glued.is_file() else {}
        values = {name: output["data"]["text/plain"] for name, output in stored.items()}
        made = {c.id: editions.source(c) for c in editions.read(out / path.name).cells}
        for cell in editions.read(path).cells:
            for m in GLUED.finditer(editions.source(cell)) if cell.cell_type == "markdown" else ():
                shown = format_plain_text(values[m.group("key")], m.group("fmt") or "s")
                assert shown + myst.BUILD_MARK in made[cell.id], f"{path.name}: {m.group(0)}"
                checked += 1
    assert checked >= 100  # the book glues about 120 values into its prose


def test_cli_writes_the_edition_or_says_why_not(tmp_path, capsys):
    from digitlab import cli

    book, build = _book(tmp_path)
    config = tmp_path / "_config.yml"
    config.write_text(f"repository:\n  url: {colab.REPOSITORY}\n")
    args = ["colab", "--book", str(book), "--out", str(tmp_path / "colab"), "--config", str(config)]
    assert cli.main([*args, "--build", str(build)]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "colab" / "01-demo.ipynb").is_file()
    assert cli.main([*args, "--build", str(tmp_path / "none")]) == 2
    assert "run `make book`" in capsys.readouterr().err


def test_real_first_cells_give_the_builds_cpu_time(real):
    from jupyter_cache import get_cache

    build, out = real
    cache, checked = get_cache(build / ".jupyter_cache"), 0
    for path in editions.chapters(ROOT / "book"):
        nb = editions.read(path)
        try:
            seconds = cache.match_cache_notebook(nb).data["execution_seconds"]
        except KeyError:  # the build ran an older version of this chapter
            continue
        first = next(c.source for c in editions.read(out / path.name).cells if c.cell_type == "code")
        expected = f"runtime.env_report(trains=True, cpu_seconds={seconds:.0f})"
        assert first.rstrip().endswith(expected if colab.trains(nb, path.stem) else "runtime.env_report()")
        checked += 1
    if not checked:
        pytest.skip("the build's execution cache holds none of the current chapters")


def test_trains_reads_the_first_cell_else_the_list():
    def first(code):
        return nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell(code)]
        )

    assert colab.trains(first("runtime.env_report(trains=True)"), "00-meet-mnist")
    assert not colab.trains(first("runtime.env_report(trains=False)"), "03-keras-cnn")
    assert colab.trains(first("runtime.env_report()"), "03-keras-cnn")  # not said yet: the list
    assert not colab.trains(first("runtime.env_report()"), "00-meet-mnist")
    assert colab.extras(first('%pip install "digitlab[tf, widgets] @ x"')) == ["widgets"]
