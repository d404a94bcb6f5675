"""The translated editions of the book: extract messages, update catalogues, check them, build.

    python tools/translations.py pot            # messages of the English source -> _build/gettext/*.pot
    python tools/translations.py po             # ... then update locales/<lang>/LC_MESSAGES/book/*.po
    python tools/translations.py check          # fail on a message missing, untranslated or fuzzy
    python tools/translations.py build --english _build       # the Chinese site, _build/html-zh
    python tools/translations.py colab --english _build       # the Chinese Colab edition

Extraction runs Sphinx's gettext builder with execution off (about 30 s); its result is kept with
a hash of everything it read, so that ``check`` (part of ``make test``) extracts again only when
the English source changed. The build takes every notebook's outputs from the English build named
by ``--english`` (see tools/bilingual.py): it executes nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import yaml
from markdown_i18n import translate_markdown

ROOT = Path(__file__).resolve().parents[1]
LANG = "zh_CN"
POT = Path("_build") / "gettext"
HASH_FILE = ".source-hash"
GLUE = re.compile(r"\{glue(?::\w+)?\}`[^`]*`")
FIELD = re.compile(r"(?<![`}])\{(\w+)\}(?!`)")  # a phrase's field, {count}; not a role such as {glue:text}`x`
COLAB_BRANCHES = {"zh_CN": "colab-zh"}
SITE_PATHS = {
    "zh_CN": "zh/"
}  # where each translated site is published, below the English one  # where the book workflow publishes each Colab edition
# What the Chinese site changes in the English configuration.
SITES = {
    "zh_CN": {
        "html_title": "数字实验室（Digit Lab）",
        "html_search_language": "zh",
        "digitlab_other_site": "../",
        "digitlab_other_label": "English",
        "digitlab_other_lang": "en",
        "digitlab_colab_branch": COLAB_BRANCHES["zh_CN"],
    },
}


def source_hash(root: Path) -> str:
    """A hash of the files that make the messages, and of the versions of what reads them."""
    digest = hashlib.sha256()
    for package in ("sphinx", "myst-parser", "myst-nb", "jupyter-book"):
        digest.update(f"{package}={version(package)}\n".encode())
    files = [root / "_config.yml", root / "_toc.yml", *sorted((root / "book").rglob("*"))]
    files += sorted((root / "tools").glob("*.py"))
    for path in files:
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def sphinx_build(root: Path, outdir: Path, builder: str, overrides: dict, **options) -> int:
    """jupyter-book's own Sphinx build of the book at ``root``, with configuration overrides."""
    from jupyter_book.sphinx import build_sphinx

    overrides = {
        "external_toc_path": (root / "_toc.yml").as_posix(),
        "latex_individualpages": False,
        **overrides,
    }
    return build_sphinx(
        root,
        outdir,
        noconfig=True,
        path_config=str(root / "_config.yml"),
        confoverrides=overrides,
        builder=builder,
        **options,
    )


def is_current(root: Path) -> bool:
    """Whether root/_build/gettext holds the messages of the source as it is now."""
    stamp = root / POT / HASH_FILE
    return stamp.is_file() and stamp.read_text() == source_hash(root)


def extract(root: Path = ROOT, force: bool = False) -> Path:
    """The .pot files of the English source under root/_build/gettext, extracted when stale."""
    out = root / POT
    current = source_hash(root)
    if not force and is_current(root):
        return out
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    quiet = [*config["sphinx"]["config"].get("suppress_warnings", []), "mystnb.glue"]
    overrides = {"nb_execution_mode": "off", "digitlab_outputs_from": "none", "suppress_warnings": quiet}
    status = sphinx_build(
        root, out, "gettext", overrides, doctreedir=root / "_build" / ".doctrees-gettext", quiet=True
    )
    if status:
        raise SystemExit(f"message extraction failed ({status})")
    add_phrases(root, out)
    (out / HASH_FILE).write_text(current)
    return out


def add_phrases(root: Path, pot_dir: Path) -> None:
    """Add the template of every ``phrase(...)`` in a chapter's code (digitlab.phrases: words glued
    into the prose) to that chapter's messages."""
    import nbformat
    import polib

    from digitlab.phrases import templates

    for notebook in sorted((root / "book").glob("*.ipynb")):
        pot_path = pot_dir / "book" / f"{notebook.stem}.pot"
        cells = nbformat.read(notebook, as_version=4).cells
        found = []
        for index, cell in enumerate(cells):
            if cell.cell_type == "code":
                where = f"{notebook.relative_to(root).as_posix()}, cell {index}"
                found += [(t, index) for t in templates(cell.source, where)]
        if not found or not pot_path.is_file():
            continue
        pot = polib.pofile(str(pot_path))
        known = {e.msgid for e in pot}
        for template, index in found:
            if template not in known:
                known.add(template)
                pot.append(
                    polib.POEntry(
                        msgid=template,
                        msgstr="",
                        occurrences=[(notebook.relative_to(root).as_posix(), str(index))],
                        comment="a phrase glued into the text: keep every {field}",
                    )
                )
        pot.save(str(pot_path))


def extracted(root: Path = ROOT) -> Path:
    """The .pot files, extracted in a process of their own when stale (Sphinx changes global
    state: the caller, such as a test, stays clean)."""
    if not is_current(root):
        subprocess.run(
            [sys.executable, __file__, "pot", "--root", str(root)], check=True, stdout=subprocess.DEVNULL
        )
    return root / POT


def update(root: Path = ROOT, lang: str = LANG) -> None:
    """sphinx-intl update: new messages added, changed ones marked fuzzy, removed ones obsolete."""
    from sphinx_intl.basic import update as intl_update

    intl_update(str(root / "locales"), str(extract(root)), [lang])


def catalogue_path(root: Path, lang: str, page: str) -> Path:
    return root / "locales" / lang / "LC_MESSAGES" / f"{page}.po"


def problems(root: Path = ROOT, lang: str = LANG, pot_dir: Path | None = None) -> list[str]:
    """One line per message of the English source that has no current translation."""
    import polib

    pot_dir = pot_dir or extracted(root)
    found = []
    for pot in sorted(pot_dir.rglob("*.pot")):
        page = pot.relative_to(pot_dir).with_suffix("").as_posix()
        path = catalogue_path(root, lang, page)
        entries = polib.pofile(str(path)) if path.is_file() else []
        catalogue = {e.msgid: e for e in entries if not e.obsolete}
        for message in polib.pofile(str(pot)):
            if not message.msgid:
                continue
            entry = catalogue.get(message.msgid)
            if entry is None:
                state = "missing"
            elif "fuzzy" in entry.flags:
                state = "fuzzy"
            elif not entry.msgstr:
                state = "untranslated"
            elif sorted(GLUE.findall(entry.msgstr)) != sorted(GLUE.findall(message.msgid)):
                state = "glued values differ"
            elif sorted(FIELD.findall(entry.msgstr)) != sorted(FIELD.findall(message.msgid)):
                state = "phrase fields differ"
            else:
                continue
            found.append(f"{page}: {state}: {short(message.msgid)}")
    return found


def short(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def messages(docname: str, root: Path = ROOT, lang: str = LANG) -> dict[str, str]:
    """The current translations of page ``docname``: msgid -> msgstr (none empty, fuzzy or obsolete)."""
    import polib

    path = catalogue_path(root, lang, docname)
    entries = polib.pofile(str(path)) if path.is_file() else []
    return {e.msgid: e.msgstr for e in entries if e.msgstr and not e.obsolete and "fuzzy" not in e.flags}


def gettext(docname: str, root: Path = ROOT, lang: str = LANG):
    """A function from an English message of page ``docname`` to its translation (itself if none)."""
    found = messages(docname, root, lang)
    return lambda text: found.get(text, text)


def colab(english: Path, out: Path, root: Path = ROOT, lang: str = LANG) -> Path:
    """The Colab edition in ``lang``: the English one's generator, given the translated text."""
    from digitlab.colab import write_colab

    def translator(docname: str):
        found = messages(docname, root, lang)
        return lambda text: translate_markdown(text, found)

    english = english if english.is_absolute() else root / english
    return write_colab(
        root / "book",
        english,
        out,
        translator=translator,
        language=lang,
        site_path=SITE_PATHS[lang],
        gettext=lambda docname: gettext(docname, root, lang),
    )


def build(english: Path, root: Path = ROOT, lang: str = LANG, nitpicky: bool = False) -> int:
    """The site in ``lang`` at <english>/html-<lang short>, from the English build's outputs."""
    english = english if english.is_absolute() else root / english
    out = english / f"html-{lang.split('_')[0]}"
    overrides = {
        "language": lang,
        "digitlab_outputs_from": str(english),
        **SITES.get(lang, {}),
    }
    if nitpicky:
        overrides["nitpicky"] = True
    return sphinx_build(
        root,
        out,
        "html",
        overrides,
        doctreedir=english / f".doctrees-{lang}",
        warningiserror=True,
        keep_going=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["pot", "po", "check", "build", "colab"])
    parser.add_argument("--lang", default=LANG)
    parser.add_argument("--root", type=Path, default=ROOT, help="the book (default: this repository)")
    parser.add_argument(
        "--english",
        type=Path,
        default=Path("_build"),
        help="the English build folder that holds html/ and jupyter_execute/",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("_build") / "colab-zh", help="colab: where to write the edition"
    )
    parser.add_argument("-n", "--nitpicky", action="store_true")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.command == "pot":
        print(extract(root, force=True))
    elif args.command == "po":
        update(root, args.lang)
    elif args.command == "check":
        found = problems(root, args.lang)
        print("\n".join(found) or f"every message is translated ({args.lang})")
        return 1 if found else 0
    elif args.command == "colab":
        print(colab(args.english, args.out, root, args.lang))
    else:
        return build(args.english, root, args.lang, args.nitpicky)
    return 0


if __name__ == "__main__":
    sys.exit(main())
