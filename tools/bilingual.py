"""A local Sphinx extension for the book's two languages (see _config.yml and tools/translations.py).

- Glued numbers in translated text: Sphinx's i18n transform parses a translated message as a
  fragment of its own, where myst-nb's ``{glue:text}`` role finds no notebook and renders nothing.
  Here the role turns such a reference into a reference to the page's own glue data, which
  myst-nb resolves after reading, as it does for glue from another page.
- Glued phrases in the page's language: a value glued as a ``digitlab.phrases.Phrase`` (a verdict
  that depends on the run) is rendered from its translated template, with the English build's values.
- No execution: with ``digitlab_outputs_from`` set to the English build folder (the Chinese build),
  every notebook gets its outputs from that build's jupyter-cache or executed copy, and the build
  stops when neither holds the notebook's current code; set to ``none`` (message extraction), notebooks get
  no outputs. Either way nothing is executed, whatever a page's execution mode.
- The language link at the top of every page, to the same page in the other language, and the
  table of contents' part captions in the page's language.
- Chinese search: Sphinx's ``zh`` search splits words with jieba, taught the book's terms.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

from digitlab.phrases import translate_glue

LOGGER = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
SEARCH_TERMS = "locales/{lang}/search-terms.txt"  # a jieba user dictionary, one term a line
REUSED: list[str] = []  # notebooks whose outputs came from the English build, this run


def glue_text_role():
    """myst-nb's ``{glue:text}`` role, made to work inside a translated message."""
    from myst_nb.ext.glue.roles import PasteTextRole

    class TranslatedPasteTextRole(PasteTextRole):
        def run(self):
            env = getattr(self.document.settings, "env", None)
            if env is not None and "nb_renderer" not in self.document and "::" not in self.text:
                # A translated fragment: refer to this page's glue data, resolved after reading.
                key, _, spec = self.text.partition(":")
                self.text = f"/{env.doc2path(env.docname, False)}::{key}:{spec or 's'}"
            return super().run()

    return TranslatedPasteTextRole()


def executed_copy(folder: Path, srcdir: Path, source: str) -> Path:
    """Where the English build keeps the executed copy of the notebook ``source``."""
    relative = Path(source).resolve().relative_to(srcdir.resolve())
    return folder / "jupyter_execute" / relative.with_suffix(".ipynb")


def merge_outputs(notebook, executed, name: str) -> None:
    """Copy the outputs of ``executed`` into ``notebook``; fail when their code cells differ."""
    mine = [c for c in notebook.cells if c.cell_type == "code"]
    theirs = [c for c in executed.cells if c.cell_type == "code"]
    if [c.source for c in mine] != [c.source for c in theirs]:
        raise ExtensionError(
            f"{name}: its code differs from the English build's executed copy; "
            "rebuild the English site first (make book, or make preview for the quick build)"
        )
    for cell, done in zip(mine, theirs):
        cell.outputs = done.get("outputs", [])
        cell.execution_count = done.get("execution_count")
    for key in ("language_info", "widgets"):  # what execution adds to the notebook's metadata
        if key in executed.metadata:
            notebook.metadata[key] = executed.metadata[key]


def from_cache(folder: Path, notebook):
    """The English build's jupyter-cache entry for ``notebook`` (same code), or None."""
    from jupyter_cache import get_cache

    path = folder / ".jupyter_cache"
    if not path.is_dir():
        return None
    try:
        return get_cache(str(path)).merge_match_into_notebook(notebook)[1]
    except KeyError:
        return None


def reuse_outputs(app) -> None:
    """Make myst-nb take every notebook's outputs from the English build instead of executing:
    from its jupyter-cache (chapters), else from its executed copy (pages executed in ``force``
    mode, which bypass the cache), else stop."""
    import nbformat
    from myst_nb import sphinx_ as nb_sphinx
    from myst_nb.core.execute.base import NotebookClientBase

    folder = Path(app.config.digitlab_outputs_from)
    if not folder.is_absolute():
        folder = Path(app.srcdir) / folder

    class ReusedClient(NotebookClientBase):
        """A client that executes nothing, with the glue data the English build saved."""

        glued: dict = {}
        gettext = staticmethod(lambda text: text)

        @functools.cached_property
        def glue_data(self):  # read after the client is set up, once per page
            data = {**self._glue_data, **self.glued}
            bundles = translate_glue({k: v["data"] for k, v in data.items()}, self.gettext)
            return {k: {**v, "data": bundles[k]} for k, v in data.items()}

    def create_client(notebook, source, nb_config, logger, read_fmt=None):
        REUSED.append(str(source))
        if app.config.digitlab_outputs_from == "none":  # message extraction: no outputs needed
            return NotebookClientBase(notebook, Path(source), nb_config, logger)
        path = executed_copy(folder, Path(app.srcdir), source)
        if nb_config.execution_mode == "cache":
            cached = from_cache(folder, notebook)
            if cached is None:
                raise ExtensionError(
                    f"{source}: the execution cache of the English build at {folder} holds no run "
                    "of its current code; build the English site first (make book, or make preview "
                    "for the quick build)"
                )
            merge_outputs(notebook, cached, str(source))
            app.env.note_dependency(str(folder / ".jupyter_cache" / "global.db"))
        elif path.is_file():  # a page executed on every build (force mode) bypasses the cache
            merge_outputs(notebook, nbformat.read(path, as_version=4), str(source))
            app.env.note_dependency(str(path))  # read again when the English build re-executes it
        else:
            raise ExtensionError(
                f"{source}: the English build at {folder} has not executed it; build the English "
                "site first (make book, or make preview for the quick build)"
            )
        client = ReusedClient(notebook, Path(source), nb_config, logger)
        client.gettext = page_catalog(app, app.env.path2doc(str(source))).gettext
        glue = path.with_suffix(".glue.json")  # values glued with display=False leave no output
        if glue.is_file():
            app.env.note_dependency(str(glue))
            client.glued = nbformat.from_dict(json.loads(glue.read_text(encoding="utf-8")))
        return client

    nb_sphinx.create_client = create_client


def page_catalog(app, docname: str):
    """The translation catalogue of page ``docname`` in this build's language."""
    from sphinx.locale import init as init_locale
    from sphinx.util.i18n import docname_to_domain

    domain = docname_to_domain(docname, app.config.gettext_compact)
    dirs = [str(Path(app.srcdir) / d) for d in app.config.locale_dirs]
    return init_locale(dirs, app.config.language, domain)[0]


def report_reuse(app, exception) -> None:
    if app.config.digitlab_outputs_from and exception is None:
        LOGGER.info(
            f"{len(REUSED)} notebooks read, outputs from {app.config.digitlab_outputs_from}; 0 executed"
        )


def language_link(app, pagename, templatename, context, doctree) -> None:
    """The URL of this page in the other language: ``digitlab_other_site`` is the other site's
    root, relative to this site's root (the published layout: English at /, Chinese at /zh/)."""
    other = app.config.digitlab_other_site
    if not other or pagename in ("search", "genindex"):
        context["digitlab_language_link"] = None
        return
    up = "../" * pagename.count("/")
    context["digitlab_language_link"] = {
        "url": f"{up}{other}{pagename}.html",
        "label": app.config.digitlab_other_label,
        "lang": app.config.digitlab_other_lang,
    }


def configure(app, config) -> None:
    """Templates and header slot of the language link; Chinese search with the book's terms."""
    config.templates_path.append(str(TEMPLATES))
    config.html_static_path.append(str(STATIC))
    options = config.html_theme_options
    end = options.get("article_header_end", ["article-header-buttons.html"])
    if "language-switch.html" not in end:
        options["article_header_end"] = ["language-switch.html", *end]
    if (config.language or "").startswith("zh"):
        config.html_search_language = "zh"
        terms = Path(app.srcdir) / SEARCH_TERMS.format(lang=config.language)
        if terms.is_file():
            config.html_search_options = {**(config.html_search_options or {}), "dict": str(terms)}


def translate_captions(app, doctree) -> None:
    """Translate the part captions of the table of contents, which sphinx-external-toc inserts
    after Sphinx has translated the page (the captions are messages of the root page)."""
    from sphinx import addnodes

    toctrees = [n for n in doctree.findall(addnodes.toctree) if n.get("caption")]
    if not toctrees or not app.config.language or app.config.language == "en":
        return
    catalog = page_catalog(app, app.env.docname)
    for node in toctrees:
        node["caption"] = catalog.gettext(node["caption"])


def builder_inited(app) -> None:
    """In a build that reuses outputs, keep myst-nb's files (executed notebooks, glue data,
    images) beside this build's pages, apart from the English build's."""
    if app.config.digitlab_outputs_from:
        reuse_outputs(app)
        name = "gettext" if app.config.digitlab_outputs_from == "none" else app.config.language
        folder = Path(app.outdir).parent / f"jupyter_execute-{name}"
        app.env.mystnb_config = app.env.mystnb_config.copy(output_folder=str(folder.resolve()))


def setup(app):
    app.add_config_value("digitlab_outputs_from", "", "env", str)
    app.add_config_value("digitlab_other_site", "", "html", str)
    app.add_config_value("digitlab_other_label", "", "html", str)
    app.add_config_value("digitlab_other_lang", "", "html", str)
    app.setup_extension("myst_nb")
    app.add_role_to_domain("glue", "text", glue_text_role(), override=True)
    app.connect("config-inited", configure)
    app.connect("builder-inited", builder_inited, priority=600)  # after myst-nb's
    app.connect("html-page-context", language_link)
    app.connect("doctree-read", translate_captions, priority=400)
    app.add_css_file("bilingual.css")
    app.connect("build-finished", report_reuse)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
