"""Collection export: papers as BibTeX, CSL-JSON or JSONL text.

Pure functions over `Paper` records in the collection's order; reading the
collection and serving the file are left to the store and the web layer. Each
format reads back into paperwire: `imports.read` matches BibTeX and CSL-JSON by
arXiv id, and `paperwire ingest file` reads the JSONL.
"""

from __future__ import annotations

import json
from typing import Sequence

from paperwire.papers import Paper, display_text, to_dict
from paperwire.web.bibtex import cite_key, to_bibtex

_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})


def bibtex(papers: Sequence[Paper]) -> str:
    """One `@misc` entry per paper (web/bibtex.py), cite keys made unique with a
    letter as BibTeX styles do (`turing1950computing`, `turing1950computinga`)."""
    used: set[str] = set()
    entries = []
    for paper in papers:
        key = cite_key(paper)
        unique = next(k for k in _keys(key) if k not in used)
        used.add(unique)
        entries.append(to_bibtex(paper).replace(f"{{{key},", f"{{{unique},", 1))
    return "\n".join(entries)


def csl_json(papers: Sequence[Paper]) -> str:
    """The papers as a CSL-JSON list, the way Zotero exports an arXiv preprint
    (type "article", number "arXiv:<id>", publisher "arXiv";
    https://citeproc-js.readthedocs.io/en/latest/csl-json/markup.html)."""
    return json.dumps([_csl_item(p) for p in papers], ensure_ascii=False, indent=2) + "\n"


def jsonl(papers: Sequence[Paper]) -> str:
    """One `papers.to_dict` object per line, the format `paperwire ingest file` reads."""
    return "".join(json.dumps(to_dict(p), ensure_ascii=False) + "\n" for p in papers)


def _keys(key: str):
    yield key
    for n in range(1, 10_000):
        yield key + _letters(n)


def _letters(n: int) -> str:
    # 1 -> a, 26 -> z, 27 -> aa: enough letters for any collection.
    text = ""
    while n:
        n, rest = divmod(n - 1, 26)
        text = chr(ord("a") + rest) + text
    return text


def _csl_item(paper: Paper) -> dict:
    item = {
        "id": f"arXiv:{paper.arxiv_id}",
        "type": "article",
        "title": display_text(paper.title),
        "author": [_csl_name(a.name) for a in paper.authors],
        "abstract": display_text(paper.abstract),
        "number": f"arXiv:{paper.arxiv_id}",
        "publisher": "arXiv",
        "URL": paper.abs_url,
    }
    if paper.published_at:
        day = paper.published_at.date()
        item["issued"] = {"date-parts": [[day.year, day.month, day.day]]}
    if paper.doi:
        item["DOI"] = paper.doi
    if paper.journal_ref:
        item["note"] = paper.journal_ref
    return item


def _csl_name(name: str) -> dict:
    words = display_text(name).split()
    while len(words) > 2 and words[-1].lower().strip(",") in _SUFFIXES:
        words = words[:-1]  # "Jr." is a suffix, not the family name
    if len(words) < 2:
        return {"literal": " ".join(words)}
    return {"family": words[-1], "given": " ".join(words[:-1])}
