"""Helpers of the site tests: where things are, and what one page does when Chromium loads it.

The two sites are served as they are published: English at the root, Chinese under zh/. External
requests are blocked (the pages must work from the book's own files, and this network reaches
nothing else) and recorded: a page that requests a third-party host fails test_site.py. Every console
error, uncaught exception or failed local request counts against the page.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
SITE = ROOT / "_build" / "preview" / "_build" / "html"  # where `make test-site` builds
ZH = "zh/"  # where the Chinese site is published, relative to the English one
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def site_dir() -> Path:
    """The built HTML site: $DIGITLAB_SITE, default _build/preview/_build/html."""
    return Path(os.environ.get("DIGITLAB_SITE", SITE))


def zh_site_dir() -> Path:
    """The built Chinese site: $DIGITLAB_SITE_ZH, default html-zh beside the English one."""
    return Path(os.environ.get("DIGITLAB_SITE_ZH", site_dir().parent / "html-zh"))


def published() -> dict[str, Path]:
    """URL prefix -> built folder, longest prefix first: the layout of the published sites."""
    return {ZH: zh_site_dir(), "": site_dir()}


def published_file(path: str) -> Path | None:
    """The built file behind a path of the published sites (None outside them)."""
    if path.startswith(".."):
        return None
    for prefix, folder in published().items():
        if path.startswith(prefix):
            return folder / path[len(prefix) :]
    return None


def chromium_path() -> str | None:
    """Debian's Chromium: $DIGITLAB_CHROMIUM, else `chromium` on PATH (None when missing)."""
    return os.environ.get("DIGITLAB_CHROMIUM") or shutil.which("chromium")


def chapters() -> list[Path]:
    """The chapter notebooks, book/NN-*.ipynb."""
    return sorted(BOOK.glob("[0-9][0-9]-*.ipynb"))


def code_cells(notebook: Path) -> list[dict]:
    """The code cells of a notebook, with their source joined into one string."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    for cell in code:
        cell["source"] = "".join(cell["source"])
    return code


def pages(site: Path) -> list[str]:
    """Every HTML page of the site, relative to it (theme templates under _static left out)."""
    found = (p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    return sorted(p for p in found if not p.startswith(("_static/", "_sources/")))


def block_external(context_or_page, base: str, blocked: dict[str, str] | None = None) -> None:
    """Let requests to ``base`` through, abort all others (recording url -> resource type)."""
    context_or_page.route("**/*", functools.partial(_local_only, base=base, blocked=blocked))


def _local_only(route, request, base: str, blocked: dict[str, str] | None) -> None:
    if request.url.startswith((base, "data:")):
        route.continue_()
        return
    if blocked is not None:
        blocked[request.url] = request.resource_type
    route.abort("blockedbyclient")


@dataclass
class Visit:
    """What one page did when Chromium loaded it."""

    path: str
    errors: list[str] = field(default_factory=list)  # console errors and exceptions not excused
    excused: list[str] = field(default_factory=list)  # console errors of blocked (counted) loads
    blocked: dict[str, str] = field(default_factory=dict)  # external url -> resource type
    images: list[dict] = field(default_factory=list)
    formulas: int = 0  # math elements Sphinx wrote on the page
    typeset: int = 0  # of those, the ones MathJax rendered
    url: str = ""  # where the page ended up (index.html redirects to the first page)
    language_link: str | None = None  # absolute URL of the link to the other language
    colab_links: list[str] = field(default_factory=list)
    solutions: list[dict] = field(default_factory=list)


def visit(browser, base: str, path: str) -> Visit:
    """Load one page in a fresh context; record errors, images, Colab links and solution cells."""
    result = Visit(path)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    block_external(context, base, result.blocked)
    page = context.new_page()
    page.on("console", functools.partial(_on_console, result=result))
    page.on("pageerror", lambda exc: result.errors.append(f"uncaught exception: {exc}"))
    page.on("response", functools.partial(_on_response, base=base, result=result))
    page.goto(base + path, wait_until="load")
    page.wait_for_load_state("networkidle")
    _load_lazy_images(page)
    result.formulas, result.typeset = _typeset(page)
    result.url = page.url
    result.language_link = page.eval_on_selector_all("a.language-switch", "els => els.map(e => e.href)[0]")
    result.images = page.eval_on_selector_all("img", IMAGES_JS)
    result.colab_links = page.eval_on_selector_all(
        "a[href*='colab.research.google.com']", "els => els.map(e => e.href)"
    )
    result.solutions = [_solution_state(c) for c in page.query_selector_all(".cell.tag_solution")]
    context.close()
    return result


IMAGES_JS = """els => els.map(e => ({
    src: e.currentSrc || e.src, complete: e.complete, width: e.naturalWidth, height: e.naturalHeight
}))"""


TYPESET_JS = """async () => {
    const math = document.querySelectorAll("article .math");
    if (!math.length) return [0, 0];
    if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return [math.length, 0];
    await MathJax.startup.promise;
    return [math.length, document.querySelectorAll("article .math mjx-container").length];
}"""


def _typeset(page) -> tuple[int, int]:
    """How many formulas the page has, and how many of them MathJax rendered."""
    formulas, typeset = page.evaluate(TYPESET_JS)
    return formulas, typeset


def _on_console(msg, result: Visit) -> None:
    if msg.type != "error":
        return
    url = (msg.location or {}).get("url", "")
    text = f"{msg.text} ({url})" if url else msg.text
    (result.excused if url in result.blocked else result.errors).append(text)


def _on_response(response, base: str, result: Visit) -> None:
    if response.url.startswith(base) and response.status >= 400:
        result.errors.append(f"HTTP {response.status} for {response.url}")


def _load_lazy_images(page) -> None:
    """Make lazy images load now, then wait until every image has finished (or failed)."""
    page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')")
    page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=15_000)


def _solution_state(cell) -> dict:
    """Whether a solution cell has a dropdown, whether it is open, and whether its code shows."""
    details = cell.query_selector("details")
    code = cell.query_selector(".cell_input")
    return {
        "has_dropdown": details is not None,
        "open": bool(details and details.evaluate("d => d.open")),
        "code_visible": bool(code and code.is_visible()),
        "code": (code.text_content() if code else "").strip()[:60],
    }


def write_report(visits: dict[str, Visit], path: Path) -> None:
    """Save what every page loaded from elsewhere and which errors were excused, as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({p: asdict(v) for p, v in visits.items()}, indent=1) + "\n")


def article_texts(site: Path) -> dict[str, str]:
    """Text of every page's main article, lower-cased and with whitespace collapsed, by path."""
    texts = {}
    for path in pages(site):
        html = (site / path).read_text(encoding="utf-8")
        article = re.search(r'<article class="bd-article".*?</article>', html, flags=re.S)
        if article:
            text = re.sub(r"<[^>]+>", " ", article.group(0))
            texts[path] = re.sub(r"\s+", " ", text).lower()
    return texts
