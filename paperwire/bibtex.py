"""BibTeX for a paper: the `@misc` entry with arXiv eprint fields that the paper page offers.

Follows arXiv's own export (eprint, archivePrefix, primaryClass; see
https://info.arxiv.org/help/hypertex/bibstyles/index.html). Text is the
normalised display text with every BibTeX/LaTeX special character escaped, so
an entry always parses, whatever the source wrote.
"""

from __future__ import annotations

import re
from itertools import chain, count

from paperwire.papers import Paper, display_text, normalise_name

# Braces become commands rather than \{ and \}: BibTeX counts braces even after a
# backslash, so an unmatched \{ would end the field early (Tame the BeaST, section 7).
_SPECIAL = {
    "\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}",
    "$": r"\$", "&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}
_KEY_STOPWORDS = frozenset(
    "a an the on of in for to and with from by at is are via towards toward".split()
)
_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
_REPEAT_LETTERS = "bcdefghijklmnopqrstuvwxyz"
_AND = re.compile(r"\band\b", re.IGNORECASE)


def escape(text: str) -> str:
    """`text` with the characters special to BibTeX and LaTeX escaped."""
    return "".join(_SPECIAL.get(ch, ch) for ch in text)


def cite_key(paper: Paper) -> str:
    """A key like `lovelace2025placeholder`: first author's surname, year, first title word."""
    surname = next(
        (w for w in reversed(normalise_name(paper.authors[0].name).split()) if w not in _NAME_SUFFIXES),
        "",
    ) if paper.authors else ""
    year = str(paper.published_at.year) if paper.published_at else ""
    word = next(
        (w for w in normalise_name(paper.title).split() if w not in _KEY_STOPWORDS), ""
    )
    key = re.sub(r"[^a-z0-9]", "", f"{surname or 'anon'}{year}{word}")
    return key or "paper"


def to_bibliography(papers: list[Paper]) -> str:
    """The papers as `@misc` entries in order, separated by blank lines. A key that an
    earlier entry took gets a letter (lovelace2025placeholderb, ...c, then numbers):
    BibTeX refuses a second entry under a key it has seen."""
    used: set[str] = set()
    entries = []
    for paper in papers:
        key = cite_key(paper)
        candidates = chain([key], (key + letter for letter in _REPEAT_LETTERS), (f"{key}{n}" for n in count(2)))
        key = next(k for k in candidates if k not in used)
        used.add(key)
        entries.append(to_bibtex(paper, key=key))
    return "\n".join(entries)


def to_bibtex(paper: Paper, *, key: str | None = None) -> str:
    """The paper as one `@misc` entry (under `key`, default its cite_key), ending with a newline."""
    fields = [
        ("title", "{" + escape(display_text(paper.title)) + "}"),  # inner braces keep the case
        ("author", " and ".join(_author(a.name) for a in paper.authors)),
        ("year", str(paper.published_at.year) if paper.published_at else ""),
        ("eprint", escape(paper.arxiv_id)),
        ("archivePrefix", "arXiv"),
        ("primaryClass", escape(paper.primary_category or "")),
        ("doi", _verbatim(paper.doi or "")),
        ("url", paper.abs_url),
    ]
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    return f"@misc{{{key or cite_key(paper)},\n{body}\n}}\n"


def _verbatim(text: str) -> str:
    # biblatex reads doi and url verbatim, so escapes would show; only braces could
    # break the entry, and no real DOI has them (https://www.doi.org/doi-handbook/HTML/doi-syntax.html).
    return text.replace("{", "").replace("}", "")


def _author(name: str) -> str:
    text = escape(display_text(name))
    # A name with a word "and" in it would split into two authors; braces keep it whole.
    return "{" + text + "}" if _AND.search(text) else text
