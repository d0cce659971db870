"""An import into a user's collection over the store: match, fetch what arXiv has, save,
keep the report, and fix a miss later.

Reading and matching are imports.py's (pure); this module gives matching its
`Lookup` over the store and the search index (docs/library.md, "Import"), fetches
the arXiv ids that matched nothing through the arXiv source at its pace (the
caller passes `fetch`, so tests use a loopback server), saves every match into
the collection, and keeps the report as an `import_runs` row so the report page
can offer a way to fix each miss. The web and API layers only parse the upload.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from typing import Callable, Iterable

from paperwire import ingest
from paperwire.library import imports
from paperwire.papers import Paper, parse_arxiv_id
from paperwire.sources import Batch, FetchError, arxiv_api
from paperwire.store import NotFound, Store
from paperwire.store.library import Collection

log = logging.getLogger(__name__)

MAX_FETCHED_IDS = 100  # unknown arXiv ids fetched per import: one API page at arXiv's pace
TITLE_CANDIDATES = 20  # papers a title search hands to the fuzzy comparison

Fetch = Callable[[tuple[str, ...]], Iterable[Batch]]
TitleSearch = Callable[[str, int], list[Paper]]


def lookup(store: Store, title_search: TitleSearch) -> imports.Lookup:
    """A `Lookup` over the store: arXiv id, lower-cased DOI, and a keyword search of the title."""
    return imports.Lookup(
        by_arxiv_id=lambda arxiv_id: store.get_papers([arxiv_id]).get(arxiv_id),
        by_doi=store.paper_by_doi,
        by_title=lambda title: title_search(title, TITLE_CANDIDATES),
    )


def run(store: Store, data: bytes, *, filename: str, user_id: int, collection: Collection,
        lookup: imports.Lookup, fetch: Fetch | None, now: datetime) -> int:
    """Import `data` into `collection` and return the import run's id. Raises
    imports.UnreadableFile when the file as a whole cannot be read (nothing is kept)."""
    report = imports.run(data, lookup, filename=filename)
    fetched = _fetch_unknown(store, report, lookup, fetch) if fetch is not None else []
    for found in report.matched:
        store.save(user_id, collection.id, found.paper.arxiv_id, now=now)
    return store.put_import_run(user_id, filename, _report_dict(report, collection, fetched), now=now)


def fix(store: Store, *, user_id: int, run_id: int, key: str, text: str, now: datetime) -> str:
    """Save the paper `text` names (an arXiv id or URL) for the miss `key` of the run, and
    move the miss to the matched list; returns the arXiv id. Raises NotFound for an
    unknown run, miss or paper, InvalidArxivId for text that is not an id."""
    found = store.import_run(user_id, run_id)
    report = found.report
    miss = next((m for m in report["unmatched"] if m["key"] == key), None)
    if miss is None:
        raise NotFound(f"the import has no entry {key!r} left to fix")
    arxiv_id, _ = parse_arxiv_id(text.strip())
    paper = store.get_paper(arxiv_id)
    collection = store.collection(user_id, report["collection"])
    store.save(user_id, collection.id, paper.arxiv_id, now=now)
    report["unmatched"].remove(miss)
    report["matched"].append({"key": key, "arxiv_id": paper.arxiv_id, "title": paper.title,
                              "matched_by": "picked", "title_score": None})
    store.update_import_run(run_id, report)
    return paper.arxiv_id


def _fetch_unknown(store: Store, report: imports.ImportReport, lookup: imports.Lookup, fetch: Fetch) -> list[str]:
    """Fetch the arXiv ids that matched nothing, store them, and match those entries again;
    returns the ids asked for. A failure to reach arXiv leaves them unmatched (logged)."""
    wanted = list(dict.fromkeys(e.arxiv_id for e in report.unmatched if e.arxiv_id))[:MAX_FETCHED_IDS]
    if not wanted:
        return []
    try:
        ingest.run(store, fetch(tuple(wanted)), source=arxiv_api.SOURCE)
    except FetchError as error:
        log.warning("import: fetching %d arXiv ids failed: %s", len(wanted), error)
        return []
    again = imports.match([e for e in report.unmatched if e.arxiv_id in wanted], lookup)
    report.matched += again.matched
    report.unmatched = [e for e in report.unmatched if e.arxiv_id not in wanted] + again.unmatched
    return wanted


def _report_dict(report: imports.ImportReport, collection: Collection, fetched: list[str]) -> dict:
    return {
        "collection": collection.slug,
        "fetched_ids": fetched,
        "matched": [{"key": m.entry.key, "arxiv_id": m.paper.arxiv_id, "title": m.paper.title,
                     "matched_by": m.matched_by, "title_score": m.title_score} for m in report.matched],
        "unmatched": [{k: v for k, v in asdict(e).items() if k != "surnames"} for e in report.unmatched],
        "malformed": [asdict(m) for m in report.malformed],
    }

