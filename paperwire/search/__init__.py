"""Search: keyword (BM25) and meaning (embeddings) rankings of papers, fused.

The one entry point for the web page, the API and the CLI is `search()`, with
`similar()` for "more like this". Behind them: `query` parses what a user
typed, `keywords` ranks by keywords (tantivy) and applies filters, `text`
finds the words to highlight, `embed` turns text into vectors, `vectors` finds nearest vectors, `fusion` merges rankings,
`engine` holds the indexes and builds a page, `metrics` judges rankings
(numbers in docs/search.md).
"""

from __future__ import annotations

import dataclasses

from paperwire.search.engine import (
    Filters, Indexes, SearchHit, SearchPage, run_query, similar_papers, suggest_spelling, sync, with_filters,
)
from paperwire.search.query import parse

__all__ = ["Filters", "Indexes", "SearchHit", "SearchPage", "search", "similar", "sync"]


def search(
    store, indexes: Indexes, query_text: str, *, filters: Filters | None = None,
    sort: str = "relevance", limit: int = 20, offset: int = 0, deadline: float | None = None,
) -> SearchPage:
    """A page of papers for what the user typed plus the form's filters, best first
    (or newest first with sort="newest"). Any text parses; operators it could not
    use are listed in `page.query.ignored`. Past `deadline` (time.monotonic()) the
    page has keyword matches only, marked `is_partial`, and no spelling suggestion.
    Raises ValueError for an unknown sort."""
    query = with_filters(parse(query_text), filters)
    page = run_query(store, indexes, query, sort=sort, limit=limit, offset=offset, deadline=deadline)
    if page.is_partial:
        return page
    return dataclasses.replace(page, suggestion=suggest_spelling(indexes, query_text, query))


def similar(store, indexes: Indexes, paper_id: int, *, limit: int = 10) -> list[SearchHit]:
    """Papers like `paper_id` (store row id), nearest first; [] for an unknown paper."""
    return similar_papers(store, indexes, paper_id, limit=limit)
