"""A local Sphinx extension for the course site: with DIGITLAB_COURSE=1, solution cells are removed.

The public site shows each exercise's solution collapsed (tag ``hide-input``). A class that is graded
on the exercises needs a site without them: ``make book COURSE=1`` sets ``DIGITLAB_COURSE=1``, and
this extension tags every cell tagged ``solution`` with ``remove-cell`` as each notebook is read, so
MyST-NB drops the cell, its code and its outputs, from the page. The course site is published alone,
without a Chinese edition beside it, so its pages get no language link. Without the variable it does
nothing.
"""

from __future__ import annotations

import json
import os

ENV = "DIGITLAB_COURSE"


def remove_solutions(text: str) -> str:
    """The notebook JSON ``text`` with every solution cell also tagged ``remove-cell``."""
    nb = json.loads(text)
    for cell in nb.get("cells", []):
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "solution" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    return json.dumps(nb)


def on_source_read(app, docname: str, source: list[str]) -> None:
    """Rewrite a notebook's source before MyST-NB parses it (course builds only)."""
    if os.environ.get(ENV) != "1" or not app.env.doc2path(docname).endswith(".ipynb"):
        return
    source[0] = remove_solutions(source[0])


def no_language_link(app, config) -> None:
    """The course site has no translated edition beside it: no link to one (tools/bilingual.py)."""
    if os.environ.get(ENV) == "1":
        config.digitlab_other_site = ""


def setup(app):
    app.connect("source-read", on_source_read)
    app.connect("config-inited", no_language_link)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
