"""MkDocs hook: render the Sphinx roles of the numpydoc docstrings (``:class:`~automl.Context```) as code.

The docstrings of ``automl`` cross-reference with Sphinx roles (``:func:``,
``:class:``, ``:mod:``, ``:meth:``, ``:attr:``, ``:data:``, ``:exc:``,
``:obj:``), which Markdown would show as is. This hook adds a Markdown inline
pattern, used by the pages and by mkdocstrings alike, that turns each role into
inline code wrapped in an *optional* autorefs cross-reference: a link when the
target is documented on the site, plain code otherwise (never a warning).
``~`` keeps only the last part of the name, as in Sphinx. The public names
that ``automl`` imports lazily (``automl.load``, ``automl.AutoML.save``) link to
where they are defined, which is where mkdocstrings documents them.
"""

from __future__ import annotations

import xml.etree.ElementTree as etree
from typing import Any

from markdown import Extension, Markdown
from markdown.inlinepatterns import InlineProcessor


def _public_names() -> tuple[dict[str, str], set[str]]:
    """``automl``'s lazy exports (``{"automl.load": "automl.deploy.persist.load", ...}``) and its ``__all__``."""
    try:
        import automl
    except ImportError:
        return {}, set()
    lazy = {f"automl.{name}": f"{module}.{name}" for name, module in automl._LAZY.items()}
    return lazy, set(automl.__all__)


LAZY, PUBLIC = _public_names()
ROLE = r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):`(~?)([^`\s]+)`"


class _RoleProcessor(InlineProcessor):
    def handleMatch(self, m: Any, data: str) -> tuple[etree.Element, int, int]:  # noqa: N802 (Markdown's API)
        short, target = m.group(1), m.group(2).rstrip("()")
        shown = target.rsplit(".", 1)[-1] if short else target
        if target in PUBLIC:  # a bare public name, e.g. :class:`AutoML` in automl's own docstrings
            target = f"automl.{target}"
        for name, real in LAZY.items():
            if target == name or target.startswith(name + "."):
                target = real + target[len(name) :]
                break
        ref = etree.Element("autoref", {"identifier": target, "optional": ""})
        code = etree.SubElement(ref, "code")
        code.text = shown + ("()" if m.group(2).endswith("()") else "")
        return ref, m.start(0), m.end(0)


class SphinxRoles(Extension):
    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Markdown's API)
        # before the backtick pattern (190), which would take the role's `target` as plain code
        md.inlinePatterns.register(_RoleProcessor(ROLE, md), "sphinx_roles", 200)


def on_config(config: Any) -> Any:
    config.markdown_extensions.append(SphinxRoles())
    return config
