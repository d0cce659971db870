"""LaTeX in titles and abstracts as MathML, made on the server (no script, no external font).

`to_html` turns each `$...$` of a text into MathML with latex2mathml and the rest
into `papers.display_text`. The converter's output is not trusted: it passes
input through in places (`\\text{<b>}` becomes a <b> element, `\\href{...}` an href
attribute), so it is parsed and rebuilt from a whitelist of MathML Core elements
and attributes (https://www.w3.org/TR/mathml-core/), and every text node is
escaped again. Math the converter cannot parse, or turns into an unknown
command, is shown as display_text shows it today. The LaTeX source is kept in an
<annotation encoding="application/x-tex">, so copying keeps it.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from markupsafe import Markup, escape

from paperwire.papers import display_text

log = logging.getLogger(__name__)

MAX_MATH_CHARS = 400  # longer "math" is more likely a stray $ than a formula
# An unescaped $...$ (or $$...$$) on one stretch of text without another $.
_MATH = re.compile(r"(?<!\\)(\${1,2})([^$]+?)(?<!\\)\1")
ELEMENTS = frozenset({
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup", "mfrac",
    "msqrt", "mroot", "munder", "mover", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded",
    "mphantom", "menclose", "merror",
})
# Elements that take a fixed number of children; fewer means the LaTeX was incomplete
# (`\frac{a}`), which would render as an error box.
ARITY = {"mfrac": 2, "msub": 2, "msup": 2, "mroot": 2, "munder": 2, "mover": 2, "msubsup": 3, "munderover": 3}
# Attribute name -> the pattern its value must match.
ATTRIBUTES = {
    "mathvariant": re.compile(r"[a-z\-]{1,24}"),
    "stretchy": re.compile(r"true|false"),
    "fence": re.compile(r"true|false"),
    "separator": re.compile(r"true|false"),
    "largeop": re.compile(r"true|false"),
    "movablelimits": re.compile(r"true|false"),
    "accent": re.compile(r"true|false"),
    "accentunder": re.compile(r"true|false"),
    "displaystyle": re.compile(r"true|false"),
    "form": re.compile(r"prefix|infix|postfix"),
    "lspace": re.compile(r"[0-9.]{1,8}(em|ex|px|pt|%)?"),
    "rspace": re.compile(r"[0-9.]{1,8}(em|ex|px|pt|%)?"),
    "width": re.compile(r"[0-9.]{1,8}(em|ex|px|pt|%)?"),
    "height": re.compile(r"[0-9.]{1,8}(em|ex|px|pt|%)?"),
    "depth": re.compile(r"[0-9.]{1,8}(em|ex|px|pt|%)?"),
    "linethickness": re.compile(r"[0-9.]{1,8}(em|ex|px|pt|%)?"),
    "scriptlevel": re.compile(r"[+-]?[0-9]"),
    "columnalign": re.compile(r"[a-z ]{1,60}"),
    "rowspacing": re.compile(r"[0-9.a-z ]{1,60}"),
    "columnspacing": re.compile(r"[0-9.a-z ]{1,60}"),
    "notation": re.compile(r"[a-z ]{1,60}"),
}


class _Unusable(Exception):
    """The converter's output is not MathML we show (an unknown command, an odd element)."""


def to_html(text: str | None) -> Markup:
    """`text` as HTML: each $...$ as MathML with its source kept, the rest as display_text,
    everything escaped. An empty text gives empty Markup."""
    if not text:
        return Markup("")
    pieces, start = [], 0
    for match in _MATH.finditer(text):
        pieces.append(_plain(text[start:match.start()]))
        pieces.append(formula(match.group(2)) or _plain(match.group(0)))
        start = match.end()
    pieces.append(_plain(text[start:]))
    return Markup("").join(pieces).strip()


def _plain(text: str) -> Markup:
    """display_text of a piece between formulas, keeping a space at either end."""
    shown = display_text(text)
    if shown and text[:1].isspace():
        shown = " " + shown
    if shown and text[-1:].isspace():
        shown += " "
    return escape(shown or (" " if text.isspace() else ""))


@lru_cache(maxsize=4096)
def formula(latex: str) -> Markup | None:
    """The LaTeX of one formula (without its $) as an inline <math> element, or None when it
    cannot be shown as MathML."""
    from latex2mathml.converter import convert

    latex = latex.strip()
    if not latex or len(latex) > MAX_MATH_CHARS:
        return None
    try:
        root = ElementTree.fromstring(convert(latex))
        body = Markup("").join(_rebuild(child) for child in root)
    except _Unusable:
        return None
    except Exception as error:  # the converter raises many kinds for input it cannot parse
        log.debug("latex2mathml cannot convert %r: %s", latex, error)
        return None
    return Markup('<math display="inline"><semantics><mrow>{}</mrow>'
                  '<annotation encoding="application/x-tex">{}</annotation></semantics></math>').format(body, latex)


def _rebuild(element: Element) -> Markup:
    """`element` again from the whitelist, its text escaped; raises _Unusable for anything else."""
    name = element.tag.rsplit("}", 1)[-1]
    if name not in ELEMENTS or len(element) != ARITY.get(name, len(element)):
        raise _Unusable(name)
    text = element.text or ""
    if text.startswith("\\"):  # a command latex2mathml does not know, kept as its source
        raise _Unusable(text)
    attributes = Markup("").join(
        Markup(' {}="{}"').format(key, value) for key, value in sorted(element.attrib.items())
        if key in ATTRIBUTES and ATTRIBUTES[key].fullmatch(value)
    )
    children = Markup("").join(_rebuild(child) + escape(child.tail or "") for child in element)
    return Markup("<{name}{attributes}>{text}{children}</{name}>").format(
        name=Markup(name), attributes=attributes, text=text, children=children)
