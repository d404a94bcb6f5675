"""MyST markup turned into the plain Markdown that Colab shows (used by ``digitlab.colab``).

Glued values become the value the book's build printed, marked ``BUILD_MARK``; citations become
"(Author, year)" linked to the site's references page; ``{doc}``, ``{ref}`` and ``{numref}`` become
links to the published pages (found in the built site's ``objects.inv``); admonitions become quoted
blocks with their title; images become cell attachments. Markup it does not know raises
``ValueError``, so a new kind of markup cannot reach learners unconverted.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import posixpath
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

BUILD_MARK = "\u2020"  # a dagger after each number the build printed
ROLE = re.compile(r"\{(?P<role>[A-Za-z][\w:-]*)\}`(?P<text>[^`]*)`")
FENCE = re.compile(r"^(?P<indent>[ ]{0,3})(?P<fence>:{3,}|`{3,}|~{3,})\s*(?P<info>.*)$")
DIRECTIVE = re.compile(r"^\{(?P<name>[\w-]+)\}\s*(?P<argument>.*)$")
IMAGE = re.compile(
    r"(?P<head>!\[[^\]]*\]\()(?P<src>[^)\s]+)(?P<tail>[^)]*\))"
    r"|(?P<tag><img\b[^>]*?\bsrc=[\"'])(?P<tagsrc>[^\"']+)"
)
ADMONITIONS = {
    "admonition",
    "attention",
    "caution",
    "danger",
    "error",
    "hint",
    "important",
    "note",
    "seealso",
    "tip",
    "warning",
}
GLUE_ROLES = {"glue", "glue:", "glue:any", "glue:text", "glue:md"}
CITE_ROLES = {"cite", "cite:p", "cite:t"}
GLUE_PREFIX = "application/papermill.record/"


@dataclass
class Page:
    """What converting one notebook's Markdown needs: where it is, and what the build produced."""

    site: str  # the published site, ending in "/"
    docname: str  # the notebook's page, e.g. "book/03-keras-cnn"
    folder: Path  # the source notebook's folder (relative images are read from it)
    glue: dict[str, dict] = field(default_factory=dict)  # name -> mime bundle, from glue_values()
    citations: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (authors, year)
    inventory: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # read_inventory()
    references_page: str = "book/references"


# --- what the build produced ----------------------------------------------------------------------
def glue_values(executed: dict, stored: str | Path | None = None) -> dict[str, dict]:
    """Every value an executed notebook glued, by name: the mime bundle myst-nb stored.

    myst-nb moves the glue outputs out of the notebook it writes to ``jupyter_execute/`` into a
    ``<name>.glue.json`` beside it (``stored``); outputs still in ``executed`` are read too.
    """
    outputs = [
        o for c in executed.get("cells", []) if c.get("cell_type") == "code" for o in c.get("outputs", [])
    ]
    if stored is not None and Path(stored).is_file():
        outputs += list(json.loads(Path(stored).read_text(encoding="utf-8")).values())
    values = {}
    for output in outputs:
        name = output.get("metadata", {}).get("scrapbook", {}).get("name")
        if name and "data" in output:
            values[name] = {k.removeprefix(GLUE_PREFIX): v for k, v in output["data"].items()}
    return values


def read_citations(bibfile: str | Path) -> dict[str, tuple[str, str]]:
    """``key -> (authors, year)`` for every entry of a BibTeX file, authors as a citation shows them."""
    from pybtex.database import parse_file
    from pybtex.richtext import Text

    citations = {}
    for key, entry in parse_file(str(bibfile)).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [
            str(Text.from_latex(" ".join(p.prelast_names + p.last_names)).render_as("text")) for p in people
        ]
        if len(names) > 2:
            authors = f"{names[0]} et al."
        else:
            authors = " and ".join(names) or key
        citations[key] = (authors, entry.fields.get("year", "n.d."))
    return citations


def read_inventory(path: str | Path) -> dict[tuple[str, str], tuple[str, str]]:
    """``(role, name) -> (uri, title)`` from a Sphinx ``objects.inv`` (format 2), e.g. ``("std:doc", "book/setup")``."""
    raw = Path(path).read_bytes()
    header, _, body = raw.partition(b"zlib.\n")
    if not header.startswith(b"# Sphinx inventory version 2"):
        raise ValueError(f"path must be a Sphinx inventory (version 2), got {str(path)!r}")
    found = {}
    for line in zlib.decompress(body).decode("utf-8").splitlines():
        match = re.match(r"(.+?)\s+(\S+)\s+(-?\d+)\s+(\S*)\s+(.*)", line)
        if match:
            name, role, _, uri, title = match.groups()
            uri = uri[:-1] + name if uri.endswith("$") else uri
            found[(role, name)] = (uri, name if title == "-" else title)
    return found


# --- roles ----------------------------------------------------------------------------------------
def convert_roles(text: str, page: Page) -> str:
    """``text`` with every MyST role replaced by plain Markdown."""
    return ROLE.sub(lambda m: _role(m.group("role"), m.group("text"), page), text)


def _role(role: str, text: str, page: Page) -> str:
    if role in GLUE_ROLES:
        return _glued(role, text, page) + BUILD_MARK
    if role in CITE_ROLES:
        return _cite(role, text, page)
    if role in ("doc", "ref", "numref"):
        return _reference(role, text, page)
    if role == "math":
        return f"${text}$"
    raise ValueError(f"{page.docname}: the Colab edition cannot convert the role {{{role}}}`{text}`")


def _glued(role: str, text: str, page: Page) -> str:
    from myst_nb.core.variables import format_plain_text

    key, fmt = text, "s" if role == "glue:text" else ""
    if role == "glue:text" and ":" in text:
        key, fmt = text.rsplit(":", 1)
    if "::" in key or key not in page.glue:
        raise ValueError(f"{page.docname}: no value glued as {key!r} in the executed notebook")
    data = page.glue[key]
    if role in ("glue:md", "glue", "glue:", "glue:any") and "text/markdown" in data:
        return str(data["text/markdown"]).strip()
    if "text/plain" not in data:
        raise ValueError(f"{page.docname}: the value glued as {key!r} has no text form")
    return format_plain_text(data["text/plain"], fmt)


def _cite(role: str, text: str, page: Page) -> str:
    url = page.site + page.references_page + ".html"
    parts = []
    for key in (k.strip() for k in text.split(",")):
        if key not in page.citations:
            raise ValueError(f"{page.docname}: {key!r} is not in the book's references.bib")
        authors, year = page.citations[key]
        parts.append(f"[{authors} ({year})]({url})" if role == "cite:t" else f"[{authors}, {year}]({url})")
    return ", ".join(parts) if role == "cite:t" else "(" + "; ".join(parts) + ")"


def _reference(role: str, text: str, page: Page) -> str:
    match = re.fullmatch(r"(?s)(?P<title>.*?)\s*<(?P<target>[^<>]+)>", text)
    title, target = (match.group("title"), match.group("target")) if match else ("", text)
    if role == "doc":
        folder = posixpath.dirname(page.docname)
        target = (
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join(folder, target))
        )
        key = ("std:doc", target.removesuffix(".md").removesuffix(".ipynb"))
    else:
        key = ("std:label", target.lower())
    if key not in page.inventory:
        raise ValueError(f"{page.docname}: {{{role}}}`{text}` names nothing in the built site")
    uri, found_title = page.inventory[key]
    return f"[{title or found_title}]({page.site}{uri})"


# --- blocks: fences and admonitions ---------------------------------------------------------------
def convert_markdown(text: str, page: Page) -> tuple[str, dict]:
    """A markdown cell's text in plain Markdown, and the attachments its images need."""
    attachments: dict = {}
    lines = _blocks(text.splitlines(), page)
    out = "\n".join(lines)
    out = IMAGE.sub(lambda m: _image(m, page, attachments), out)
    return out, attachments


def _blocks(lines: list[str], page: Page) -> list[str]:
    out, i = [], 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            out.append(convert_roles(lines[i], page))
            i += 1
            continue
        fence, info = match.group("fence"), match.group("info").strip()
        end = _closing(lines, i, fence)
        body = lines[i + 1 : end]
        directive = DIRECTIVE.match(info)
        if directive is None:  # a plain code block: left as it is
            out += lines[i : end + 1]
        else:
            out += _directive(directive.group("name"), directive.group("argument"), body, page)
        i = end + 1
    return out


def _closing(lines: list[str], start: int, fence: str) -> int:
    """Index of the line that closes the fence opened at ``start`` (the last line when none does)."""
    for j in range(start + 1, len(lines)):
        stripped = lines[j].strip()
        if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
            return j
    return len(lines)


def _directive(name: str, argument: str, body: list[str], page: Page) -> list[str]:
    if name not in ADMONITIONS:
        raise ValueError(f"{page.docname}: the Colab edition cannot convert the directive {{{name}}}")
    body = _without_options(body)
    if name == "admonition":
        title = argument
    else:
        title = "See also" if name == "seealso" else name.capitalize()
        body = ([argument, ""] if argument else []) + body
    inner = _blocks(body, page)
    return [f"> **{convert_roles(title, page)}**", ">"] + [f"> {line}".rstrip() for line in inner]


def _without_options(body: list[str]) -> list[str]:
    """The directive's content without its ``:key: value`` lines or ``---`` YAML block."""
    if body and body[0].strip() == "---":
        end = next((j for j in range(1, len(body)) if body[j].strip() == "---"), 0)
        return body[end + 1 :]
    j = 0
    while j < len(body) and re.match(r"^\s*:[\w-]+:", body[j]):
        j += 1
    return body[j:]


# --- images ---------------------------------------------------------------------------------------
def _image(match: re.Match, page: Page, attachments: dict) -> str:
    src = match.group("src") or match.group("tagsrc")
    if re.match(r"^(?:[a-z]+:|#)", src):  # http:, https:, data:, attachment: stay as they are
        return match.group(0)
    path = (page.folder / src).resolve()
    mime = mimetypes.guess_type(path.name)[0]
    if not path.is_file() or not mime or not mime.startswith("image/"):
        raise ValueError(f"{page.docname}: the image {src!r} is not an image file next to the notebook")
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    if match.group("tagsrc"):  # raw HTML: only a data URL works everywhere
        return f"{match.group('tag')}data:{mime};base64,{data}"
    attachments[path.name] = {mime: data}
    return f"{match.group('head')}attachment:{path.name}{match.group('tail')}"
