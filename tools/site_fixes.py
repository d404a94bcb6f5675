"""A local Sphinx extension that keeps the site's pages free of console errors (see _config.yml).

sphinx-thebe 0.3.1 adds its inline configuration script (``const THEBE_JS_URL = ...``) once through
the registry and once directly to the builder; Sphinx keeps both, because one has the file name
``""`` and the other ``None``. The second copy throws "Identifier 'THEBE_JS_URL' has already been
declared" on every page. This drops exact duplicates of a page's scripts before it is written.
"""

from __future__ import annotations


def dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    """Keep the first of any scripts that have the same file, body and attributes."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
