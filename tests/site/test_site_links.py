"""No broken link in the built site: every internal link reaches a file and, with a #fragment, an
element with that id; every link into the book's repository names a file that exists in this
checkout. The nitpicky build (`-n -W` in `make test-site`) already fails on broken cross-references;
this also covers raw HTML links and the theme's buttons, without any network.
"""

from __future__ import annotations

import posixpath
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from sitekit import ROOT, ZH, pages, published_file

REPO_VIEWS = ("blob", "edit", "tree")


class _Links(HTMLParser):
    """Collect the ids and the link targets (href/src) of one HTML page."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for key in ("href", "src") if tag in {"a", "img", "link", "script"} else ():
            if attrs.get(key):
                self.targets.append(attrs[key])


@pytest.fixture(scope="module")
def parsed(site: Path, site_zh: Path) -> dict[str, _Links]:
    """Every page of both sites, parsed, by its path in the published layout (Chinese under zh/)."""
    result = {}
    for prefix, folder in (("", site), (ZH, site_zh)):
        for path in pages(folder):
            parser = _Links()
            parser.feed((folder / path).read_text(encoding="utf-8"))
            result[prefix + path] = parser
    return result


def broken_internal(site: Path, parsed: dict[str, _Links], page: str, target: str) -> str | None:
    """Why an internal link from ``page`` is broken, or None when it works (across both sites)."""
    url = urlparse(target)
    if url.scheme or url.netloc or target.startswith(("mailto:", "javascript:")):
        return None
    path = posixpath.normpath(posixpath.join(posixpath.dirname(page), unquote(url.path)))
    path = page if not url.path else path
    found = published_file(path)
    if found is None or not found.is_file():
        return f"{target}: no file {path}"
    fragment = unquote(url.fragment)
    if fragment and path in parsed and fragment not in parsed[path].ids:
        return f"{target}: no id {fragment!r} in {path}"
    return None


def test_internal_links_resolve(site, parsed):
    broken = {
        page: [why for t in links.targets if (why := broken_internal(site, parsed, page, t))]
        for page, links in parsed.items()
    }
    assert not any(broken.values()), "broken links:\n" + "\n".join(
        f"  {page}: {items}" for page, items in broken.items() if items
    )


def test_repository_links_name_files_of_this_checkout(parsed, book_config):
    """Edit, source and Colab links point into the repository at files that exist."""
    repo = book_config["repository"]["url"].rstrip("/")
    branch = book_config["repository"].get("branch", "main")
    checked, missing = 0, []
    for page, links in parsed.items():
        for target in links.targets:
            for view in REPO_VIEWS:
                prefix = f"{repo}/{view}/{branch}/"
                if prefix in target:
                    checked += 1
                    path = urlparse(target.split(prefix, 1)[1]).path
                    if not (ROOT / path).exists():
                        missing.append(f"{page}: {target}")
    assert checked, f"no link into {repo} found: are the repository buttons gone?"
    assert not missing, "links to files the repository lacks:\n  " + "\n  ".join(missing)
