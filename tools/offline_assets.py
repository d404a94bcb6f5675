"""A local Sphinx extension that serves the scripts the pages need from the site itself.

By default MathJax comes from jsDelivr, and pages with widgets (chapters 4 and 8) load require.js
from cdnjs and the Jupyter widgets manager from jsDelivr, which then fetches its fonts and any other
widget library (ipycanvas) from jsDelivr too: blocked or slow in some countries, and absent offline.
_config.yml points ``mathjax_path`` and ``nb_ipywidgets_js`` at ``_static/thirdparty/``; this copies the
files there from the npm packages of package.json (``npm ci``, run by the Makefile) and ipycanvas's
own AMD module from its Python package (the version the notebooks ran with). On a page with widgets,
require.js gets ``_static/thirdparty/widgets/`` as its base URL, so the manager finds its fonts and the
widget libraries there.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from sphinx.errors import ExtensionError

# Files copied from node_modules into _static/thirdparty/, by package.
MATHJAX_PARTS = ["tex-mml-chtml.js", "input", "output/chtml", "ui", "a11y", "sre", "adaptors"]
ASSETS = {
    "mathjax/es5": [(part, f"mathjax/{part}") for part in MATHJAX_PARTS],
    "requirejs": [("require.js", "require.js")],
    "@jupyter-widgets/html-manager": [("dist", "widgets/@jupyter-widgets/html-manager/dist")],
}
# Widget libraries other than the manager's own (by the module name the widget state names).
WIDGET_MODULES = {"ipycanvas": Path(sys.prefix) / "share/jupyter/nbextensions/ipycanvas/index.js"}
REQUIRE = "thirdparty/require.js"


def copy_assets(app, exception) -> None:
    """Copy the vendored scripts into the built site's _static/thirdparty/."""
    if exception is not None or app.builder.format != "html":
        return
    modules = Path(app.srcdir) / "node_modules"
    target = Path(app.outdir) / "_static" / "thirdparty"
    for package, parts in ASSETS.items():
        for source, dest in parts:
            path = modules / package / source
            if not path.exists():
                raise ExtensionError(f"{path} is missing: run `npm ci` (the Makefile does)")
            copy(path, target / dest)
    for name, path in WIDGET_MODULES.items():
        if not path.is_file():
            raise ExtensionError(f"{path} is missing: install the pinned environment (make install)")
        copy(path, target / "widgets" / f"{name}.js")


def copy(source: Path, dest: Path) -> None:
    if source.is_dir():  # without the builds and source maps the pages do not load
        unused = shutil.ignore_patterns("*.map", "embed.js*", "libembed-amd.js", "*.d.ts")
        shutil.copytree(source, dest, dirs_exist_ok=True, ignore=unused)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)


def require_base(app, pagename, templatename, context, doctree) -> None:
    """Before require.js on a page with widgets: its base URL, _static/thirdparty/widgets/."""
    from sphinx.builders.html._assets import _JavaScript

    scripts = context.get("script_files", [])
    at = next((i for i, s in enumerate(scripts) if str(s.filename or "").endswith(REQUIRE)), None)
    if at is not None:
        base = context["pathto"]("_static/thirdparty/widgets/", 1)
        scripts.insert(at, _JavaScript("", body=f'var require = {{baseUrl: "{base}"}};'))


def setup(app):
    app.connect("build-finished", copy_assets)
    app.connect("html-page-context", require_base)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
