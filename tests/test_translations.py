"""The Chinese edition's catalogues: complete and current, and a check that names what is not.

The real check extracts the English messages once per change of the source (tools/translations.py
keeps the .pot files with a hash of what they came from) and compares them with the catalogues.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import markdown_i18n  # noqa: E402
import translations  # noqa: E402

TOOL = [sys.executable, str(ROOT / "tools" / "translations.py")]


def test_every_english_message_has_a_current_chinese_translation():
    found = translations.problems(ROOT)
    assert not found, f"{len(found)} messages lack a current translation:\n" + "\n".join(found[:40])


def write_catalogue(path: Path, entries: list[polib.POEntry]) -> None:
    catalogue = polib.POFile()
    catalogue.extend(entries)
    path.parent.mkdir(parents=True, exist_ok=True)
    catalogue.save(str(path))


def test_check_names_each_kind_of_problem(tmp_path):
    """Missing, untranslated, fuzzy, and a translation that lost a glued number."""
    pot = tmp_path / "pot" / "book" / "page.pot"
    glued = "Accuracy is {glue:text}`acc:.2%`."
    messages = ["Kept.", "Missing.", "Empty.", "Changed.", glued]
    write_catalogue(pot, [polib.POEntry(msgid=m, msgstr="") for m in messages])
    write_catalogue(
        translations.catalogue_path(tmp_path, "zh_CN", "book/page"),
        [
            polib.POEntry(msgid="Kept.", msgstr="保留。"),
            polib.POEntry(msgid="Empty.", msgstr=""),
            polib.POEntry(msgid="Changed.", msgstr="改了。", flags=["fuzzy"]),
            polib.POEntry(msgid=glued, msgstr="准确率为。"),
        ],
    )
    found = translations.problems(tmp_path, pot_dir=tmp_path / "pot")
    assert found == [
        "book/page: missing: 'Missing.'",
        "book/page: untranslated: 'Empty.'",
        "book/page: fuzzy: 'Changed.'",
        "book/page: glued values differ: 'Accuracy is {glue:text}`acc:.2%`.'",
    ]


def small_book(dest: Path) -> Path:
    """The book's configuration and extensions, with one Markdown page and one notebook."""
    shutil.copy(ROOT / "_config.yml", dest / "_config.yml")
    shutil.copytree(ROOT / "tools", dest / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "book").mkdir()
    shutil.copy(ROOT / "book" / "references.bib", dest / "book" / "references.bib")
    shutil.copytree(ROOT / "book" / "images", dest / "book" / "images")
    (dest / "book" / "intro.md").write_text("# Small book\n\nThe first sentence.\n\nThe second one.\n")
    cells = [
        {
            "cell_type": "markdown",
            "id": "text",
            "metadata": {},
            "source": ["# A chapter\n\nThe accuracy is {glue:text}`acc`.\n"],
        },
        {
            "cell_type": "code",
            "id": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": ["from myst_nb import glue\nglue('acc', 0.5, display=False)"],
        },
    ]
    notebook = {
        "cells": cells,
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    }
    (dest / "book" / "chapter.ipynb").write_text(json.dumps(notebook))
    (dest / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n- file: book/chapter\n")
    return dest


def run(*args: str, book: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([*TOOL, *args, "--root", str(book)], capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done


@pytest.mark.slow
def test_a_changed_english_sentence_fails_the_check_and_is_named(tmp_path):
    book = small_book(tmp_path)
    run("po", book=book)
    for po in (book / "locales" / "zh_CN").rglob("*.po"):
        catalogue = polib.pofile(str(po))
        for entry in catalogue:
            entry.msgstr = "译文：" + entry.msgid
        catalogue.save()
    assert run("check", book=book).returncode == 0

    intro = book / "book" / "intro.md"
    intro.write_text(intro.read_text().replace("The second one.", "The second one, rewritten."))
    done = run("check", book=book)
    assert done.returncode == 1
    assert done.stdout.splitlines() == ["book/intro: missing: 'The second one, rewritten.'"]

    run("po", book=book)  # the translator's next step: the changed message is now fuzzy
    done = run("check", book=book)
    assert done.stdout.splitlines() == ["book/intro: fuzzy: 'The second one, rewritten.'"]


def test_phrase_templates_are_messages_of_their_chapter():
    """Words a chapter glues (digitlab.phrases) are extracted with its prose, every branch of them."""
    pot = polib.pofile(str(translations.extracted() / "book" / "07-going-further.pot"))
    verdicts = [e.msgid for e in pot if e.msgid.startswith("The ensemble fixes {fixed} of {member}'s")]
    assert len(verdicts) == 3, verdicts  # one per outcome of the McNemar test, whichever ran


def test_a_translation_that_drops_a_phrase_field_is_named(tmp_path):
    pot, po = tmp_path / "pot", tmp_path / "locales" / "zh_CN" / "LC_MESSAGES" / "book"
    for folder in (pot / "book", po):
        folder.mkdir(parents=True)
    catalogue = polib.POFile()
    catalogue.append(polib.POEntry(msgid="more than {n}", msgstr=""))
    catalogue.save(str(pot / "book" / "page.pot"))
    catalogue[0].msgstr = "超过"
    catalogue.save(str(po / "page.po"))
    assert translations.problems(tmp_path, "zh_CN", pot) == [
        "book/page: phrase fields differ: 'more than {n}'"
    ]


def test_jieba_learns_the_book_terms():
    """Chinese search splits text with jieba; without the book's terms it cuts 混淆矩阵 in two."""
    import jieba

    jieba.load_userdict(str(ROOT / "locales" / "zh_CN" / "search-terms.txt"))
    assert "混淆矩阵" in jieba.lcut_for_search("我们用混淆矩阵查看错误。")


def test_glossary_defines_every_search_term():
    """The glossary's translation holds each term that search is taught."""
    terms = (ROOT / "locales" / "zh_CN" / "search-terms.txt").read_text(encoding="utf-8").split("\n")
    glossary = polib.pofile(str(ROOT / "locales" / "zh_CN" / "LC_MESSAGES" / "book" / "glossary.po"))
    text = "\n".join(e.msgstr for e in glossary)
    missing = [line.split()[0] for line in terms if line and line.split()[0] not in text]
    assert not missing, f"terms missing from the glossary: {missing}"


@pytest.mark.slow
def test_chinese_build_executes_nothing_and_keeps_glued_numbers(tmp_path):
    """The translated message keeps its glued number; the build takes the English outputs."""
    book = small_book(tmp_path)
    (book / "node_modules").symlink_to(ROOT / "node_modules")
    english = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter-book"), "build", str(book)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert english.returncode == 0, english.stdout[-3000:] + english.stderr[-3000:]
    assert "0.5" in (book / "_build" / "html" / "book" / "chapter.html").read_text()
    run("po", book=book)
    po = translations.catalogue_path(book, "zh_CN", "book/chapter")
    catalogue = polib.pofile(str(po))
    for entry in catalogue:
        entry.msgstr = {
            "A chapter": "一章",
            "The accuracy is {glue:text}`acc`.": "准确率为 {glue:text}`acc`。",
        }.get(entry.msgid, "")
    catalogue.save()

    done = subprocess.run(
        [*TOOL, "build", "--root", str(book), "--english", "_build"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert "Executing notebook" not in log
    assert "notebooks read, outputs from" in log and "0 executed" in log
    page = (book / "_build" / "html-zh" / "book" / "chapter.html").read_text()
    assert '准确率为 <span class="pasted-text">0.5</span>。' in page
    assert (book / "_build" / "html-zh" / "_static" / "thirdparty" / "mathjax" / "tex-mml-chtml.js").is_file()

    code = book / "book" / "chapter.ipynb"  # a code change the English build has not seen
    code.write_text(code.read_text().replace("0.5", "0.75"))
    stale = subprocess.run(
        [*TOOL, "build", "--root", str(book), "--english", "_build"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert stale.returncode != 0
    assert "holds no run of its current code" in stale.stdout + stale.stderr


def test_markdown_is_translated_block_by_block():
    """The Colab edition's text: headings, paragraphs, items and quotes by their messages."""
    messages = {
        "A title": "标题",
        "One paragraph on two lines.": "一段话。",
        "First item": "第一项",
        "Second item, long": "第二项",
        "A quote.": "引文。",
    }
    text = (
        "## A title\n\nOne paragraph\non two lines.\n\n- First item\n- Second item,\n  long\n\n"
        "> A quote.\n\n```python\nA title\n```\n\nNo translation here."
    )
    assert markdown_i18n.translate_markdown(text, messages) == (
        "## 标题\n\n一段话。\n\n- 第一项\n- 第二项\n\n> 引文。\n\n```python\nA title\n```\n\n"
        "No translation here."
    )


def test_directive_text_and_a_list_after_a_paragraph_are_translated():
    messages = {
        "Goals:": "目标：",
        "one": "一",
        "two": "二",
        "Note": "注意",
        "Open it in Colab.": "在 Colab 中打开。",
    }
    text = "Goals:\n- one\n- two\n\n```{note}\n:class: tip\nOpen it in Colab.\n```\n\n```python\nNote\n```"
    assert markdown_i18n.translate_markdown(text, messages) == (
        "目标：\n- 一\n- 二\n\n```{note}\n:class: tip\n在 Colab 中打开。\n```\n\n```python\nNote\n```"
    )
