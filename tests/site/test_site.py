"""The built sites, English and Chinese, in headless Chromium: every page loads cleanly, requests
nothing from a third-party host, renders its formulas and images, and links to the same page in the
other language; each chapter's Colab button opens its Colab edition, search works in both languages,
solutions start hidden, and every glued number appears on the Chinese pages. `make test-site` builds
both sites, then runs it.
"""

from __future__ import annotations

import ast
import html
import re
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import yaml
from sitekit import (
    ROOT,
    SCREENSHOTS,
    ZH,
    article_texts,
    block_external,
    chapters,
    code_cells,
    pages,
)


def built_chapters(visits) -> list[Path]:
    """The chapters that are in the table of contents, hence built (tests/test_hygiene.py checks
    that every chapter is)."""
    built = [nb for nb in chapters() if f"book/{nb.stem}.html" in visits]
    assert built, "no chapter page was built"
    return built


def report(problems: dict[str, list]) -> str:
    """One line per page that has problems."""
    return "\n".join(f"  {page}: {items}" for page, items in problems.items() if items)


def test_every_toc_file_became_a_page(every_visit):
    visits = every_visit
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    files = re.findall(r"^\s*(?:root|-\s*file):\s*(\S+)", toc, flags=re.M)
    assert files, "no files found in _toc.yml"
    missing = [f for f in files if Path(f).with_suffix(".html").as_posix() not in visits]
    assert not missing, f"pages in _toc.yml that were not built: {missing}"


def test_no_console_errors(every_visit):
    visits = every_visit
    problems = {path: v.errors for path, v in visits.items()}
    assert not any(problems.values()), "console errors:\n" + report(problems)


def test_no_third_party_requests(every_visit):
    """Every script, stylesheet, font and image comes from the site itself (none from a CDN)."""
    problems = {path: sorted(v.blocked) for path, v in every_visit.items()}
    assert not any(problems.values()), "requests to other hosts:\n" + report(problems)


def test_formulas_render(every_visit):
    """MathJax, served by the site, renders every formula of every page."""
    assert sum(v.formulas for v in every_visit.values()), "no page has a formula"
    problems = {
        path: f"{v.typeset} of {v.formulas} formulas rendered"
        for path, v in every_visit.items()
        if v.typeset != v.formulas
    }
    assert not problems, "formulas not rendered:\n" + "\n".join(f"  {p}: {w}" for p, w in problems.items())


def test_every_image_loaded(every_visit):
    visits = every_visit
    problems = {
        path: [i["src"] for i in v.images if not (i["complete"] and i["width"] and i["height"])]
        for path, v in visits.items()
    }
    assert not any(problems.values()), "images that did not load:\n" + report(problems)


def test_chapters_that_plot_show_figures(every_visit):
    visits = every_visit
    """Guards against a build whose plots went nowhere (for example with MPLBACKEND=Agg set)."""
    for nb in built_chapters(visits):
        if any("plt.show()" in c["source"] for c in code_cells(nb)):
            images = visits[f"book/{nb.stem}.html"].images
            assert any("/_images/" in i["src"] for i in images), f"{nb.name}: plots, but no figure"


def test_colab_button_opens_the_colab_edition(visits, book_config):
    """Each chapter's Colab button opens that chapter in the Colab edition's branch (make colab)."""
    from digitlab.colab import BRANCH

    repo = urlparse(book_config["repository"]["url"]).path.strip("/")
    colab = book_config["launch_buttons"]["colab_url"].rstrip("/")
    for nb in built_chapters(visits) + [ROOT / "book" / "results.ipynb"]:
        expected = f"{colab}/github/{repo}/blob/{BRANCH}/{nb.name}"
        links = visits[f"book/{nb.stem}.html"].colab_links
        assert links and set(links) == {expected}, f"{nb.name}: Colab button points at {links}"
    edition = {f"book/{nb.stem}.html" for nb in (ROOT / "book").glob("*.ipynb")}
    others = {page: v.colab_links for page, v in visits.items() if page not in edition and v.colab_links}
    assert not others, f"pages with no Colab edition link to Colab: {others}"


def test_chinese_colab_buttons_open_the_chinese_edition(visits_zh, book_config):
    """The Chinese site's Colab buttons open the Chinese Colab edition (make colab-zh)."""
    sys.path.insert(0, str(ROOT / "tools"))
    from translations import COLAB_BRANCHES

    repo = urlparse(book_config["repository"]["url"]).path.strip("/")
    colab = book_config["launch_buttons"]["colab_url"].rstrip("/")
    for nb in built_chapters(visits_zh):
        expected = f"{colab}/github/{repo}/blob/{COLAB_BRANCHES['zh_CN']}/{nb.name}"
        links = visits_zh[f"book/{nb.stem}.html"].colab_links
        assert links and set(links) == {expected}, f"{nb.name}: Colab button points at {links}"


def test_solutions_start_collapsed(every_visit):
    visits = every_visit
    for nb in built_chapters(visits):
        tagged = [c for c in code_cells(nb) if "solution" in c["metadata"].get("tags", [])]
        shown = visits[f"book/{nb.stem}.html"].solutions
        assert len(shown) == len(tagged), f"{nb.name}: {len(tagged)} solutions, {len(shown)} on page"
        for state in shown:
            hidden = state["has_dropdown"] and not state["open"] and not state["code_visible"]
            assert hidden, f"{nb.name}: a solution is not collapsed: {state}"


def test_search_finds_confusion_matrix(site, server, browser):
    phrase = "confusion matrix"
    expected = {path for path, text in article_texts(site).items() if phrase in text}
    assert expected, f"no page of the site mentions {phrase!r}"
    page = browser.new_page()
    block_external(page, server)
    page.goto(server + "search.html?q=" + phrase.replace(" ", "+"))
    page.wait_for_selector("#search-results .search-summary", timeout=30_000)
    links = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
    page.close()
    found = {urlparse(u).path.lstrip("/") for u in links}
    assert expected <= found, f"searching {phrase!r} found {sorted(found)}, not all of {sorted(expected)}"


def test_language_links_lead_to_the_same_page(visits, visits_zh, server):
    """Every page links to itself in the other language (search and index pages excepted)."""
    wrong = []
    for own, other, here, there in ((visits, visits_zh, "", ZH), (visits_zh, visits, ZH, "")):
        for path, v in own.items():
            if path in ("search.html", "genindex.html"):
                continue
            landed = v.url.removeprefix(server + here)  # index.html redirects to the first page
            if v.language_link != server + there + landed or landed not in other:
                wrong.append(f"{here}{path} -> {v.language_link}")
    assert not wrong, "language links that miss the same page:\n  " + "\n  ".join(wrong)


def test_language_link_round_trip(server, browser):
    """Clicking the language link goes to the Chinese page and back, in the same tab."""
    page = browser.new_page()
    block_external(page, server)
    page.goto(server + "book/05-evaluation.html", wait_until="load")
    page.click("a.language-switch")
    page.wait_for_url(server + ZH + "book/05-evaluation.html")
    assert page.get_attribute("html", "lang") == "zh-CN"
    page.click("a.language-switch")
    page.wait_for_url(server + "book/05-evaluation.html")
    assert page.get_attribute("html", "lang") == "en"
    page.close()


def test_chinese_search_finds_chapter_5(site_zh, server, browser):
    """Sphinx's Chinese search (jieba, taught the book's terms) finds the confusion-matrix chapter."""
    phrase = "混淆矩阵"
    assert phrase in article_texts(site_zh)["book/05-evaluation.html"], "chapter 5 lacks the term"
    page = browser.new_page()
    block_external(page, server)
    page.goto(server + ZH + "search.html?q=" + phrase)
    page.wait_for_selector("#search-results .search-summary", timeout=30_000)
    links = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
    page.close()
    found = {urlparse(u).path for u in links}
    assert f"/{ZH}book/05-evaluation.html" in found, f"searching {phrase!r} found {sorted(found)}"


def test_chinese_table_of_contents_is_translated(site_zh):
    """The part captions of _toc.yml appear in Chinese in the Chinese site's navigation."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    captions = [part["caption"] for part in toc["parts"]]
    nav = (site_zh / "book" / "intro.html").read_text(encoding="utf-8")
    shown = re.findall(r'caption-text">([^<]*)<', nav)
    assert len(set(shown)) == len(captions), f"the navigation shows {shown}"
    english = [c for c in captions if c in shown]
    assert not english, f"part captions left in English: {english}"


STRAIGHT = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})


def glued(site: Path) -> dict[str, Counter]:
    """The glued values (myst-nb's pasted text) of every page, by path. Quotes are made straight:
    Sphinx curls them in English text only (its smart quotes are off for Chinese)."""
    spans = re.compile(r'<span class="pasted-text">(.*?)</span>', flags=re.S)
    return {
        path: Counter(
            html.unescape(v).translate(STRAIGHT)
            for v in spans.findall((site / path).read_text(encoding="utf-8"))
        )
        for path in pages(site)
    }


def glued_phrases(site: Path) -> dict[str, dict[str, str]]:
    """Per page, each glued phrase (digitlab.phrases: words that depend on the run) in English and
    in Chinese, translated with the catalogue of locales/ from the values the English build glued."""
    sys.path.insert(0, str(ROOT / "tools"))
    import translations

    from digitlab import myst, phrases

    found = {}
    for stored in (site.parent / "jupyter_execute" / "book").glob("*.glue.json"):
        page = stored.name.removesuffix(".glue.json")
        glue = myst.glue_values({}, stored)
        chinese = phrases.translate_glue(glue, translations.gettext(f"book/{page}", ROOT))
        found[f"book/{page}.html"] = {
            ast.literal_eval(glue[name]["text/plain"]).translate(STRAIGHT): ast.literal_eval(
                chinese[name]["text/plain"]
            )
            for name in glue
            if name + phrases.SUFFIX in glue
        }
    return found


def test_every_glued_value_appears_on_the_chinese_pages(site, site_zh):
    """Numbers as they are; glued phrases (verdicts, "more than") in their Chinese wording."""
    english, chinese = glued(site), glued(site_zh)
    assert sum(map(len, english.values())), "no glued value on the English site"
    translated = glued_phrases(site)
    assert sum(map(len, translated.values())), "no glued phrase found in the English build"
    problems = {}
    for path, values in english.items():
        wording = translated.get(path, {})
        expected = Counter({wording.get(value, value): n for value, n in values.items()})
        problems[path] = dict(expected - chinese.get(path, Counter()))
        problems[path].update(
            {v: "left in English" for v in wording if v in chinese.get(path, {}) and v != wording[v]}
        )
    assert not any(problems.values()), "glued values missing on the Chinese pages:\n" + report(problems)


def kept_in_english() -> set[str]:
    """Terms the Chinese glossary keeps in English (it translates them as themselves), such as logits."""
    import translations

    return {term for term, chinese in translations.messages("book/glossary", ROOT).items() if term == chinese}


def test_no_english_words_are_glued_into_chinese_text(site_zh):
    """Words a chapter glues (verdicts, "more than") are phrases, translated on the Chinese pages;
    identifiers such as torch_strong, numbers and the terms the glossary keeps in English may stay."""
    english, kept = re.compile(r"(?<![\w-])[a-z]{4,}(?![\w-])"), kept_in_english()
    assert "logits" in kept
    found = {
        path: [v for v in values if set(english.findall(v)) - kept] for path, values in glued(site_zh).items()
    }
    assert not any(found.values()), "English words glued into Chinese pages:\n" + report(found)


def test_screenshots(site, server, browser):
    """Full-page screenshots of the home page and of the first chapter, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    first = next(nb.stem for nb in chapters() if (site / "book" / f"{nb.stem}.html").is_file())
    targets = {"home.png": "index.html", f"chapter-{first}.png": f"book/{first}.html"}
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    block_external(page, server)
    for name, path in targets.items():
        page.goto(server + path, wait_until="networkidle")
        page.screenshot(path=SCREENSHOTS / name, full_page=True)
        assert (SCREENSHOTS / name).stat().st_size > 20_000, f"{name} looks blank"
    page.close()
