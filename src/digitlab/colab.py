"""The Colab edition: every chapter as Colab can show it, generated from the built book (``make colab``).

Each notebook of ``book/`` becomes ``<out>/<name>.ipynb`` with its MyST markup turned into plain
Markdown (``digitlab.myst``, glued values taken from the executed build), its solution cells
replaced by their starter code (``digitlab.editions``) and a link to the worked solution on the
site, a first cell that installs this release of ``digitlab`` without changing anything Colab
ships, GPU metadata only when the chapter trains a network, and no outputs. The site's Colab buttons
open these notebooks on the repository's ``colab`` branch, where the book's workflow publishes them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

import nbformat

from digitlab import __version__, _io, editions, myst, phrases

BRANCH = "colab"  # the branch the Pages workflow publishes the edition to
COLAB = "https://colab.research.google.com"
REPOSITORY = "https://github.com/digitlab-book/digitlab"  # as in _config.yml's repository.url
SHIPPED_EXTRAS = {"tf", "torch"}  # Colab ships TensorFlow and PyTorch: never install them there
# Chapters that train a network, for source notebooks whose first cell does not yet say
# ``env_report(trains=...)`` (chapters 0 and 1 use NumPy and scikit-learn only).
TRAINS = {
    "02-mlp",
    "03-keras-cnn",
    "04-pytorch-cnn",
    "05-evaluation",
    "06-augmentation",
    "07-going-further",
    "08-your-handwriting",
    "09-more-than-one-machine",
    "results",
}
QUICK_REPORT = "quick (DIGITLAB_QUICK=1)"  # what env_report prints in a quick-mode build
# The edition's own notes, by language (the Chinese edition: tools/translations.py colab).
NOTES = {
    "en": {
        "stuck": "*Stuck?* The [worked solution]({link}) is on the book's site, collapsed: press "
        "*Show code cell source* there. Try the check below first.",
        "about": "> **The Colab edition** of [this chapter]({url}), for digitlab {version}. "
        "Numbers marked {mark} in the text are those of {build}; your run prints its own "
        "in the cells below them. Each exercise has starter code and a check here, and a "
        "link to its worked solution on the site.",
        "quick": "a quick-mode build (a small subset, one epoch)",
        "full": "the book's build",
    },
    "zh_CN": {
        "stuck": "*卡住了？* [参考答案]({link}) 在本书网站上，默认折叠：在那里点击 "
        "*Show code cell source*。请先试试下面的检查。",
        "about": "> 本章（[网页版]({url})）的 **Colab 版**，对应 digitlab {version}。"
        "正文中标有 {mark} 的数字来自{build}；你运行时，下方单元格会打印你自己的结果。"
        "每个练习在这里都有起始代码和检查，以及指向网站上参考答案的链接。",
        "quick": "快速模式的构建（一小部分数据，训练 1 轮）",
        "full": "本书的构建",
    },
}


# --- addresses ------------------------------------------------------------------------------------
def _owner_name(repository: str) -> tuple[str, str]:
    url = urlparse(repository)
    parts = url.path.strip("/").removesuffix(".git").split("/")
    if url.netloc != "github.com" or len(parts) != 2:
        raise ValueError(f"repository must be https://github.com/<owner>/<name>, got {repository!r}")
    return parts[0], parts[1]


def site_url(repository: str = REPOSITORY) -> str:
    """The book's GitHub Pages address, ``https://<owner>.github.io/<name>/``."""
    owner, name = _owner_name(repository)
    return f"https://{owner.lower()}.github.io/{name}/"


def colab_url(notebook: str, repository: str = REPOSITORY, branch: str = BRANCH) -> str:
    """Where Colab opens ``notebook`` (a file name such as ``03-keras-cnn.ipynb``) of the edition."""
    owner, name = _owner_name(repository)
    return f"{COLAB}/github/{owner}/{name}/blob/{branch}/{Path(notebook).name}"


# --- the first cell -------------------------------------------------------------------------------
def extras(nb: nbformat.NotebookNode) -> list[str]:
    """The extras the source notebook's first code cell installs, less those Colab ships."""
    cell = _first_code(nb)
    found = re.search(r"digitlab\[([\w,\s-]+)\]", editions.source(cell)) if cell else None
    names = [e.strip() for e in found.group(1).split(",")] if found else []
    return [e for e in names if e and e not in SHIPPED_EXTRAS]


def trains(nb: nbformat.NotebookNode, stem: str) -> bool:
    """True when the chapter trains a network: its first cell says so, else the ``TRAINS`` list."""
    cell = _first_code(nb)
    said = re.search(r"env_report\([^)]*\btrains\s*=\s*(True|False)", editions.source(cell) if cell else "")
    return said.group(1) == "True" if said else stem in TRAINS


def _first_code(nb: nbformat.NotebookNode) -> dict | None:
    return next((c for c in nb.cells if c.get("cell_type") == "code"), None)


def install_cell(
    chapter_extras: list[str],
    chapter_trains: bool,
    cpu_seconds: float | None,
    version: str = __version__,
    repository: str = REPOSITORY,
) -> str:
    """The first code cell: install ``digitlab`` (this release) in Colab, then report the environment."""
    requirement = "digitlab" + (f"[{','.join(chapter_extras)}]" if chapter_extras else "")
    args = ["trains=True"] if chapter_trains else []
    if chapter_trains and cpu_seconds is not None:
        args.append(f"cpu_seconds={cpu_seconds:.0f}")
    host = urlparse(repository).netloc
    return f'''\
# In Colab, install digitlab {version}, the book's helper package, keeping every package Colab ships
# at its version (all installed packages are passed to pip as constraints).
import os
import subprocess
import sys
import tempfile
import warnings

if "google.colab" in sys.modules:
    source = os.environ.get("DIGITLAB_SOURCE", "git+{repository}@v{version}")
    pip = [sys.executable, "-m", "pip"]
    shipped = subprocess.run(pip + ["list", "--format=freeze"], capture_output=True, text=True).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        constraints.write("\\n".join(line for line in shipped.splitlines()
                                     if not line.lower().startswith("digitlab==")))
    done = subprocess.run(pip + ["install", "-q", f"{requirement} @ {{source}}", "-c", constraints.name],
                          capture_output=True, text=True)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no message"])[-1]
        warnings.filterwarnings("ignore", "To exit")  # IPython's note on SystemExit: not for learners
        raise SystemExit(f"Installing {requirement} {version} from {{source}} failed ({{why}}): check that "
                         "this runtime reaches {host} (or set DIGITLAB_SOURCE), then run this cell again.")

from digitlab import runtime

runtime.env_report({", ".join(args)})'''


def execution_seconds(build_dir: str | os.PathLike, nb: nbformat.NotebookNode) -> float | None:
    """How long the build took to execute ``nb`` (from jupyter-cache), or None when it has no record."""
    cache_dir = Path(build_dir) / ".jupyter_cache"
    if not cache_dir.is_dir():
        return None
    from jupyter_cache import get_cache

    try:
        record = get_cache(cache_dir).match_cache_notebook(nb)
    except KeyError:
        return None
    seconds = record.data.get("execution_seconds")
    return float(seconds) if seconds is not None else None


# --- one notebook ---------------------------------------------------------------------------------
def colab_notebook(
    nb: nbformat.NotebookNode,
    executed: dict,
    page: myst.Page,
    cpu_seconds: float | None = None,
    translate=None,
    language: str = "en",
) -> nbformat.NotebookNode:
    """The Colab edition of source notebook ``nb``, given the build's ``executed`` copy of it.

    ``translate`` (optional) maps a markdown cell's MyST text to its translation in ``language``.
    """
    notes = NOTES[language]
    stem = Path(page.docname).name
    solutions = [i for i, c in enumerate(nb.cells) if editions.is_solution(c)]
    anchors = _section_anchors(nb)
    out = editions.student_notebook(nb)  # starters in place of solutions, outputs cleared
    for cell in out.cells:
        if cell.cell_type == "markdown":
            source = editions.source(cell)
            text, images = myst.convert_markdown(translate(source) if translate else source, page)
            cell.source = text
            if images:
                cell.setdefault("attachments", {}).update(images)
    first = _first_code(out)
    if first is not None:
        first.source = install_cell(extras(nb), trains(nb, stem), cpu_seconds)
    chapter_url = f"{page.site}{page.docname}.html"
    for i in reversed(solutions):
        link = f"{chapter_url}#{anchors[i]}" if anchors[i] else chapter_url
        out.cells.insert(i + 1, nbformat.v4.new_markdown_cell(notes["stuck"].format(link=link)))
    title = next((i for i, c in enumerate(out.cells) if c.cell_type == "markdown"), -1)
    out.cells.insert(title + 1, nbformat.v4.new_markdown_cell(_about(executed, chapter_url, notes)))
    _set_metadata(out, trains(nb, stem))
    return out


def _about(executed: dict, chapter_url: str, notes: dict = NOTES["en"]) -> str:
    quick = any(QUICK_REPORT in str(c.get("outputs", "")) for c in executed.get("cells", [])[:3])
    build = notes["quick"] if quick else notes["full"]
    return notes["about"].format(url=chapter_url, version=__version__, mark=myst.BUILD_MARK, build=build)


def _section_anchors(nb: nbformat.NotebookNode) -> list[str]:
    """For each cell, the HTML id of the last heading at or before it (as Sphinx makes ids)."""
    from docutils.nodes import make_id

    anchors, current, used = [], "", {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", editions.source(cell), flags=re.M):
                text = re.sub(r"[`*]|\{[\w:-]+\}", "", heading)
                current = make_id(text)
                used[current] = used.get(current, 0) + 1
                current = current if used[current] == 1 else ""  # a repeated title gets a number id
        anchors.append(current)
    return anchors


def _set_metadata(nb: nbformat.NotebookNode, gpu: bool) -> None:
    meta = nb.metadata
    colab = meta.setdefault("colab", {})
    meta.pop("accelerator", None)
    colab.pop("gpuType", None)
    if gpu:
        meta["accelerator"] = "GPU"
        colab["gpuType"] = "T4"
    meta.setdefault(editions.META_KEY, {})["edition"] = "colab"


# --- the whole edition ----------------------------------------------------------------------------
def write_colab(
    book_dir: str | os.PathLike = "book",
    build_dir: str | os.PathLike = "_build",
    out_dir: str | os.PathLike = "_build/colab",
    repository: str = REPOSITORY,
    translator=None,
    language: str = "en",
    site_path: str = "",
    gettext=None,
) -> Path:
    """Write the Colab edition of every notebook of ``book_dir`` to ``out_dir``, from ``build_dir``.

    ``build_dir`` is a Jupyter Book build folder (``_build``, or ``_build/preview/_build`` for the
    quick-mode one) holding ``jupyter_execute/`` and ``html/objects.inv``. The edition is written
    aside and swapped in whole; it is refused when any solution line would reach it. A translated
    edition passes ``translator`` (docname -> function from MyST text to its translation), its
    ``language`` and ``site_path``, where its site lives below the English one (``zh/``), and
    ``gettext`` (docname -> function from an English message to its translation) for glued phrases.
    """
    book, build, out = Path(book_dir), Path(build_dir), Path(out_dir)
    inventory = build / "html" / "objects.inv"
    if not inventory.is_file():
        raise FileNotFoundError(
            f"build_dir has no built site ({inventory} is missing): run "
            "`make book` first (or `make preview`, then `make colab QUICK=1`)"
        )
    site = site_url(repository) + site_path
    shared = myst.Page(
        site,
        "",
        book,
        citations=myst.read_citations(book / "references.bib"),
        inventory=myst.read_inventory(inventory),
    )
    with _io.new_folder(out) as tmp:
        for path in editions.chapters(book):
            edition = _one(path, build, shared, translator, language, gettext)
            nbformat.write(edition, os.fspath(tmp / path.name))
        (tmp / "README.md").write_text(_readme(site, repository), encoding="utf-8")
    return out


def _one(
    path: Path, build: Path, shared: myst.Page, translator=None, language: str = "en", gettext=None
) -> nbformat.NotebookNode:
    executed_path = build / "jupyter_execute" / path.parent.name / path.name
    if not executed_path.is_file():
        raise FileNotFoundError(f"{executed_path} is missing: build the book before the Colab edition")
    nb, executed = editions.read(path), editions.read(executed_path)
    docname = f"{path.parent.name}/{path.stem}"
    glue = myst.glue_values(executed, executed_path.with_suffix(".glue.json"))
    if gettext:
        glue = phrases.translate_glue(glue, gettext(docname))
    page = myst.Page(
        shared.site,
        docname,
        path.parent,
        glue=glue,
        citations=shared.citations,
        inventory=shared.inventory,
    )
    translate = translator(page.docname) if translator else None
    out = colab_notebook(nb, executed, page, execution_seconds(build, nb), translate, language)
    found = problems(nb, out)
    if found:
        raise ValueError(f"{path.name}: the Colab edition would show " + "; ".join(found))
    nbformat.validate(out)
    return out


def problems(original: nbformat.NotebookNode, colab: nbformat.NotebookNode) -> list[str]:
    """What must not reach Colab: solution lines (beyond those the chapter shows anyway) and MyST markup."""
    public = set(editions.authoring_problems(original))
    found = [f"solution line {p}" for p in editions.leaks(original, colab) if p not in public]
    for i, cell in enumerate(colab.cells):
        if cell.cell_type == "markdown":
            found += [f"cell {i}: MyST markup {m!r}" for m in markup(editions.source(cell))]
    return found


def markup(text: str) -> list[str]:
    """MyST roles and directives in Markdown ``text`` (which Colab would show as raw text)."""
    roles = [m.group(0) for m in myst.ROLE.finditer(text)]
    fences = re.findall(r"^\s*(?:`{3,}|~{3,}|:{3,})\s*\{[\w-]+\}.*$|^\s*:{3,}\s*$", text, flags=re.M)
    return roles + fences


def _readme(site: str, repository: str) -> str:
    return (
        f"# Digit Lab, Colab edition (digitlab {__version__})\n\n"
        f"Generated by `make colab` from the book's sources and its executed build; do not edit "
        f"here (changes go to the book in {repository}). Open a chapter from the site, {site}, "
        f"or in Colab: {colab_url('00-meet-mnist.ipynb', repository)}.\n"
    )
