"""Keyword search: text analysis and an in-memory BM25 index that takes updates.

Owns turning titles and abstracts into index terms (`analyse`), ranking papers
for a parsed `Query` with BM25, and the filters that need per-paper facts
(authors, categories, day, code link) as a mask over paper ids, which the dense
side reuses. Parsing lives in `query.py`; fusing rankings in `fusion.py`; the
papers themselves stay in the store, keyed by the same integer `paper_id`.

Layout, after bm25s (Lù 2024, arXiv:2407.03618): each segment holds a
term-major sparse matrix (CSC: `indptr`, `indices`, `impact`) of BM25 term
weights without the idf, so a query is a handful of array slices and one
`bincount`. New papers go into a new small segment; small segments are merged
together, and into the main one when they grow past MAIN_MERGE_FRACTION of
it. A deleted or replaced paper is masked out of its old segment at once;
like Lucene, its term counts stay in the collection statistics (N, df,
average length) until its segment is merged, where they are recomputed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import Stemmer
from scipy import sparse

from paperwire.search import spelling
from paperwire.search.fusion import top
from paperwire.search.query import Query

# BM25 constants, tuned on the SciFact train split (docs/search.md).
BM25_K1 = 1.5
BM25_B = 0.75
TITLE_WEIGHT = 3  # a title word counts as this many abstract words
MAX_SMALL_SEGMENTS = 8
MAIN_MERGE_FRACTION = 0.1  # merge into the main segment when the rest reach this share
RARE_WORD_PAPERS = 2  # a word in this few papers may be a typo: "did you mean" looks further
RARE_WORD_FACTOR = 20  # ...for a word in this many times more papers
FORMAT_VERSION = 3  # 2: the text's tokens, for exact phrases; 3: withdrawn papers

NO_DAY = np.iinfo(np.int32).min  # a paper without a publication day
_EPOCH = date(1970, 1, 1)
_WORD = re.compile(r"\w+")
# Lucene's English stop set (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET).
STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the "
    "their then there these they this to was will with".split()
)
_stemmer = Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased word tokens of `text`, stop words kept (for phrases and highlights)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text or "").lower())


def analyse(text: str) -> list[str]:
    """Index terms of `text`: lower-cased words without stop words, Snowball-stemmed."""
    return _stemmer.stemWords([w for w in words(text) if w not in STOP_WORDS])


def name_words(name: str) -> list[str]:
    """An author name as index words, accents folded: 'Jürgen' -> 'jurgen'."""
    folded = unicodedata.normalize("NFKD", name or "")
    return words("".join(ch for ch in folded if not unicodedata.combining(ch)))


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether the words of `phrase` occur next to each other in `text` (stems compared)."""
    needle = _stemmer.stemWords(words(phrase))
    if not needle:
        return True
    hay = _stemmer.stemWords(words(text))
    first = needle[0]
    return any(
        hay[i : i + len(needle)] == needle for i, w in enumerate(hay) if w == first
    )


def passes_phrases(query: Query, text: str) -> bool:
    """Whether `text` has every phrase of the query and no excluded phrase."""
    return all(contains_phrase(text, p) for p in query.phrases) and not any(
        contains_phrase(text, e) for e in query.excluded if " " in e
    )


def matched_words(query: Query, text: str) -> list[str]:
    """The words of `text` (as written, lower-cased) that a query term or phrase matched."""
    stems = set(analyse(" ".join(query.terms + query.phrases)))
    seen = dict.fromkeys(w for w in words(text) if w not in STOP_WORDS)
    return [w for w, s in zip(seen, _stemmer.stemWords(list(seen))) if s in stems]


@dataclass(frozen=True)
class PaperFields:
    """What the lexical index needs of one paper."""

    paper_id: int
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    day: date | None = None
    has_code: bool = False
    is_withdrawn: bool = False


@dataclass
class _Segment:
    paper_ids: np.ndarray  # int64 [n]: slot -> paper id
    live: np.ndarray  # bool [n]: False once deleted or replaced
    lengths: np.ndarray  # float32 [n]: weighted term count
    indptr: np.ndarray  # int64 [terms+1], term-major
    indices: np.ndarray  # int32 [postings]: slots
    counts: np.ndarray  # uint16 [postings]: weighted term frequency
    impact: np.ndarray  # float32 [postings]: BM25 term weight without idf
    df: np.ndarray  # int64 [terms]
    key_indptr: np.ndarray  # int64 [keys+1]: author words and categories
    key_indices: np.ndarray  # int32 [key postings]: slots
    # The text itself, for exact phrases: every word's term id (stop words too),
    # title then abstract, slot after slot; and its positions grouped by term.
    token_indptr: np.ndarray  # int64 [n+1]: slot -> its run of `tokens`
    tokens: np.ndarray  # int32 [words]
    position_indptr: np.ndarray  # int64 [terms+1]: term -> its run of `positions`
    positions: np.ndarray  # int32 [words]: indices into `tokens`, ascending within a term

    def __len__(self) -> int:
        return len(self.paper_ids)

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        if term >= len(self.indptr) - 1:
            return _EMPTY_INT, _EMPTY_FLOAT
        lo, hi = self.indptr[term], self.indptr[term + 1]
        return self.indices[lo:hi], self.impact[lo:hi]

    def key_slots(self, key: int) -> np.ndarray:
        if key >= len(self.key_indptr) - 1:
            return _EMPTY_INT
        return self.key_indices[self.key_indptr[key] : self.key_indptr[key + 1]]

    def phrase_slots(self, term_ids: list[int]) -> np.ndarray:
        """Sorted slots whose text has the terms `term_ids` side by side, in order
        (within one paper); -1 in `term_ids` (a word never seen) matches nothing."""
        if min(term_ids) < 0 or max(term_ids) >= len(self.position_indptr) - 1:
            return _EMPTY_INT
        # Start from the rarest word of the phrase, then look at its neighbours.
        counts = [self.position_indptr[t + 1] - self.position_indptr[t] for t in term_ids]
        anchor = int(np.argmin(counts))
        lo, hi = self.position_indptr[term_ids[anchor]], self.position_indptr[term_ids[anchor] + 1]
        starts = self.positions[lo:hi] - anchor
        starts = starts[(starts >= 0) & (starts + len(term_ids) <= len(self.tokens))]
        for offset, term in enumerate(term_ids):
            if offset != anchor:
                starts = starts[self.tokens[starts + offset] == term]
        slots = np.searchsorted(self.token_indptr, starts, side="right") - 1
        ends = np.searchsorted(self.token_indptr, starts + len(term_ids) - 1, side="right") - 1
        return np.unique(slots[slots == ends]).astype(np.int32)


@dataclass(frozen=True)
class _Conditions:
    """A query as term ids: what `_segment_matches` checks."""

    weights: dict[int, float]  # idf of each word to score
    phrases: list[list[int]]  # each phrase's words, all required side by side
    excluded_words: list[int]
    excluded_phrases: list[list[int]]
    any_word: bool = False  # at least one word of `weights` is required


_EMPTY_INT = np.zeros(0, dtype=np.int32)
_EMPTY_FLOAT = np.zeros(0, dtype=np.float32)


@dataclass
class LexicalIndex:
    """BM25 over title and abstract, plus author/category/day/code facts for filters.

    Paper ids are the store's row ids: non-negative and dense enough that arrays
    indexed by them stay small. Not thread-safe: one writer, and no reads while writing.
    """

    k1: float = BM25_K1
    b: float = BM25_B
    title_weight: int = TITLE_WEIGHT
    change_seq: int = 0  # the last store change applied (see search.sync)
    _terms: dict[str, int] = field(default_factory=dict)
    _keys: dict[str, int] = field(default_factory=dict)
    _surface: list[str] = field(default_factory=list)  # by term id: a word as written
    _spelling_cache: tuple | None = field(default=None, repr=False)
    _segments: list[_Segment] = field(default_factory=list)
    _df: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _slot_count: int = 0  # N for idf: slots in all segments, dead ones until merged
    _length_sum: float = 0.0
    # by paper id: where it lives (segment << 32 | slot, or -1), day, code link
    _where: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _day: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    _has_code: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    _is_withdrawn: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    # papers the index follower could not index (paper id -> reason), shown by the
    # status page and `paperwire db check` instead of stopping the follower (issue #15)
    skipped: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(sum(seg.live.sum() for seg in self._segments))

    def __contains__(self, paper_id: int) -> bool:
        return 0 <= paper_id < len(self._where) and self._where[paper_id] >= 0

    @property
    def id_bound(self) -> int:
        """One more than the largest paper id ever added: the size of filter masks."""
        return len(self._where)

    def fork(self) -> "LexicalIndex":
        """A copy that can take updates while searches go on reading this one.

        Copies what `add`, `delete` and `merge` change in place (the vocabulary,
        the per-paper arrays, each segment's `live` mask and the document
        frequencies) and shares the rest: a segment's postings never change
        once built. Costs about a millisecond per 10,000 papers."""
        return dataclasses.replace(
            self, _terms=dict(self._terms), _keys=dict(self._keys), _surface=list(self._surface),
            _segments=[dataclasses.replace(seg, live=seg.live.copy()) for seg in self._segments],
            _df=self._df.copy(), _where=self._where.copy(), _day=self._day.copy(),
            _has_code=self._has_code.copy(), _is_withdrawn=self._is_withdrawn.copy(),
            skipped=dict(self.skipped),
        )

    # --- updates ----------------------------------------------------------
    def begin(self) -> bool:
        """Always True: each process holds its own copy (KeywordIndex shares one writer)."""
        return True

    def commit(self) -> None:
        """Nothing to publish: updates are visible at once (`save` writes the file)."""

    def reload(self) -> None:
        """Nothing to follow: no other process writes this copy."""

    def add(self, papers: list[PaperFields]) -> None:
        """Add papers, replacing any already indexed under the same id (the last
        of duplicates within `papers` wins). Raises ValueError for a negative id."""
        latest = {p.paper_id: p for p in papers}
        if not latest:
            return
        if min(latest) < 0:
            raise ValueError(f"paper id {min(latest)} is negative; ids must be store row ids")
        self.delete(list(latest))
        self._grow(max(latest) + 1)
        batch = list(latest.values())
        for paper_id in latest:
            self.skipped.pop(paper_id, None)
        segment = self._build_segment(batch)
        self._attach(segment)
        for paper in batch:
            self._day[paper.paper_id] = _day_number(paper.day)
            self._has_code[paper.paper_id] = paper.has_code
            self._is_withdrawn[paper.paper_id] = paper.is_withdrawn
        self._merge_if_due()

    def delete(self, paper_ids: list[int]) -> int:
        """Remove papers by id; returns how many were indexed. Unknown ids are skipped."""
        removed = 0
        for paper_id in paper_ids:
            self.skipped.pop(paper_id, None)
            if paper_id in self:
                where = int(self._where[paper_id])
                self._segments[where >> 32].live[where & 0xFFFFFFFF] = False
                self._where[paper_id] = -1
                removed += 1
        return removed

    def merge(self) -> None:
        """Merge every segment into one, dropping deleted papers and recomputing statistics."""
        if len(self._segments) > 1 or any(not seg.live.all() for seg in self._segments):
            self._merge_segments(0)

    def _merge_if_due(self) -> None:
        if len(self._segments) < 2:
            return
        main, rest = len(self._segments[0]), sum(len(s) for s in self._segments[1:])
        if rest >= MAIN_MERGE_FRACTION * main:
            self._merge_segments(0)
        elif len(self._segments) - 1 > MAX_SMALL_SEGMENTS:
            self._merge_segments(1)

    def _grow(self, size: int) -> None:
        if size <= len(self._where):
            return
        extra = max(size, len(self._where) * 5 // 4) - len(self._where)
        self._where = np.concatenate([self._where, np.full(extra, -1, dtype=np.int64)])
        self._day = np.concatenate([self._day, np.full(extra, NO_DAY, dtype=np.int32)])
        self._has_code = np.concatenate([self._has_code, np.zeros(extra, dtype=bool)])
        self._is_withdrawn = np.concatenate([self._is_withdrawn, np.zeros(extra, dtype=bool)])

    def _build_segment(self, papers: list[PaperFields]) -> _Segment:
        rows, cols, counts = [], [], []
        key_rows, key_cols = [], []
        tokens: list[int] = []
        token_counts = np.zeros(len(papers), dtype=np.int64)
        lengths = np.zeros(len(papers), dtype=np.float32)
        for slot, paper in enumerate(papers):
            tf: dict[int, float] = {}
            before = len(tokens)
            for weight, text in ((self.title_weight, paper.title), (1, paper.abstract)):
                plain = words(text)
                for word, stem in zip(plain, _stemmer.stemWords(plain)):
                    tid = self._term_id(stem, word)
                    tokens.append(tid)
                    if word not in STOP_WORDS:  # the same terms as analyse(text)
                        tf[tid] = tf.get(tid, 0.0) + weight
            token_counts[slot] = len(tokens) - before
            rows.extend([slot] * len(tf))
            cols.extend(tf)
            counts.extend(tf.values())
            lengths[slot] = sum(tf.values())
            keys = {f"a:{w}" for name in paper.authors for w in name_words(name)}
            keys |= {f"c:{c.lower()}" for c in paper.categories}
            key_ids = [self._keys.setdefault(k, len(self._keys)) for k in keys]
            key_rows.extend([slot] * len(key_ids))
            key_cols.extend(key_ids)
        return self._segment_from_postings(
            np.array([p.paper_id for p in papers], dtype=np.int64), lengths,
            np.array(rows, dtype=np.int32), np.array(cols, dtype=np.int64),
            np.array(counts, dtype=np.float32),
            np.array(key_rows, dtype=np.int32), np.array(key_cols, dtype=np.int64),
            np.array(tokens, dtype=np.int32), token_counts,
        )

    def _term_id(self, stem: str, word: str) -> int:
        tid = self._terms.get(stem)
        if tid is None:
            tid = self._terms[stem] = len(self._terms)
            self._surface.append(word)  # how "did you mean" spells the term
        return tid

    def _segment_from_postings(self, paper_ids, lengths, rows, cols, counts, key_rows, key_cols,
                               tokens, token_counts, positions=None):
        """A segment from (slot, term, count) triples and each slot's tokens (and their
        positions by term, when saved); impacts use the average length the collection
        will have once it is attached."""
        n = len(paper_ids)
        terms = sparse.csc_matrix((counts, (rows, cols)), shape=(n, len(self._terms)))
        terms.sort_indices()  # slots ascending within a term: `_member` bisects them
        keys = sparse.csc_matrix(
            (np.ones(len(key_rows), dtype=np.int8), (key_rows, key_cols)), shape=(n, len(self._keys))
        )
        avg = (self._length_sum + float(lengths.sum())) / max(self._slot_count + n, 1)
        norm = self.k1 * (1 - self.b + self.b * lengths / max(avg, 1e-9))
        counts = terms.data.astype(np.float32)
        impact = counts * (self.k1 + 1) / (counts + norm[terms.indices])
        tokens = np.asarray(tokens, dtype=np.int32)
        per_term = np.bincount(tokens, minlength=len(self._terms))
        return _Segment(
            paper_ids=paper_ids, live=np.ones(n, dtype=bool), lengths=lengths,
            indptr=terms.indptr.astype(np.int64), indices=terms.indices.astype(np.int32),
            counts=np.minimum(counts, 65535).astype(np.uint16), impact=impact.astype(np.float32),
            df=np.diff(terms.indptr).astype(np.int64), key_indptr=keys.indptr.astype(np.int64),
            key_indices=keys.indices.astype(np.int32),
            token_indptr=np.concatenate([[0], np.cumsum(token_counts)]).astype(np.int64), tokens=tokens,
            position_indptr=np.concatenate([[0], np.cumsum(per_term)]).astype(np.int64),
            positions=np.argsort(tokens, kind="stable").astype(np.int32) if positions is None else positions,
        )

    def _attach(self, segment: _Segment) -> None:
        number = len(self._segments)
        self._segments.append(segment)
        self._where[segment.paper_ids[segment.live]] = (number << 32) | np.flatnonzero(segment.live)
        self._add_statistics(segment, sign=1)

    def _add_statistics(self, segment: _Segment, *, sign: int) -> None:
        if len(self._df) < len(self._terms):
            self._df = np.concatenate([self._df, np.zeros(len(self._terms) - len(self._df), np.int64)])
        self._df[: len(segment.df)] += sign * segment.df
        self._slot_count += sign * len(segment)
        self._length_sum += sign * float(segment.lengths.sum())

    def _merge_segments(self, first: int) -> None:
        """Replace segments[first:] by one segment of their live papers."""
        merging = self._segments[first:]
        for segment in merging:
            self._add_statistics(segment, sign=-1)
        del self._segments[first:]
        parts = [_live_postings(seg) for seg in merging]
        offsets = np.cumsum([0] + [len(p[0]) for p in parts])
        merged = self._segment_from_postings(
            np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] + o for p, o in zip(parts, offsets)]).astype(np.int32),
            np.concatenate([p[3] for p in parts]), np.concatenate([p[4] for p in parts]),
            np.concatenate([p[5] + o for p, o in zip(parts, offsets)]).astype(np.int32),
            np.concatenate([p[6] for p in parts]), np.concatenate([p[7] for p in parts]),
            np.concatenate([p[8] for p in parts]),
        )
        self._attach(merged)

    # --- queries ----------------------------------------------------------
    def matches(self, query: Query, *, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Every paper that matches `query`, as (paper ids, BM25 scores), in no order.

        A paper matches when it has at least one of the query's words (phrase
        words included), every phrase with its words side by side, no excluded
        word or phrase, and passes `allowed` (a mask from `filter_mask`). A
        query whose text gives no index terms and no phrase matches every
        allowed paper without the excluded words, with score 0, if it has
        filters or exclusions, and no paper otherwise.
        """
        conditions = self._conditions(query)
        if conditions is None:
            if not query.has_filters and not query.excluded:
                return _EMPTY_INT.astype(np.int64), _EMPTY_FLOAT
            conditions = _Conditions({}, [], *self._exclusions(query))
        ids, scores = [], []
        for segment in self._segments:
            slots, score = self._segment_matches(segment, conditions, allowed)
            ids.append(segment.paper_ids[slots])
            scores.append(score)
        return np.concatenate(ids or [_EMPTY_INT.astype(np.int64)]), np.concatenate(scores or [_EMPTY_FLOAT])

    def search(
        self, query: Query, *, limit: int = 100, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The best `limit` of `matches` as (paper id, BM25 score), best first, ties
        by lower id (a query without words: newest id first, score 0)."""
        ids, scores = self.matches(query, allowed=allowed)
        if not scores.any():
            return [(int(i), 0.0) for i in ids[::-1][:limit]]
        return top(ids, scores, limit)

    def ranked(self, query: Query, *, depth: int) -> tuple[int, list[tuple[int, float]]]:
        """(how many papers match `query`, the best `depth` as (paper id, BM25 score),
        ties by lower id), as KeywordIndex.ranked."""
        ids, scores = self.matches(query, allowed=self.filter_mask(query))
        return len(ids), top(ids, scores, depth)

    def newest(self, query: Query, *, offset: int, limit: int) -> tuple[int, list[int]]:
        """(how many papers match `query`, the ids at `offset` in the order newest day
        first, then the higher id), as KeywordIndex.newest."""
        ids, _ = self.matches(query, allowed=self.filter_mask(query))
        return len(ids), ids[np.lexsort((-ids, -self.days(ids)))][offset : offset + limit].tolist()

    def scores_of(self, query: Query, paper_ids) -> dict[int, float]:
        """The BM25 score of each of `paper_ids` that matches `query`."""
        ids, scores = self.matches(query, allowed=self.filter_mask(query))
        wanted = {int(i) for i in paper_ids}
        return {int(i): float(s) for i, s in zip(ids.tolist(), scores.tolist()) if i in wanted}

    def passing(self, query: Query, paper_ids) -> np.ndarray:
        """Whether each of `paper_ids` has every phrase of `query` and no excluded word
        or phrase (for papers found by meaning, which the words need not rank)."""
        ids = np.asarray(paper_ids, dtype=np.int64)
        keep = np.array([i in self for i in ids.tolist()], dtype=bool)
        phrases = [p for p in map(self._phrase_ids, query.phrases) if p]
        excluded_words, excluded_phrases = self._exclusions(query)
        where = self._where[ids[keep]]
        result = keep.copy()
        inside = np.flatnonzero(keep)
        for number, segment in enumerate(self._segments):
            here = (where >> 32) == number
            slots = (where[here] & 0xFFFFFFFF).astype(np.int64)
            ok = self._check(segment, slots, phrases, excluded_words, excluded_phrases)
            result[inside[here]] = ok
        return result

    def _conditions(self, query: Query) -> "_Conditions | None":
        weights = self._query_weights(query)
        phrases = [self._phrase_ids(p) for p in query.phrases]
        phrases = [p for p in phrases if p]  # a phrase of no words asks nothing
        terms = analyse(" ".join(query.terms + query.phrases))
        if not terms and not phrases:
            return None
        return _Conditions(weights, phrases, *self._exclusions(query), any_word=bool(terms))

    def _exclusions(self, query: Query) -> tuple[list[int], list[list[int]]]:
        excluded_words = self._term_ids([t for e in query.excluded if " " not in e for t in analyse(e)])
        excluded_phrases = [self._phrase_ids(e) for e in query.excluded if " " in e]
        return [t for t in excluded_words if t >= 0], [p for p in excluded_phrases if p and min(p) >= 0]

    def _phrase_ids(self, phrase: str) -> list[int]:
        """Term ids of every word of `phrase`, stop words too; -1 for a word never seen."""
        return [self._terms.get(stem, -1) for stem in _stemmer.stemWords(words(phrase))]

    def _query_weights(self, query: Query) -> dict[int, float]:
        """idf per query term id (a term typed twice counts twice)."""
        weights: dict[int, float] = {}
        n = max(self._slot_count, 1)
        for term in analyse(" ".join(query.terms + query.phrases)):
            tid = self._terms.get(term)
            if tid is not None and self._df[tid] > 0:
                df = float(self._df[tid])
                # Lucene's BM25 idf, never negative (Robertson & Zaragoza 2009, eq. 3.3 + 1)
                weights[tid] = weights.get(tid, 0.0) + math.log(1 + (n - df + 0.5) / (df + 0.5))
        return weights

    def _term_ids(self, terms: list[str]) -> list[int]:
        return sorted({self._terms.get(t, -1) for t in terms})

    def _segment_matches(self, segment, conditions, allowed) -> tuple[np.ndarray, np.ndarray]:
        """(slots, scores) of the segment's live papers that meet `conditions` and `allowed`."""
        if conditions.any_word:
            lists = [segment.postings(t) for t in conditions.weights]
            slots = np.concatenate([s for s, _ in lists] or [_EMPTY_INT])
            values = np.concatenate(
                [imp * w for (_, imp), w in zip(lists, conditions.weights.values())] or [_EMPTY_FLOAT])
            score = np.bincount(slots, weights=values, minlength=len(segment))
            candidates = np.flatnonzero(score)  # BM25 weights are positive: any word found
        else:
            score = np.zeros(len(segment))
            candidates = np.arange(len(segment))
        candidates = candidates[segment.live[candidates]]
        if allowed is not None:
            candidates = candidates[allowed[segment.paper_ids[candidates]]]
        candidates = candidates[self._check(
            segment, candidates, conditions.phrases, conditions.excluded_words, conditions.excluded_phrases)]
        return candidates, score[candidates].astype(np.float32)

    @staticmethod
    def _check(segment, slots, phrases, excluded_words, excluded_phrases) -> np.ndarray:
        keep = np.ones(len(slots), dtype=bool)
        for phrase in phrases:
            keep &= _member(slots, segment.phrase_slots(phrase))
        for term in excluded_words:
            keep &= ~_member(slots, segment.postings(term)[0])
        for phrase in excluded_phrases:
            keep &= ~_member(slots, segment.phrase_slots(phrase))
        return keep

    def suggest(self, word: str) -> str | None:
        """A spelling of `word` that many more papers use (spelling.best_correction), when
        `word` is in at most RARE_WORD_PAPERS papers; None otherwise.

        Candidates are the words of similar length that share the first or the last
        letter of `word`: a typo seldom changes both ends, and this keeps the
        comparison to a few thousand words."""
        word = word.lower()
        stem = _stemmer.stemWord(word)
        tid = self._terms.get(stem)
        count = int(self._df[tid]) if tid is not None and tid < len(self._df) else 0
        if count > RARE_WORD_PAPERS or word in STOP_WORDS or len(word) < spelling.MIN_WORD_CHARS:
            return None
        lengths, firsts, lasts, df = self._spelling_arrays()
        near = np.flatnonzero(
            (np.abs(lengths - len(word)) <= spelling.MAX_DISTANCE)
            & (df >= max(count * RARE_WORD_FACTOR, 1))
            & ((firsts == ord(word[0])) | (lasts == ord(word[-1])))
        )
        stems = self._stems_by_id()
        return spelling.best_correction(
            word, [self._surface[i] for i in near], [stems[i] for i in near], stem, df[near])

    def _spelling_arrays(self):
        """(length, first and last code point of each term as written, papers per term),
        kept until the vocabulary or the statistics change."""
        key = (len(self._terms), self._slot_count, self._length_sum)
        if self._spelling_cache is None or self._spelling_cache[0] != key:
            n = len(self._surface)
            lengths = np.fromiter(map(len, self._surface), dtype=np.int64, count=n)
            firsts = np.fromiter((ord(w[0]) if w else 0 for w in self._surface), dtype=np.int64, count=n)
            lasts = np.fromiter((ord(w[-1]) if w else 0 for w in self._surface), dtype=np.int64, count=n)
            df = np.zeros(n, dtype=np.int64)
            df[: min(n, len(self._df))] = self._df[:n]
            self._spelling_cache = (key, (lengths, firsts, lasts, df), list(self._terms))
        return self._spelling_cache[1]

    def _stems_by_id(self) -> list[str]:
        return self._spelling_cache[2]

    def _live_mask(self) -> np.ndarray:
        return self._where >= 0

    def days(self, paper_ids: list[int]) -> np.ndarray:
        """Publication days of `paper_ids` as days since 1970-01-01 (int64), NO_DAY if unknown."""
        ids = np.asarray(paper_ids, dtype=np.int64)
        out = np.full(len(ids), NO_DAY, dtype=np.int64)
        inside = (ids >= 0) & (ids < len(self._day))
        out[inside] = self._day[ids[inside]]
        return out

    def filter_mask(self, query: Query) -> np.ndarray | None:
        """A bool array over paper ids (length `id_bound`) of the papers that pass the
        query's author, category, year and code filters; None when it has none.
        An author given as a full name needs all its words in the paper's author list."""
        if not query.has_filters:
            return None
        mask = self._live_mask()
        for author in query.authors:
            for word in name_words(author):
                mask &= self._key_mask(f"a:{word}")
        if query.categories:
            any_category = np.zeros_like(mask)
            for category in query.categories:
                any_category |= self._key_mask(f"c:{category.lower()}")
            mask &= any_category
        if query.year_from is not None:
            mask &= self._day >= _day_number(date(query.year_from, 1, 1))
        if query.year_to is not None:
            mask &= (self._day <= _day_number(date(query.year_to, 12, 31))) & (self._day != NO_DAY)
        if query.has_code:
            mask &= self._has_code
        if query.withdrawn is not None:
            mask &= self._is_withdrawn if query.withdrawn else ~self._is_withdrawn
        return mask

    def _key_mask(self, key: str) -> np.ndarray:
        mask = np.zeros(len(self._where), dtype=bool)
        kid = self._keys.get(key)
        if kid is None:
            return mask
        for segment in self._segments:
            slots = segment.key_slots(kid)
            mask[segment.paper_ids[slots[segment.live[slots]]]] = True
        return mask

    # --- persistence ------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the index to `path` atomically (a temporary file, then a rename)."""
        self.merge()
        arrays = {"where": self._where, "day": self._day, "has_code": self._has_code,
                  "is_withdrawn": self._is_withdrawn}
        for i, seg in enumerate(self._segments):
            for name in ("paper_ids", "lengths", "indptr", "indices", "counts", "key_indptr", "key_indices",
                         "token_indptr", "tokens", "positions"):
                arrays[f"s{i}_{name}"] = getattr(seg, name)
        meta = {
            "format": FORMAT_VERSION, "k1": self.k1, "b": self.b, "title_weight": self.title_weight,
            "change_seq": self.change_seq, "segments": len(self._segments),
            "terms": list(self._terms), "surface": self._surface, "keys": list(self._keys),
            "skipped": {str(pid): reason for pid, reason in self.skipped.items()},
        }
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        path = Path(path)
        scratch = path.with_name(path.name + ".tmp")
        with open(scratch, "wb") as f:
            np.savez(f, **arrays)
        os.replace(scratch, path)

    @classmethod
    def load(cls, path: Path) -> "LexicalIndex":
        """Read an index written by `save`; raises ValueError for another format version."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes())
            if meta.get("format") != FORMAT_VERSION:
                raise ValueError(f"{path} has lexical index format {meta.get('format')}; rebuild it")
            index = cls(k1=meta["k1"], b=meta["b"], title_weight=meta["title_weight"],
                        change_seq=meta["change_seq"])
            index._terms = {t: i for i, t in enumerate(meta["terms"])}
            index._surface = meta["surface"]
            index._keys = {k: i for i, k in enumerate(meta["keys"])}
            index.skipped = {int(pid): reason for pid, reason in meta.get("skipped", {}).items()}
            index._grow(len(data["where"]))
            index._day[:], index._has_code[:] = data["day"], data["has_code"]
            index._is_withdrawn[:] = data["is_withdrawn"]
            for i in range(meta["segments"]):
                get = lambda name: data[f"s{i}_{name}"]  # noqa: E731
                cols = np.repeat(np.arange(len(get("indptr")) - 1), np.diff(get("indptr")))
                key_cols = np.repeat(np.arange(len(get("key_indptr")) - 1), np.diff(get("key_indptr")))
                index._attach(index._segment_from_postings(
                    get("paper_ids"), get("lengths"), get("indices"), cols, get("counts"),
                    get("key_indices"), key_cols, get("tokens"), np.diff(get("token_indptr")),
                    get("positions"),
                ))
        return index


def _member(values: np.ndarray, sorted_array: np.ndarray) -> np.ndarray:
    """Whether each of `values` occurs in `sorted_array`."""
    if len(sorted_array) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_array, values), len(sorted_array) - 1)
    return sorted_array[at] == values


def _live_postings(seg: _Segment):
    """A segment's live papers as arrays, slots renumbered from 0."""
    renumber = np.cumsum(seg.live) - 1
    cols = np.repeat(np.arange(len(seg.indptr) - 1), np.diff(seg.indptr))
    keep = seg.live[seg.indices]
    key_cols = np.repeat(np.arange(len(seg.key_indptr) - 1), np.diff(seg.key_indptr))
    key_keep = seg.live[seg.key_indices]
    token_counts = np.diff(seg.token_indptr)
    return (
        seg.paper_ids[seg.live], seg.lengths[seg.live], renumber[seg.indices[keep]],
        cols[keep], seg.counts[keep], renumber[seg.key_indices[key_keep]], key_cols[key_keep],
        seg.tokens[np.repeat(seg.live, token_counts)], token_counts[seg.live],
    )



def _day_number(day: date | None) -> int:
    return NO_DAY if day is None else (day - _EPOCH).days
