"""Fixtures of the site tests: the built HTML, a local web server on 127.0.0.1, headless Chromium.

These tests check the built site, so they run only when asked for, by path or by marker:
`make test-site` builds the book and then runs `pytest -m site tests/site`; a plain `pytest tests`
deselects them (the root conftest.py marks them ``site``).
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path

import pytest
import yaml
from sitekit import (
    CHROMIUM_ARGS,
    ROOT,
    SCREENSHOTS,
    ZH,
    chromium_path,
    pages,
    published_file,
    site_dir,
    visit,
    write_report,
    zh_site_dir,
)

HERE = Path(__file__).resolve().parent


def _asked_for(config: pytest.Config) -> bool:
    """True when ``-m site`` is given, or a command-line argument names this folder or something in it."""
    if re.search(r"(?<!not )\bsite\b", config.option.markexpr or ""):
        return True
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the site tests unless tests/site (or a file in it) was named on the command line."""
    if _asked_for(config):
        return
    mine = [item for item in items if HERE in Path(item.path).parents]
    if mine:
        config.hook.pytest_deselected(items=mine)
        items[:] = [item for item in items if HERE not in Path(item.path).parents]


@pytest.fixture(scope="session")
def site() -> Path:
    """The built HTML site."""
    path = site_dir()
    if not (path / "index.html").is_file():
        pytest.fail(f"no built site at {path}: run `make test-site`, which builds it first")
    return path


@pytest.fixture(scope="session")
def site_zh() -> Path:
    """The built Chinese site."""
    path = zh_site_dir()
    if not (path / "index.html").is_file():
        pytest.fail(f"no built Chinese site at {path}: run `make test-site`, which builds it first")
    return path


@pytest.fixture(scope="session")
def book_config() -> dict:
    """The book's _config.yml."""
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


class _PublishedHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the two sites as published: English at the root, Chinese under zh/."""

    def translate_path(self, path):
        local = super().translate_path(path)
        relative = local[len(self.directory) :].lstrip("/")
        found = published_file(ZH if relative == ZH.rstrip("/") else relative)
        return str(found) if found is not None else local

    def log_message(self, format, *args):  # the base class's signature
        pass


@pytest.fixture(scope="session")
def server(site: Path, site_zh: Path):
    """Base URL of a web server on 127.0.0.1 (a free port) that serves both sites."""
    handler = functools.partial(_PublishedHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if not path:
        pytest.fail("Chromium is missing: `apt-get install chromium` (.ci/run does this)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def visits(site: Path, server: str, browser) -> dict:
    """Every page loaded once, by path; also saved to _build/screenshots/pages.json."""
    result = {path: visit(browser, server, path) for path in pages(site)}
    write_report(result, SCREENSHOTS / "pages.json")
    return result


@pytest.fixture(scope="session")
def visits_zh(site_zh: Path, server: str, browser) -> dict:
    """Every page of the Chinese site loaded once, by path in that site; saved to pages-zh.json."""
    result = {path: visit(browser, server, ZH + path) for path in pages(site_zh)}
    write_report(result, SCREENSHOTS / "pages-zh.json")
    return result


@pytest.fixture(scope="session", params=["en", "zh"])
def every_visit(request) -> dict:
    """Each site's visits in turn (for the checks that are the same for both)."""
    return request.getfixturevalue("visits" if request.param == "en" else "visits_zh")
