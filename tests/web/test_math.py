"""web/math.py: $...$ becomes MathML with its source kept; nothing from the input passes
through as markup, however hostile; what cannot be converted reads as display_text does."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from paperwire.papers import display_text
from paperwire.web.math import ATTRIBUTES, ELEMENTS, formula, to_html

OURS = ELEMENTS | {"semantics", "annotation"}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attributes = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]


def _tags(html) -> _Tags:
    parser = _Tags()
    parser.feed(str(html))
    return parser


@pytest.mark.parametrize("text, expected", [
    (r"Scaling $\mathcal{O}(n^2)$ attention",
     'Scaling <math display="inline"><semantics><mrow><mrow><mi>𝒪</mi><mo stretchy="false">(</mo>'
     "<msup><mi>n</mi><mn>2</mn></msup><mo stretchy=\"false\">)</mo></mrow></mrow>"
     '<annotation encoding="application/x-tex">\\mathcal{O}(n^2)</annotation></semantics></math> attention'),
    (r"$\alpha$-stable", '<math display="inline"><semantics><mrow><mrow><mi>α</mi></mrow></mrow>'
     '<annotation encoding="application/x-tex">\\alpha</annotation></semantics></math>-stable'),
    ("no math at all --- here", "no math at all — here"),
    ("", ""),
    (None, ""),
])
def test_to_html(text, expected):
    assert str(to_html(text)) == expected


@pytest.mark.parametrize("hostile", [
    "$<script>alert(1)</script>$",
    r"$\text{<script>alert(1)</script>}$",
    r"$\text{<b onclick=alert(1)>x</b>}$",
    r"$\href{javascript:alert(1)}{click}$",
    r"$\style{color:red}{x}$",
    '$x" onmouseover="alert(1)$',
    r"$\mathrm{</math><img src=x onerror=alert(1)>}$",
    "<img src=x onerror=alert(1)> and $x$",
    r"$\unknowncommand{<i>}$",
])
def test_hostile_input_yields_only_our_elements_and_attributes(hostile):
    html = to_html(hostile)
    parsed = _tags(html)
    assert set(parsed.tags) <= OURS, parsed.tags
    assert set(parsed.attributes) <= set(ATTRIBUTES) | {"display", "encoding"}, parsed.attributes
    assert "<script" not in html and "<img" not in html and "javascript:" not in html.replace(
        "\\href{javascript:", "")  # the source is kept, escaped, in the annotation only


@pytest.mark.parametrize("latex", [r"\unknowncommand x", "{", r"\frac{a}", "x" * 401, "  "])
def test_what_cannot_be_converted_is_not_mathml(latex):
    assert formula(latex) is None
    assert "<math" not in to_html(f"a ${latex}$ b")


def test_unconvertible_math_reads_as_display_text():
    assert str(to_html(r"cost $\unknowncommand x$ here")) == display_text(r"cost $\unknowncommand x$ here")


def test_spaces_around_formulas_are_kept():
    html = str(to_html("a $x$ b $y$c"))
    assert html.startswith("a <math") and "</math> b <math" in html and html.endswith("</math>c")


def test_source_is_kept_for_copy():
    html = str(to_html(r"$a < b \leq c$"))
    assert '<annotation encoding="application/x-tex">a &lt; b \\leq c</annotation>' in html
