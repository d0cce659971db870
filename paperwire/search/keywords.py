"""Keyword search on tantivy: the index of titles, abstracts and filter facts, in one folder.

Owns the tantivy index of one store's papers (the Rust engine behind Quickwit
and ParadeDB; chosen by measurement in docs/search-engines.md), the searches
run on it (the queries are built by `keyword_query.py`), and what lives
beside the index in its folder: the store's `change_seq` it has reached, the papers it could not take
(`skipped`), and the vocabulary that "did you mean" compares with. Parsing is
`query.py`'s; highlights and "why" are computed in Python on a page's papers
(`text.matched_words`); the papers themselves stay in the store, under the
same integer `paper_id`.

Exactly the semantics of the BM25 index it replaces, pinned by
tests/search/test_exact.py against a brute-force scan: a paper matches when it
has at least one of the query's words (less Lucene's English stop words),
every phrase with its words side by side (stop words kept, title and abstract
read as one text), no excluded word or phrase, and passes the filters; every
match is counted. Ranking is tantivy's BM25 (k1 1.2, b 0.75, which tantivy-py
does not expose) on the abstract plus TITLE_BOOST times BM25 on the title.

One writer per folder, across processes: tantivy's own lock file on the
folder. A process that cannot take it follows the commits of the one that
did (`begin` returns False; `reload` moves to the latest commit). Each commit
is a consistent snapshot: a `Searcher` never changes under a search.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tantivy

from paperwire.search import spelling
from paperwire.search.fusion import top
from paperwire.search.keyword_query import (
    FAR_DAY, NO_DAY, SCHEMA, PaperFields, author_name, compile_query, day_range, document, every, exclusions, filters,
    phrases, register_analyzers,
)
from paperwire.search.query import Query
from paperwire.search.spelling import Vocabulary
from paperwire.search.text import STOP_WORDS, stemmer, words

TITLE_BOOST = 0.5  # the title's BM25 counts this much beside the abstract's (docs/search-engines.md)
WRITER_HEAP_BYTES = 100_000_000  # tantivy flushes a segment when its writer's heap is this full
FORMAT_VERSION = 3  # 2: author names' words as written and as shown (LaTeX rendered); 3: whole names
META_FILE = "paperwire.json"  # change_seq, id bound, skipped papers: written after each commit
VOCABULARY_FILE = "vocabulary.tsv"  # stem <TAB> first spelling seen, appended at each commit
_WRITER_BUSY = "LockBusy"  # in tantivy's error when another writer holds the folder
SUGGESTIONS_KEPT = 10_000  # "did you mean" answers kept per snapshot, by word
RARE_WORD_PAPERS = 2  # a word in this few papers may be a typo: "did you mean" looks further
RARE_WORD_FACTOR = 20  # ...for a word in this many times more papers


def _filters_of(query: Query):
    """One query that every filter of `query` must match (every paper, for none)."""
    clauses = filters(query) or [tantivy.Query.all_query()]
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in clauses])


@dataclass
class KeywordIndex:
    """BM25 over title and abstract, plus author/category/day/code/withdrawn facts for filters.

    `folder` None keeps the index in memory. Reads see this object's snapshot
    (its `Searcher`) and, after a write through it, that write: it commits first.
    """

    folder: Path | None = None
    change_seq: int = 0  # the last store change applied (see engine.sync)
    title_boost: float = TITLE_BOOST
    skipped: dict[int, str] = field(default_factory=dict)  # paper id -> why it could not be indexed
    _index: tantivy.Index | None = field(default=None, repr=False)
    _searcher: object = field(default=None, repr=False)
    _id_bound: int = 0
    _writer: object = field(default=None, repr=False)
    _added: set = field(default_factory=set, repr=False)  # since the last commit
    _deleted: set = field(default_factory=set, repr=False)
    _vocabulary: Vocabulary = field(default_factory=Vocabulary, repr=False)  # shared by forks
    _new_words: dict[str, str] = field(default_factory=dict, repr=False)
    _seen_words: set[str] = field(default_factory=set, repr=False)  # surface words this object has noted
    # ("did you mean" answers' snapshot (its searcher), word -> suggestion)
    _suggestions: tuple = field(default_factory=lambda: (None, {}), repr=False)

    # --- opening ------------------------------------------------------------
    @classmethod
    def open(cls, folder: Path | None = None) -> "KeywordIndex":
        """The index in `folder` (a new empty one if the folder holds none; in memory for
        None). Raises ValueError for an index of another format or that cannot be read."""
        index = cls(folder=Path(folder) if folder is not None else None)
        is_new = index.folder is None or not (index.folder / "meta.json").exists()  # tantivy's own
        if index.folder is not None:
            index.folder.mkdir(parents=True, exist_ok=True)
            if not is_new and not (index.folder / META_FILE).exists():
                raise ValueError(f"{index.folder} holds a tantivy index without {META_FILE}")
        index._index = tantivy.Index(SCHEMA, path=str(index.folder) if index.folder else None, reuse=True)
        register_analyzers(index._index)
        index._index.config_reader(reload_policy="Manual")
        if is_new and index.folder is not None:
            index._write_meta()
        index.reload()
        index._searcher.search(tantivy.Query.all_query(), limit=1, count=True)  # fails on a torn index
        return index

    @classmethod
    def create(cls, folder: Path | None = None) -> "KeywordIndex":
        """A new empty index in `folder`, replacing whatever the folder held."""
        if folder is not None and Path(folder).exists():
            shutil.rmtree(folder)
        return cls.open(folder)

    def reload(self) -> None:
        """Move to the latest commit (of this process or another), with its change_seq."""
        self._index.reload()
        self._searcher = self._index.searcher()
        if self.folder is None:
            return
        path = self.folder / META_FILE
        if not path.exists():
            return
        meta = json.loads(path.read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{self.folder} has keyword index format {meta.get('format')}; rebuild it")
        self.change_seq, self._id_bound = int(meta["change_seq"]), int(meta["id_bound"])
        self.skipped = {int(pid): reason for pid, reason in meta["skipped"].items()}

    def fork(self) -> "KeywordIndex":
        """A copy to write through while searches go on reading this one's snapshot
        (which first takes in this object's own uncommitted writes)."""
        self._view()
        return KeywordIndex(self.folder, self.change_seq, self.title_boost, dict(self.skipped), self._index,
                            self._searcher, self._id_bound, _vocabulary=self._vocabulary)

    # --- writing ------------------------------------------------------------
    def begin(self) -> bool:
        """Take the folder's writer lock and move to the latest commit; False when another
        process (or index object) holds it: follow its commits with `reload` instead."""
        if self._writer is None:
            try:
                self._writer = self._index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
            except ValueError as error:
                if _WRITER_BUSY not in str(error):
                    raise
                return False
            self.reload()
        return True

    def _writable(self):
        if not self.begin():
            raise RuntimeError(f"another process is writing the keyword index in {self.folder}")
        return self._writer

    def add(self, papers: list[PaperFields]) -> None:
        """Add papers, replacing any already indexed under the same id (the last of
        duplicates within `papers` wins). Raises ValueError for a negative id."""
        latest = {p.paper_id: p for p in papers}
        if not latest:
            return
        if min(latest) < 0:
            raise ValueError(f"paper id {min(latest)} is negative; ids must be store row ids")
        writer = self._writable()
        for paper in latest.values():
            writer.delete_documents_by_term("paper_id", paper.paper_id)
            writer.add_document(document(paper))
            self._note_words(paper)
            self.skipped.pop(paper.paper_id, None)
        self._added |= set(latest)
        self._deleted -= set(latest)
        self._id_bound = max(self._id_bound, max(latest) + 1)

    def delete(self, paper_ids: list[int]) -> int:
        """Remove papers by id; returns how many were indexed. Unknown ids are skipped."""
        ids = sorted(set(paper_ids))
        if not ids:
            return 0
        committed = self._present(ids)
        removed = sum(1 for pid in ids if pid in self._added or (pid in committed and pid not in self._deleted))
        writer = self._writable()
        for pid in ids:
            writer.delete_documents_by_term("paper_id", pid)
            self.skipped.pop(pid, None)
        self._added -= set(ids)
        self._deleted |= set(ids)
        return removed

    def commit(self) -> None:
        """Publish the writes made since `begin` (one tantivy commit), then the change_seq,
        skipped papers and new words beside it, and release the writer lock."""
        if self._writer is None:
            return
        self._writer.commit()
        self._writer.wait_merging_threads()  # releases the lock too
        self._writer = None
        self._added, self._deleted = set(), set()
        if self.folder is not None:
            self._write_vocabulary()
            self._write_meta()
        else:
            self._vocabulary.add(self._new_words.items())
            self._new_words = {}
        self._index.reload()
        self._searcher = self._index.searcher()

    def _write_meta(self) -> None:
        # After the commit, so the change_seq on disk never runs ahead of the index: a crash
        # between the two re-applies a batch, which replacing papers by id makes harmless.
        meta = {"format": FORMAT_VERSION, "change_seq": self.change_seq, "id_bound": self._id_bound,
                "skipped": {str(pid): reason for pid, reason in self.skipped.items()}}
        scratch = self.folder / f"{META_FILE}.{os.getpid()}.tmp"
        scratch.write_text(json.dumps(meta))
        os.replace(scratch, self.folder / META_FILE)

    def save(self, path: Path | None = None) -> None:
        """Commit, and write the metadata beside the index (`path` is not used: the
        index lives in `folder`)."""
        self.commit()
        if self.folder is not None:
            self._write_meta()

    def merge(self) -> None:
        """Commit: tantivy merges segments itself, in the background."""
        self.commit()

    def _note_words(self, paper: PaperFields) -> None:
        # Only words not seen before are stemmed: stemming every word of every paper was
        # 42 % of a 2.7M-paper build's Python time (py-spy), and most words recur.
        known, seen = self._vocabulary, self._seen_words
        plain = [w for w in dict.fromkeys(words(f"{paper.title}\n{paper.abstract}")) if w not in seen]
        seen.update(plain)
        for word, stem in zip(plain, stemmer.stemWords(plain)):
            if stem not in known and stem not in self._new_words:
                self._new_words[stem] = word

    # --- reading ------------------------------------------------------------
    def _view(self):
        """The searcher, after committing this object's own writes (read your writes)."""
        if self._writer is not None:
            self.commit()
        return self._searcher

    def __len__(self) -> int:
        return self._view().num_docs

    def __contains__(self, paper_id: int) -> bool:
        return paper_id in self._present([paper_id])

    @property
    def id_bound(self) -> int:
        """One more than the largest paper id ever added: the size of filter masks."""
        return self._id_bound

    def _present(self, paper_ids) -> set[int]:
        """Which of `paper_ids` the committed snapshot holds."""
        ids = [int(i) for i in paper_ids if int(i) >= 0]
        if not ids:
            return set()
        found = self._all(tantivy.Query.term_set_query(SCHEMA, "paper_id", ids))
        return set(found[0].tolist())

    def _all(self, query, *fields: str) -> tuple[np.ndarray, ...]:
        """(paper ids, scores, then each of `fields`) of every document matching `query`."""
        searcher = self._view()
        limit = searcher.num_docs
        hits = searcher.search(query, limit=limit, count=False).hits if limit else []
        addresses = [address for _, address in hits]
        ids = np.array(searcher.fast_field_values("paper_id", addresses) if hits else [], dtype=np.int64)
        scores = np.array([score for score, _ in hits], dtype=np.float32)
        extra = tuple(np.array(searcher.fast_field_values(f, addresses) if hits else [], dtype=np.int64)
                      for f in fields)
        return (ids, scores) + extra

    def matches(self, query: Query, *, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Every paper that matches `query`, as (paper ids, BM25 scores), in no set order.

        A query whose text gives no index terms and no phrase matches every paper
        that passes its filters and exclusions, with score 0, if it has filters or
        exclusions, and no paper otherwise. `allowed` (a mask from `filter_mask`)
        narrows the matches further."""
        compiled = compile_query(query, self.title_boost)
        if compiled is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        ids, scores = self._all(compiled)
        if allowed is not None:
            keep = (ids < len(allowed)) & allowed[np.minimum(ids, max(len(allowed) - 1, 0))] if len(allowed) \
                else np.zeros(len(ids), dtype=bool)
            ids, scores = ids[keep], scores[keep]
        return ids, scores

    def author_ids(self, name: str) -> np.ndarray:
        """Ids of the papers with an author whose papers.normalise_name is `name`'s."""
        compiled = author_name(name)
        return self._all(compiled)[0] if compiled is not None else np.zeros(0, dtype=np.int64)

    def search(self, query: Query, *, limit: int = 100, allowed: np.ndarray | None = None
               ) -> list[tuple[int, float]]:
        """The best `limit` of `matches` as (paper id, BM25 score), best first (ties as
        `ranked` orders them; with `allowed`, by lower id); a query without words: highest
        id first, score 0."""
        if allowed is None:  # ranked reads only the best, not every match (a paper page's
            _, best = self.ranked(query, depth=limit, count=False)  # similar-by-title: 4 ms of its 17)
            if any(score for _, score in best):
                return best[:limit]
        ids, scores = self.matches(query, allowed=allowed)
        if not scores.any():
            return [(int(i), 0.0) for i in np.sort(ids)[::-1][:limit]]
        return top(ids, scores, limit)

    def ranked(self, query: Query, *, depth: int, count: bool = True) -> tuple[int, list[tuple[int, float]]]:
        """(how many papers match `query`, the best `depth` of them as (paper id, BM25
        score), best first): what a page by relevance needs, without reading every match.

        Equal scores keep the index's own order (tantivy orders its hits by score, then
        by document address, one total order per snapshot), so the best `depth` of any
        depth are a prefix of one order and paging neither repeats nor skips a paper. An
        order by paper id among ties needed every tied paper read: at 2.7M papers, 2 to
        13 whole passes for 68 % of the bench's queries (docs/search-engines.md).
        `count=False` gives 0 for the count and leaves counting out (similar papers by
        title words need none)."""
        compiled = compile_query(query, self.title_boost)
        searcher = self._view()
        if compiled is None or depth <= 0 or not searcher.num_docs:
            return 0, []
        result = searcher.search(compiled, limit=depth, count=count)
        addresses = [address for _, address in result.hits]
        ids = searcher.fast_field_values("paper_id", addresses) if addresses else []
        return result.count if count else 0, [(int(i), float(score)) for i, (score, _) in zip(ids, result.hits)]

    def newest(self, query: Query, *, offset: int, limit: int) -> tuple[int, list[int]]:
        """(how many papers match `query`, the ids of those at `offset`..`offset + limit` in
        the order newest day first, then the higher id): tantivy orders the page by the
        `day` fast field; the papers of the page's first to last day are then read whole
        and ordered by (day, id), so the page is exact with no read of the other matches."""
        compiled = compile_query(query, self.title_boost)
        searcher = self._view()
        if compiled is None or limit <= 0 or not searcher.num_docs:
            return 0, []
        result = searcher.search(compiled, limit=limit, offset=offset, count=True, order_by_field="day")
        if not result.hits:
            return result.count, []
        high, low = result.hits[0][0], result.hits[-1][0]
        before = searcher.search(every(compiled, day_range(high + 1, FAR_DAY)), limit=1, count=True).count
        ids, _, days = self._all(every(compiled, day_range(low, high)), "day")
        order = np.lexsort((-ids, -days))
        return result.count, ids[order][offset - before : offset - before + limit].tolist()

    def scores_of(self, query: Query, paper_ids) -> dict[int, float]:
        """The BM25 score of each of `paper_ids` that matches `query` (the others are left out)."""
        compiled = compile_query(query, self.title_boost)
        wanted = sorted({int(i) for i in paper_ids if i >= 0})
        if compiled is None or not wanted:
            return {}
        only = tantivy.Query.const_score_query(tantivy.Query.term_set_query(SCHEMA, "paper_id", wanted), 0.0)
        ids, scores = self._all(every(compiled, only))
        return dict(zip(ids.tolist(), scores.tolist()))

    def passing(self, query: Query, paper_ids) -> np.ndarray:
        """Whether each of `paper_ids` is indexed, has every phrase of `query` and no excluded
        word or phrase (for papers found by meaning, which the words need not rank)."""
        ids = np.asarray(paper_ids, dtype=np.int64)
        wanted = [int(i) for i in ids if i >= 0]
        if not wanted:
            return np.zeros(len(ids), dtype=bool)
        clauses = [(tantivy.Occur.Must, tantivy.Query.term_set_query(SCHEMA, "paper_id", wanted))]
        clauses += [(tantivy.Occur.Must, q) for q in phrases(query)]
        clauses += [(tantivy.Occur.MustNot, q) for q in exclusions(query)]
        found = self._all(tantivy.Query.boolean_query(clauses))[0]
        return np.isin(ids, found)

    def days(self, paper_ids) -> np.ndarray:
        """Publication days of `paper_ids` as days since 1970-01-01 (int64), NO_DAY if unknown."""
        ids = np.asarray(paper_ids, dtype=np.int64)
        out = np.full(len(ids), NO_DAY, dtype=np.int64)
        wanted = [int(i) for i in np.unique(ids) if i >= 0]
        if not wanted:
            return out
        found, _, days = self._all(tantivy.Query.term_set_query(SCHEMA, "paper_id", wanted), "day")
        order = np.argsort(found)
        at = np.searchsorted(found[order], ids)
        inside = at < len(found)
        hit = np.zeros(len(ids), dtype=bool)
        hit[inside] = found[order][at[inside]] == ids[inside]
        out[hit] = days[order][at[hit]]
        return out

    def filter_mask(self, query: Query) -> np.ndarray | None:
        """A bool array over paper ids (length `id_bound`) of the papers that pass the
        query's author, category, year, code and withdrawn filters; None when it has none.
        An author given as a full name needs all its words in the paper's author list."""
        if not query.has_filters:
            return None
        ids = self.filter_ids(query)
        mask = np.zeros(self._id_bound, dtype=bool)
        mask[ids[ids < self._id_bound]] = True
        return mask

    def filter_count(self, query: Query) -> int:
        """How many papers pass the query's filters (all, for a query without any)."""
        return self._view().search(_filters_of(query), limit=1, count=True).count

    def filter_ids(self, query: Query) -> np.ndarray:
        """The ids of the papers that pass the query's filters: read one by one, so 0.4 us
        a paper (230 ms for the 544,000 papers of author:wang at 2.7M)."""
        return self._all(_filters_of(query))[0]

    def filter_passes(self, query: Query, paper_ids) -> np.ndarray:
        """Whether each of `paper_ids` passes the query's filters, at the cost of those
        papers only (a term set of their ids within the filters)."""
        ids = np.asarray(paper_ids, dtype=np.int64)
        wanted = sorted({int(i) for i in ids if i >= 0})
        if not wanted:
            return np.zeros(len(ids), dtype=bool)
        only = tantivy.Query.term_set_query(SCHEMA, "paper_id", wanted)
        return np.isin(ids, self._all(every(only, _filters_of(query)))[0])

    # --- did you mean ---------------------------------------------------------
    def suggest(self, word: str) -> str | None:
        """A spelling of `word` that many more papers use (spelling.best_correction), when
        `word` is in at most RARE_WORD_PAPERS papers; None otherwise.

        Candidates are the indexed words of similar length that share the first or the
        last letter of `word`: a typo seldom changes both ends."""
        word = word.lower()
        if word in STOP_WORDS or len(word) < spelling.MIN_WORD_CHARS:
            return None
        searcher = self._view()
        # Kept per snapshot: a rare word costs a scan of the vocabulary (a tenth of a search
        # page's CPU, py-spy), and readers page through and refine the same words.
        held_for, known = self._suggestions
        if held_for is not searcher or len(known) >= SUGGESTIONS_KEPT:
            known = {}
            self._suggestions = (searcher, known)
        if word not in known:
            known[word] = self._suggestion(word, searcher)
        return known[word]

    def _suggestion(self, word: str, searcher) -> str | None:
        stem = stemmer.stemWord(word)
        count = searcher.doc_freq("text", stem)
        if count > RARE_WORD_PAPERS:
            return None
        stems, surfaces, lengths, firsts, lasts = self._words().arrays()
        near = np.flatnonzero((np.abs(lengths - len(word)) <= spelling.MAX_DISTANCE)
                              & ((firsts == ord(word[0])) | (lasts == ord(word[-1]))))
        if not len(near):
            return None
        stems, surfaces = [stems[i] for i in near], [surfaces[i] for i in near]
        distance = np.minimum(spelling.distances(word, surfaces), spelling.distances(stem, stems))
        close = np.flatnonzero((distance > 0) & (distance <= spelling.MAX_DISTANCE))
        paper_counts = np.array([searcher.doc_freq("text", stems[i]) for i in close], dtype=np.int64)
        common = paper_counts >= max(count * RARE_WORD_FACTOR, 1)
        chosen = close[common]
        return spelling.best_correction(word, [surfaces[i] for i in chosen], [stems[i] for i in chosen],
                                        stem, paper_counts[common])

    def _words(self) -> Vocabulary:
        """The vocabulary, followed as its file grows (another process may have committed)."""
        if self.folder is not None:
            self._vocabulary.follow(self.folder / VOCABULARY_FILE)
        return self._vocabulary

    def _write_vocabulary(self) -> None:
        fresh = {s: w for s, w in self._new_words.items() if s not in self._vocabulary and "\t" not in s + w}
        self._new_words = {}
        if fresh:
            with open(self.folder / VOCABULARY_FILE, "a", encoding="utf-8") as f:
                f.write("".join(f"{s}\t{w}\n" for s, w in fresh.items()))
        self._words()


