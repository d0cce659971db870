"""Keyword search finds every match: the index and a whole search against a brute-force scan.

Corpora and queries are generated (hypothesis) from a small vocabulary, so
phrases, stems ("model"/"models"), stop words and exclusions collide often.
The oracle reads each paper's text one by one with `contains_phrase`, the
plain scan, and applies the filters from their definitions.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperwire.papers import Author
from paperwire.search import Indexes, search, sync
from paperwire.search.keywords import KeywordIndex, PaperFields
from paperwire.search.query import Query, parse
from paperwire.search.text import analyse, contains_phrase, name_words
from paperwire.store import open_store
from tests.conftest import make_paper

WORDS = ["model", "models", "modeling", "scaling", "scale", "test", "time", "the", "of", "a",
         "retrieval", "generation", "augmented", "survey", "graph", "zebra"]
NAMES = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Ada Turing"]
CATEGORIES = ["cs.CL", "cs.LG", "stat.ML"]

texts = st.lists(st.sampled_from(WORDS), min_size=0, max_size=12).map(" ".join)
papers_strategy = st.lists(
    st.tuples(
        texts, texts,
        st.lists(st.sampled_from(NAMES), max_size=2, unique=True),
        st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2, unique=True),
        st.one_of(st.none(), st.dates(date(2019, 1, 1), date(2025, 12, 31))),
        st.booleans(),
        st.booleans(),  # withdrawn
    ),
    min_size=1, max_size=30,
)
phrase = st.lists(st.sampled_from(WORDS), min_size=2, max_size=3).map(lambda w: '"' + " ".join(w) + '"')
query_part = st.one_of(
    st.sampled_from(WORDS), phrase, st.sampled_from(WORDS).map(lambda w: "-" + w),
    phrase.map(lambda p: "-" + p),
    st.sampled_from(["author:ada", "author:turing", 'author:"ada lovelace"', "cat:cs.CL", "cat:stat.ML",
                     "year:2023", "year:2021..2024", "year:..2020", "has:code", "is:withdrawn", "-is:withdrawn",
                     "unknownword"]),
)
queries = st.lists(query_part, min_size=1, max_size=4).map(" ".join)


def as_fields(number: int, spec) -> PaperFields:
    title, abstract, authors, categories, day, has_code, is_withdrawn = spec
    return PaperFields(number, title, abstract, tuple(authors), tuple(categories), day, has_code, is_withdrawn)


def passes_filters(paper: PaperFields, query: Query) -> bool:
    author_words = {w for name in paper.authors for w in name_words(name)}
    if any(not set(name_words(a)) <= author_words for a in query.authors):
        return False
    if query.categories and not {c.lower() for c in query.categories} & {c.lower() for c in paper.categories}:
        return False
    if query.year_from is not None and (paper.day is None or paper.day.year < query.year_from):
        return False
    if query.year_to is not None and (paper.day is None or paper.day.year > query.year_to):
        return False
    if query.withdrawn is not None and paper.is_withdrawn != query.withdrawn:
        return False
    return paper.has_code or not query.has_code


def passes_text(paper: PaperFields, query: Query) -> bool:
    """Every phrase side by side, and no excluded word or phrase."""
    text = f"{paper.title}\n{paper.abstract}"
    excluded_terms = {t for e in query.excluded if " " not in e for t in analyse(e)}
    return (
        all(contains_phrase(text, p) for p in query.phrases)
        and not excluded_terms & set(analyse(text))
        and not any(contains_phrase(text, e) for e in query.excluded if " " in e)
    )


def brute_force(papers: list[PaperFields], query: Query) -> set[int]:
    """The ids of the papers that match `query`, one paper at a time."""
    terms = set(analyse(" ".join(query.terms + query.phrases)))
    found = set()
    for paper in papers:
        if not terms and not query.phrases:
            if not query.has_filters and not query.excluded:
                continue
        elif terms and not terms & set(analyse(f"{paper.title}\n{paper.abstract}")):
            continue
        if passes_text(paper, query) and passes_filters(paper, query):
            found.add(paper.paper_id)
    return found


@settings(max_examples=120, deadline=None)
@given(papers_strategy, queries, st.integers(1, 4), st.data())
def test_the_index_matches_exactly_what_a_scan_finds(specs, text, batches, data):
    papers = [as_fields(i, spec) for i, spec in enumerate(specs)]
    index = KeywordIndex.open(None)
    for batch in np.array_split(np.arange(len(papers)), batches):  # several segments, merged or not
        index.add([papers[i] for i in batch])
    gone = data.draw(st.sets(st.sampled_from(range(len(papers))), max_size=3))
    index.delete(sorted(gone))
    kept = [i for i in range(len(papers)) if i not in gone]
    for pid in data.draw(st.sets(st.sampled_from(kept), max_size=2)) if kept else ():
        papers[pid] = as_fields(pid, data.draw(papers_strategy)[0])  # a new version, a segment of its own
        index.add([papers[pid]])
    live = [p for p in papers if p.paper_id not in gone]
    query = parse(text)
    ids, scores = index.matches(query, allowed=index.filter_mask(query))
    assert sorted(ids.tolist()) == sorted(brute_force(live, query)), text
    assert (scores >= 0).all()
    # the check made of papers found by meaning agrees with the scan too
    every_id = [p.paper_id for p in papers]
    passing = index.passing(query, every_id).tolist()
    assert passing == [p.paper_id not in gone and passes_text(p, query) for p in papers], text
    # ...and so do the filters as the vector side asks them (count, a check of some ids, all ids)
    allowed = {p.paper_id for p in live if passes_filters(p, query)}
    assert index.filter_count(query) == len(allowed) and set(index.filter_ids(query).tolist()) == allowed, text
    assert index.filter_passes(query, every_id + [-1, 10_000]).tolist() == [i in allowed for i in every_id] + [False] * 2


def as_paper(fields: PaperFields):
    day = fields.day
    return make_paper(
        arxiv_id=f"2501.{fields.paper_id + 1:05d}", title=fields.title or "untitled",
        abstract=fields.abstract, authors=tuple(Author(n) for n in fields.authors),
        categories=fields.categories, primary_category=fields.categories[0],
        published_at=datetime(day.year, day.month, day.day, tzinfo=timezone.utc) if day else None,
        code_url="https://github.com/example/code" if fields.has_code else None, versions=(),
        is_withdrawn=fields.is_withdrawn,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(papers_strategy, queries, st.integers(1, 7))
def test_paging_reaches_every_match_once_with_exact_counts(tmp_path_factory, specs, text, page_size):
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('exact')}/paperwire.db")
    try:
        papers = [as_fields(i, spec) for i, spec in enumerate(specs)]
        store.upsert_papers([as_paper(p) for p in papers], source="test")
        indexes = Indexes.open(None)
        sync(store, indexes)
        by_arxiv_id = {as_paper(p).arxiv_id: p for p in papers}
        indexed = [PaperFields(pid, *_fields(store, pid)) for pid in range(1, 1000) if pid in indexes.lexical]
        expected = brute_force(indexed, parse(text))
        for sort in ("relevance", "newest"):
            seen, offset = [], 0
            while True:
                page = search(store, indexes, text, sort=sort, limit=page_size, offset=offset)
                assert page.total_count == page.keyword_count == len(expected), (text, sort)
                if not page.hits:
                    break
                seen += [hit.paper_id for hit in page.hits]
                offset += page_size
            assert sorted(seen) == sorted(expected) and offset >= len(expected), (text, sort)
            if sort == "newest":
                days = [by_arxiv_id[store.get_papers_by_row([pid])[pid].arxiv_id].day for pid in seen]
                keys = [((d or date.min), pid) for d, pid in zip(days, seen)]
                assert keys == sorted(keys, reverse=True)
    finally:
        store.close()


def _fields(store, pid):
    paper = store.get_papers_by_row([pid]).get(pid)
    return (paper.title, paper.abstract, tuple(a.name for a in paper.authors), paper.categories,
            paper.day, bool(paper.code_url), paper.is_withdrawn)
