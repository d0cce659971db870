"""CSL-JSON for papers: the citation data that Zotero, Pandoc and citeproc read.

Follows the CSL-JSON schema (https://github.com/citation-style-language/schema,
csl-data.json, CSL 1.0.2): a file is an array of items. A preprint is type
"article" ("a manuscript, preprint or similar", CSL 1.0.2 appendix III) with
arXiv as the publisher and the arXiv id as its number, as Zotero exports arXiv
papers. Text is the normalised display text; JSON needs no other escaping.
"""

from __future__ import annotations

from paperwire.papers import Paper, display_text

# Lower-cased final words that are a suffix, not a family name ("Martin Luther King Jr.").
_NAME_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})


def to_csl(paper: Paper) -> dict:
    """The paper as one CSL-JSON item."""
    item = {
        "id": paper.arxiv_id,
        "type": "article",
        "title": display_text(paper.title),
        "author": [name_parts(display_text(a.name)) for a in paper.authors],
        "abstract": display_text(paper.abstract),
        "publisher": "arXiv",
        "number": f"arXiv:{paper.arxiv_id}",
        "URL": paper.abs_url,
    }
    if paper.published_at:
        day = paper.day
        item["issued"] = {"date-parts": [[day.year, day.month, day.day]]}
    if paper.doi:
        item["DOI"] = paper.doi
    if paper.journal_ref:
        item["note"] = paper.journal_ref  # free text ("Phys. Rev. D 12, 3 (2020)"), not a container title
    if paper.primary_category:
        item["genre"] = paper.primary_category
    return item


def name_parts(name: str) -> dict:
    """A display name as CSL name parts: the last word is the family name (less a suffix
    such as Jr.), the words before it the given names; a one-word name is a literal."""
    words = name.split()
    suffix = None
    if len(words) > 2 and words[-1].lower() in _NAME_SUFFIXES:
        suffix, words = words[-1], words[:-1]
    if len(words) < 2:
        return {"literal": name}
    parts = {"family": words[-1], "given": " ".join(words[:-1])}
    if suffix:
        parts["suffix"] = suffix
    return parts
