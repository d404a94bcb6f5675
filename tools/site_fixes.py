"""A local Sphinx extension that keeps the site's pages free of console errors (see _config.yml).

sphinx-thebe 0.3.1 adds its inline configuration script (``const THEBE_JS_URL = ...``) once through
the registry and once directly to the builder; Sphinx keeps both, because one has the file name
``""`` and the other ``None``. The second copy throws "Identifier 'THEBE_JS_URL' has already been
declared" on every page. This drops exact duplicates of a page's scripts before it is written.

sphinx-book-theme points each chapter's Colab button at the source notebook on the repository's
branch; learners must get the Colab edition instead (``make colab``, published to its own branch),
so ``colab_buttons`` rewrites that one button after the theme has made it.
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


def colab_buttons(app, pagename, templatename, context, doctree) -> None:
    """Point a chapter's Colab button at its Colab edition; drop it from pages that have none.

    The edition (``make colab``) holds the ``.ipynb`` chapters only; a MyST-Markdown page such as
    instructors.md would otherwise get a button that opens a file Colab cannot read.
    """
    from digitlab.colab import colab_url

    options = app.config.html_theme_options
    colab = options.get("launch_buttons", {}).get("colab_url", "").rstrip("/")
    is_chapter = str(app.env.doc2path(pagename)).endswith(".ipynb")
    for group in context.get("header_buttons", []) if colab else []:
        if group.get("label") != "launch-buttons":
            continue
        buttons = [b for b in group["buttons"] if is_chapter or not b.get("url", "").startswith(colab)]
        for button in buttons:
            if button.get("url", "").startswith(colab + "/"):
                button["url"] = colab_url(
                    pagename.rsplit("/", 1)[-1] + ".ipynb",
                    options["repository_url"],
                    app.config.digitlab_colab_branch,
                )
        group["buttons"] = buttons
    context["header_buttons"] = [
        g for g in context.get("header_buttons", []) if g.get("label") != "launch-buttons" or g["buttons"]
    ]


def setup(app):
    # The branch of the Colab edition the buttons open (the Chinese site: its own, colab-zh).
    app.add_config_value("digitlab_colab_branch", "colab", "html", str)
    app.connect("html-page-context", dedupe_scripts, priority=900)
    app.connect("html-page-context", colab_buttons, priority=900)  # after the theme's (501)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
