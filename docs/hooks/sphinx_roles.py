"""MkDocs hook: show the Sphinx roles of our docstrings as plain code.

The docstrings are free-form prose rendered as Markdown (``docstring_style: null``), and some
name other objects the Sphinx way, ``:func:`dplr_kernel``` or ``:class:`~s4_layers.S4Block```.
Markdown renders that as ``:func:<code>dplr_kernel</code>``; this hook drops the role, and, as
Sphinx does for a leading ``~``, keeps only the last dotted component.
"""

from __future__ import annotations

import re

ROLE = re.compile(r":(?:func|meth|class|data|attr|mod|obj|exc|const):<code>(~?)([^<]+)</code>")


def _plain(match: re.Match) -> str:
    name = match.group(2)
    return f"<code>{name.rsplit('.', 1)[-1] if match.group(1) else name}</code>"


def on_page_content(html: str, **kwargs) -> str:
    return ROLE.sub(_plain, html)
