"""Hybrid search over the store: the indexes, keeping them current, and one query's page.

Owns the in-process indexes (keyword and, when an embedder is loaded, vectors),
their files under the cache folder, catching them up from the store's change
log (`sync`), and turning one parsed query into a page of hits: every keyword
match (evaluated over the whole index, so counts are exact), the meaning
side's candidates, fusion, sorting, paging, "did you mean", and the "why it
matched" of each hit. Papers themselves are read from the store.

Defaults were chosen on the SciFact train split and reported on test
(docs/search.md): BM25 over title and abstract, all-MiniLM-L6-v2 vectors of
title + abstract, and a convex combination of their z-scored scores over each
side's top CANDIDATE_COUNT (DENSE_WEIGHT on the meaning side).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path

import numpy as np

from paperwire.papers import Paper, code_links, display_text
from paperwire.search import fusion
from paperwire.search.keywords import KeywordIndex, PaperFields
from paperwire.search.query import Query
from paperwire.search.text import matched_words, words
from paperwire.search.vectors import Allowed, VectorIndex

log = logging.getLogger(__name__)

CANDIDATE_COUNT = 100  # papers taken from each side before fusing
RANK_DEPTH = 1_000  # keyword ranks are exact down to here; below, a lower bound (_keyword_ranks)
DENSE_WEIGHT = 0.45  # share of the meaning side in the fused score: the train split's pick
FUSION_NORMALISATION = "zscore"
SYNC_BATCH_SIZE = 10_000  # changes read from the store per round
SORTS = ("relevance", "newest")
SKIP_REASON_CHARS = 200  # of a skipped paper's reason, kept with the index
KEYWORDS_FOLDER = "keywords"  # the tantivy index (search/keywords.py)
VECTORS_FILE = "vectors.npz"
# Threads that fold new vectors into the graph: every core. A fold happens once per
# vectors.TAIL_MAX_COUNT changes (a first build of 2.7M papers is 135 of them), and
# usearch builds in parallel outside the GIL (3,500 vs 1,800 vectors/s on 2 cores).
GRAPH_THREADS = os.cpu_count() or 1
# Where a search by relevance runs its meaning side while its own thread runs the keyword side.
_BESIDE = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="meaning-side")


@dataclass(frozen=True)
class Filters:
    """Filters from the search form; they add to any typed in the query."""

    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    has_code: bool = False


@dataclass(frozen=True)
class SearchHit:
    paper_id: int
    paper: Paper
    score: float
    keyword_rank: int | None  # 1-based rank on the keyword side, None if not there
    meaning_rank: int | None  # 1-based rank on the meaning (vector) side
    matched_words: tuple[str, ...]  # words of the title/abstract to highlight
    why: str  # "keywords: diffusion, image · similar meaning (#3)"


@dataclass(frozen=True)
class SearchPage:
    query: Query
    hits: list[SearchHit]
    total_count: int  # every paper reachable by paging: keyword_count + meaning_only_count
    offset: int
    limit: int
    sort: str
    keyword_count: int = 0  # papers that match the query's words and filters: exact
    meaning_only_count: int = 0  # papers added by meaning that do not match the words
    suggestion: str | None = None  # the query spelled as more papers spell it ("did you mean")
    is_partial: bool = False  # past its deadline: keyword matches only, no meaning side


@dataclass
class Indexes:
    """The search indexes of one process. `embedder` None means keyword search only."""

    lexical: KeywordIndex = field(default_factory=KeywordIndex.open)  # the keyword index (tantivy)
    vectors: VectorIndex | None = None
    embedder: object | None = None  # embed.Embedder
    folder: Path | None = None

    @classmethod
    def open(cls, folder: Path | None, *, embedder=None, fresh: bool = False) -> "Indexes":
        """Indexes saved in `folder` (or empty ones: always with `fresh`, which also empties
        the keyword index's folder; in memory for None). A saved index that cannot be read
        (truncated, garbage, another format or embedding model) is dropped with a log line,
        to be rebuilt by `sync`: the files are a cache of the store (issue #15)."""
        folder = Path(folder) if folder else None
        path = folder / KEYWORDS_FOLDER if folder else None
        saved = None if fresh else _load_or_none(KeywordIndex.open, path)
        indexes = cls(lexical=saved or KeywordIndex.create(path), embedder=embedder, folder=folder)
        if embedder is not None:
            indexes.vectors = VectorIndex(embedder.dim, model_id=embedder.model_id, threads=GRAPH_THREADS)
            path = indexes.folder / VECTORS_FILE if indexes.folder else None
            saved = _load_or_none(partial(VectorIndex.load, threads=GRAPH_THREADS), path) \
                if path and path.is_file() and not fresh else None
            if saved is not None and saved.model_id == embedder.model_id:
                indexes.vectors = saved
        return indexes

    def fork(self) -> "Indexes":
        """A copy to apply updates to while searches read this one (see KeywordIndex.fork);
        published in its place once the updates are in, so no search sees half of them."""
        vectors = self.vectors.fork() if self.vectors is not None else None
        return dataclasses.replace(self, lexical=self.lexical.fork(), vectors=vectors)

    def save(self) -> None:
        """Write the indexes into `folder` (each file replaced atomically)."""
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lexical.save()  # its commits are in place already: this writes the metadata beside them
        if self.vectors is not None:
            self.vectors.save(self.folder / VECTORS_FILE)


def saved_keywords_path(folder: Path) -> Path:
    """Where the keyword index of a store's index folder lies (it may not exist yet)."""
    return folder / KEYWORDS_FOLDER


def open_saved_keywords(path: Path) -> KeywordIndex:
    """The keyword index saved at `path` (see `saved_keywords_path`); raises ValueError
    (or OSError...) when it cannot be read."""
    return KeywordIndex.open(path)


def _load_or_none(load, path: Path):
    """`load(path)`, or None with a log line when the file cannot be read. Any error
    counts: whatever a torn write or a stray file makes the reader raise (BadZipFile,
    EOFError, a JSON or shape error...), the cure is the same, a rebuild from the store."""
    try:
        return load(path)
    except Exception as error:  # noqa: BLE001 -- a cache file: every failure means rebuild
        log.warning("the saved search index %s cannot be read (%s: %s); discarding it and rebuilding "
                    "from the store", path, type(error).__name__, error)
        return None


def paper_fields(paper_id: int, paper: Paper) -> PaperFields:
    """What the keyword index keeps of a paper; LaTeX is rendered so `$\\alpha$` matches α."""
    return PaperFields(
        paper_id=paper_id, title=display_text(paper.title), abstract=display_text(paper.abstract),
        # As written and as shown: `M\\"uller` is found by author:müller and on /author/Müller.
        authors=tuple(dict.fromkeys(n for a in paper.authors for n in (a.name, display_text(a.name)))),
        categories=paper.categories,
        day=paper.day, has_code=bool(paper.code_url or code_links(paper.abstract, paper.comments)),
        is_withdrawn=paper.is_withdrawn,
    )


def sync(store, indexes: Indexes, *, max_changes: int | None = None) -> int:
    """Apply the store's changes since the indexes' last sync; returns how many changes.

    The keyword index follows `changes_since`. The vector index takes deletions
    from the same log and new vectors from `embeddings_changed_since` (the embed
    job writes them). With `max_changes`, stops once about that many paper
    changes and as many vectors are applied (a caller that shares the indexes
    with searches lets them in between). A tantivy keyword index takes one
    commit per batch; while another process holds its writer lock, this one
    follows that process's commits instead (`KeywordIndex.begin`).
    """
    applied = 0
    keywords = indexes.lexical
    while max_changes is None or applied < max_changes:
        if not keywords.begin():  # another process writes this index: follow its commits (one writer)
            before = keywords.change_seq
            keywords.reload()
            if indexes.vectors is not None:
                _delete_vectors(store, indexes.vectors, before, keywords.change_seq)
            applied += keywords.change_seq - before
            break
        limit = SYNC_BATCH_SIZE if max_changes is None else min(SYNC_BATCH_SIZE, max_changes - applied)
        changes = store.changes_since(keywords.change_seq, limit=limit)
        if not changes:
            keywords.commit()
            break
        gone = [c.paper_id for c in changes if c.paper is None]
        keywords.delete(gone)
        _add_isolated(keywords, [c for c in changes if c.paper is not None])
        if indexes.vectors is not None:
            indexes.vectors.delete(gone)
        keywords.change_seq = changes[-1].change_seq
        keywords.commit()  # one commit per batch, its change_seq beside it
        applied += len(changes)
    if indexes.vectors is not None:
        _sync_vectors(store, indexes.vectors, max_changes)
    return applied


def _delete_vectors(store, vectors: VectorIndex, after_seq: int, up_to_seq: int) -> None:
    """Drop from `vectors` the papers deleted between two change_seqs (a process that
    follows another's keyword commits still keeps vectors of its own)."""
    while after_seq < up_to_seq:
        changes = [c for c in store.changes_since(after_seq, limit=SYNC_BATCH_SIZE) if c.change_seq <= up_to_seq]
        if not changes:
            return
        vectors.delete([c.paper_id for c in changes if c.paper is None])
        after_seq = changes[-1].change_seq


def _add_isolated(keywords: KeywordIndex, changes) -> None:
    """Index the papers of `changes`. One that makes indexing raise (a record stored
    around the schema: categories [1], a title that is not text) is skipped, logged and
    kept in `keywords.skipped`, and the rest go in: issue #15 saw one such record stop
    the follower for good, and with it 4,743 changes."""
    fields, arxiv_ids = [], {}
    for change in changes:
        arxiv_ids[change.paper_id] = getattr(change.paper, "arxiv_id", "?")
        try:
            fields.append(_checked(paper_fields(change.paper_id, change.paper)))
        except Exception as error:  # noqa: BLE001 -- any fault of one record is that record's
            _skip(keywords, change.paper_id, arxiv_ids[change.paper_id], error)
    try:
        keywords.add(fields)
    except Exception:  # noqa: BLE001 -- find the culprit: one paper at a time (rare)
        for one in fields:
            try:
                keywords.add([one])
            except Exception as error:  # noqa: BLE001
                _skip(keywords, one.paper_id, arxiv_ids[one.paper_id], error)


def _checked(fields: PaperFields) -> PaperFields:
    """`fields`, or TypeError naming the first field that is not of the type indexing needs."""
    texts = {"title": fields.title, "abstract": fields.abstract}
    texts.update({f"author {i + 1}": a for i, a in enumerate(fields.authors)})
    texts.update({f"category {i + 1}": c for i, c in enumerate(fields.categories)})
    for name, value in texts.items():
        if not isinstance(value, str):
            raise TypeError(f"{name} is {type(value).__name__} {value!r:.40}, not text")
    if fields.day is not None and not isinstance(fields.day, date):
        raise TypeError(f"day is {type(fields.day).__name__} {fields.day!r:.40}, not a date")
    return fields


def _skip(keywords: KeywordIndex, paper_id: int, arxiv_id: str, error: Exception) -> None:
    reason = f"{type(error).__name__}: {error}"[:SKIP_REASON_CHARS]
    log.warning("search index: skipped paper %s (row %d), which cannot be indexed: %s; "
                "the rest of its batch is searchable", arxiv_id, paper_id, reason)
    keywords.delete([paper_id])  # its older version, if any, is out of date
    keywords.skipped[paper_id] = f"{arxiv_id}: {reason}"


def _sync_vectors(store, vectors: VectorIndex, max_changes: int | None) -> int:
    # The vector index's change_seq is the store's embed_seq cursor: every
    # put_embeddings row takes a new one, whichever process wrote it.
    applied = 0
    while max_changes is None or applied < max_changes:
        limit = SYNC_BATCH_SIZE if max_changes is None else min(SYNC_BATCH_SIZE, max_changes - applied)
        ids, matrix, last = store.embeddings_changed_since(vectors.model_id, vectors.change_seq, limit=limit)
        if len(ids) == 0:
            break
        vectors.add(ids.tolist(), matrix)
        vectors.change_seq = last
        applied += len(ids)
    return applied


def run_query(
    store, indexes: Indexes, query: Query, *, sort: str = "relevance", limit: int = 20, offset: int = 0,
    deadline: float | None = None,
) -> SearchPage:
    """One page of hits for a parsed query; raises ValueError for an unknown `sort`.

    Every paper that matches the words, phrases, exclusions and filters (the
    keyword side, evaluated over the whole index and counted exactly) can be
    reached by paging. By relevance, the best CANDIDATE_COUNT of each side are
    fused, then the other keyword matches follow by BM25 (`ranked` reads only
    as deep as the page); papers found only by meaning are among the fused
    ones. By newest, the keyword matches are ordered by day, then the higher id
    (`newest`; the meaning side's candidates when no paper matches).

    Past `deadline` (time.monotonic()) once the keyword side is done, the meaning side
    is left out and the page is marked `is_partial`: it holds every keyword match, so
    it is exact as far as it goes.
    """
    if sort not in SORTS:
        raise ValueError(f"sort {sort!r} is not known; use one of {', '.join(SORTS)}")
    keywords = indexes.lexical
    by_relevance, asks_meaning = sort == "relevance" and bool(query.text), _meaning_asked(indexes, query)
    # By relevance the meaning side is always asked: it runs beside the keyword side (both
    # release the GIL) rather than after it: about 14 ms of a hybrid search at 2.7M papers.
    early = _BESIDE.submit(_meaning_side, indexes, query) if by_relevance and asks_meaning else None
    if not by_relevance:
        count, page_ids = keywords.newest(query, offset=offset, limit=limit)
    else:
        # As deep as RANK_DEPTH when the meaning side may bring papers from deep in the
        # keyword order, so that their ranks come from this one pass: a second, deeper pass
        # cost the whole union of the query's words again (57 % of queries at 2.7M papers).
        depth = max(offset + limit + CANDIDATE_COUNT, RANK_DEPTH if asks_meaning else 0)
        count, ranked = keywords.ranked(query, depth=depth)
    is_partial = deadline is not None and time.monotonic() > deadline and asks_meaning
    needs_meaning = not is_partial and (count == 0 or by_relevance)
    if early is not None and not needs_meaning:
        early.cancel()  # past the deadline: a search already started runs out unread
    meaning, matched = (early.result() if early is not None else _meaning_side(indexes, query)) \
        if needs_meaning else ([], {})
    meaning_only = [pid for pid, _ in meaning if pid not in matched]
    if not by_relevance:
        if count:  # the keyword side's rank of a paper is its place in this order
            scores = keywords.scores_of(query, page_ids)
            page = [(pid, scores.get(pid, 0.0)) for pid in page_ids]
            keyword = {pid: (offset + at + 1, score) for at, (pid, score) in enumerate(page)}
            meaning_only = []
        else:
            by_meaning = dict(meaning)
            order = _newest(indexes, np.array(list(by_meaning), dtype=np.int64))
            page = [(pid, by_meaning[pid]) for pid in order[offset : offset + limit].tolist()]
            keyword = {}
    else:
        page = _relevance_page(ranked, meaning, offset, limit)
        keyword = _keyword_ranks(ranked, [pid for pid, _ in page], matched)
    papers = store.get_papers_by_row([pid for pid, _ in page])
    meaning_rank = {pid: rank for rank, (pid, _) in enumerate(meaning, start=1)}
    hits = [
        _hit(pid, papers[pid], score, query, keyword.get(pid, (None,))[0], meaning_rank.get(pid))
        for pid, score in page if pid in papers
    ]
    return SearchPage(query, hits, count + len(meaning_only), offset, limit, sort,
                      keyword_count=count, meaning_only_count=len(meaning_only), is_partial=is_partial)


def _relevance_page(ranked, meaning, offset: int, limit: int) -> list[tuple[int, float]]:
    """The fused head (each side's best CANDIDATE_COUNT), then the other keyword
    matches by BM25: one fixed order, so pages neither repeat nor skip a paper.
    `ranked` holds the best offset + limit + CANDIDATE_COUNT keyword matches: enough
    for the page, whichever of them the head took."""
    head = _fuse(ranked[:CANDIDATE_COUNT], meaning)
    if offset + limit <= len(head):
        return head[offset : offset + limit]
    in_head = {pid for pid, _ in head}
    tail = [hit for hit in ranked if hit[0] not in in_head]
    start = max(offset - len(head), 0)
    return head[offset : offset + limit] + tail[start : offset + limit - len(head)]


def _newest(indexes: Indexes, ids: np.ndarray) -> np.ndarray:
    """`ids` newest first (by publication day, then by the later id)."""
    days = indexes.lexical.days(ids)
    return ids[np.lexsort((-ids, -days))]


def _keyword_ranks(ranked, wanted: list[int], matched: dict[int, float]) -> dict[int, tuple[int, float]]:
    """(1-based rank among the keyword matches by BM25, in `ranked`'s order; BM25 score)
    of each of `wanted` that is a keyword match. `ranked` reaches RANK_DEPTH whenever
    the meaning side can bring a match to the page; a match past it gets RANK_DEPTH + 1,
    a lower bound: reading every match to rank it exactly would cost what a page by
    relevance no longer reads (issue #9)."""
    rank = {pid: (at, score) for at, (pid, score) in enumerate(ranked, start=1)}
    bound = max(RANK_DEPTH, len(ranked)) + 1
    past = {pid: (bound, matched[pid]) for pid in wanted if pid in matched and pid not in rank}
    return {pid: rank.get(pid) or past[pid] for pid in wanted if pid in rank or pid in past}


def suggest_spelling(indexes: Indexes, text: str, query: Query) -> str | None:
    """`text` with each word of the query that few or no papers have replaced by a
    commoner spelling from the index ("did you mean"); None when no word changes."""
    better = {}
    for word in dict.fromkeys(w for part in query.terms + query.phrases for w in words(part)):
        suggestion = indexes.lexical.suggest(word)
        if suggestion is not None:
            better[word] = suggestion
    if not better:
        return None
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, better)) + r")(?!\w)", re.IGNORECASE)
    corrected = pattern.sub(lambda m: better.get(m.group(0).lower(), m.group(0)), text)
    return corrected if corrected != text else None


def similar_papers(store, indexes: Indexes, paper_id: int, *, limit: int = 10) -> list[SearchHit]:
    """Papers nearest in meaning to `paper_id`, or sharing its title's words when it has
    no vector yet; [] for an unknown paper."""
    if indexes.vectors is not None and paper_id in indexes.vectors:
        found = indexes.vectors.search(indexes.vectors.vectors([paper_id])[0], limit=limit + 1)
        ranked, side = [(p, s) for p, s in found if p != paper_id][:limit], "meaning"
    else:
        paper = store.get_papers_by_row([paper_id]).get(paper_id)
        if paper is None:
            return []
        found = indexes.lexical.search(Query(terms=(paper.title,)), limit=limit + 1)
        ranked, side = [(p, s) for p, s in found if p != paper_id][:limit], "keyword"
    papers = store.get_papers_by_row([p for p, _ in ranked])
    return [
        _hit(pid, papers[pid], score, Query(), rank if side == "keyword" else None,
             rank if side == "meaning" else None)
        for rank, (pid, score) in enumerate(ranked, start=1) if pid in papers
    ]


def with_filters(query: Query, filters: Filters | None) -> Query:
    """The query with the form's filters added (year ranges intersect)."""
    if filters is None:
        return query
    years_from = [y for y in (query.year_from, filters.year_from) if y is not None]
    years_to = [y for y in (query.year_to, filters.year_to) if y is not None]
    return dataclasses.replace(
        query,
        authors=tuple(dict.fromkeys(query.authors + tuple(a.lower() for a in filters.authors))),
        categories=tuple(dict.fromkeys(query.categories + filters.categories)),
        year_from=max(years_from) if years_from else None,
        year_to=min(years_to) if years_to else None,
        has_code=query.has_code or filters.has_code,
    )


def _meaning_asked(indexes: Indexes, query: Query) -> bool:
    return bool(query.text) and indexes.embedder is not None and bool(indexes.vectors)


def _meaning_side(indexes: Indexes, query: Query) -> tuple[list[tuple[int, float]], dict[int, float]]:
    """(the meaning side's best CANDIDATE_COUNT that have the query's phrases and none of
    its exclusions, those of them that match the words with their BM25 scores)."""
    meaning = _meaning(indexes, query, CANDIDATE_COUNT)
    if meaning and (query.phrases or query.excluded):
        passing = indexes.lexical.passing(query, [pid for pid, _ in meaning])
        meaning = [hit for hit, ok in zip(meaning, passing) if ok]
    return meaning, indexes.lexical.scores_of(query, [pid for pid, _ in meaning]) if meaning else {}


def _meaning(indexes: Indexes, query: Query, depth: int) -> list[tuple[int, float]]:
    if not _meaning_asked(indexes, query):
        return []
    vector = indexes.embedder.embed_query(query.text)
    return indexes.vectors.search(vector, limit=depth, allowed=_allowed(indexes.lexical, query))


def _allowed(keywords: KeywordIndex, query: Query) -> Allowed | None:
    """The query's filters as the vector side asks them, None without filters: a count,
    then either the few papers they allow or a check of the graph's candidates. A mask of
    every allowed paper cost up to 276 ms at 2.7M papers (author:wang, 544,000 papers)."""
    if not query.has_filters:
        return None
    return Allowed(keywords.filter_count(query), partial(keywords.filter_passes, query),
                   partial(keywords.filter_ids, query))


def _fuse(keyword, meaning) -> list[tuple[int, float]]:
    if keyword and meaning:
        return fusion.convex(
            [keyword, meaning], [1 - DENSE_WEIGHT, DENSE_WEIGHT], method=FUSION_NORMALISATION
        )
    return list(keyword or meaning)


def _hit(pid, paper, score, query, keyword_rank, meaning_rank) -> SearchHit:
    # Rendering a paper's LaTeX for highlights is most of a hit's cost (display_text's
    # regular expressions): a query without words (similar papers, filters) has none to mark.
    has_words = bool(query.terms or query.phrases)
    words = tuple(matched_words(query, f"{display_text(paper.title)}\n{display_text(paper.abstract)}")) \
        if has_words else ()
    reasons = []
    if words:
        reasons.append("keywords: " + ", ".join(words[:6]))
    elif keyword_rank is not None and query.text:  # past RANK_DEPTH the rank is a lower bound
        reasons.append(f"keywords (#{keyword_rank})" if keyword_rank <= RANK_DEPTH else f"keywords (below #{RANK_DEPTH:,})")
    if meaning_rank is not None:
        reasons.append(f"similar meaning (#{meaning_rank})")
    if query.has_filters and not reasons:
        reasons.append("matches the filters")
    return SearchHit(pid, paper, float(score), keyword_rank, meaning_rank, words, " · ".join(reasons))
