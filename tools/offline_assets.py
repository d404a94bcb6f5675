"""A local Sphinx extension that serves the scripts the pages need from the site itself.

By default MathJax comes from jsDelivr, and pages with widgets (chapter 8) load require.js from
cdnjs and the Jupyter widgets manager from jsDelivr: blocked or slow in some countries, and absent
offline. _config.yml points ``mathjax_path`` and ``nb_ipywidgets_js`` at ``_static/vendor/``; this
copies the files there from the npm packages of package.json (``npm ci``, run by the Makefile).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.errors import ExtensionError

# Files copied from node_modules into _static/vendor/, by package.
MATHJAX_PARTS = ["tex-mml-chtml.js", "input", "output/chtml", "ui", "a11y", "sre", "adaptors"]
ASSETS = {
    "mathjax/es5": [(part, f"mathjax/{part}") for part in MATHJAX_PARTS],
    "requirejs": [("require.js", "require.js")],
    "@jupyter-widgets/html-manager/dist": [("embed-amd.js", "html-manager/embed-amd.js")],
}


def copy_assets(app, exception) -> None:
    """Copy the vendored scripts into the built site's _static/vendor/."""
    if exception is not None or app.builder.format != "html":
        return
    modules = Path(app.srcdir) / "node_modules"
    target = Path(app.outdir) / "_static" / "vendor"
    for package, parts in ASSETS.items():
        for source, dest in parts:
            path = modules / package / source
            if not path.exists():
                raise ExtensionError(f"{path} is missing: run `npm ci` (the Makefile does)")
            if path.is_dir():
                shutil.copytree(path, target / dest, dirs_exist_ok=True)
            else:
                (target / dest).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target / dest)


def setup(app):
    app.connect("build-finished", copy_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
