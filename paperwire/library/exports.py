"""Collection export: papers as BibTeX, CSL-JSON or JSONL text.

Pure functions over `Paper` records in the collection's order; reading the
collection and serving the file are left to the store and the web layer. Each
format reads back into paperwire: `imports.read` matches BibTeX and CSL-JSON by
arXiv id, and `paperwire ingest file` reads the JSONL.
"""

from __future__ import annotations

import json
from typing import Sequence

from paperwire.bibtex import to_bibliography
from paperwire.csl import to_csl
from paperwire.papers import Paper, to_dict


def bibtex(papers: Sequence[Paper]) -> str:
    """One `@misc` entry per paper, cite keys made unique as BibTeX asks (bibtex.py)."""
    return to_bibliography(list(papers))


def csl_json(papers: Sequence[Paper]) -> str:
    """The papers as a CSL-JSON list, the way Zotero exports an arXiv preprint (csl.py)."""
    return json.dumps([to_csl(p) for p in papers], ensure_ascii=False, indent=2) + "\n"


def jsonl(papers: Sequence[Paper]) -> str:
    """One `papers.to_dict` object per line, the format `paperwire ingest file` reads."""
    return "".join(json.dumps(to_dict(p), ensure_ascii=False) + "\n" for p in papers)
