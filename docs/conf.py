"""Sphinx configuration: MyST Markdown, the furo theme, and no network at build time.

Build with ``sphinx-build -W -b html docs docs/_build/html`` after
``pip install -e '.[docs]'``; the lifecycle diagram needs Graphviz's ``dot``
(Debian: ``apt-get install graphviz``).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE / "_ext"), str(HERE.parent)]

import runstate  # noqa: E402

project = "runstate"
author = "runstate developers"
copyright = "runstate developers"
release = version = runstate.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.graphviz",
    "sphinx_copybutton",
    "runstate_docs",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "README.md"]
# No intersphinx: the build reads nothing from the network.

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

# The lifecycle diagram: a static SVG drawn by Graphviz at build time.
graphviz_output_format = "svg"

# Exact texts (messages, quotes in evidence) stay as written: no curly quotes.
smartquotes = False

pygments_style = "default"
pygments_dark_style = "monokai"

html_theme = "furo"
html_title = f"runstate {release}"
html_static_path = ["_static"]
html_css_files = ["runstate.css"]
html_theme_options = {"navigation_with_keys": True}
html_show_sourcelink = False

copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
