"""Keeping every user's "for you" list current: the recommend job's domain function.

`refresh(store, now=)` does what docs/library.md's incremental plan says, and only
that: it (re)fits the shared keyword vocabulary when there is none or it is a week
old; retrains the model of each user whose library changed since their model was
trained (or whose model used an older vocabulary) and rescores the candidate pool
for them; and scores the papers that changed since each model's `paper_seq` with
that model, merging them into the user's list, together with the papers whose vector
arrived since the last run (by `embed_seq`, kept in the EMBED_CHECKPOINT): a paper
first scored by its words alone is scored again once it has its meaning too (a model
retrained in the same run has already seen it). Nothing is computed per page view:
/for-you reads the recommendations table. The model is recommend.py's; the tables
are store/library.py's.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Sequence

import numpy as np

from paperwire import recommend
from paperwire.papers import Paper
from paperwire.search.embed import MODEL_NAME
from paperwire.store import Store
from paperwire.store.library import RECOMMENDATIONS_KEPT, StoredModel, StoredRecommendation

JOB = "recommend"
POOL_SIZE = 100_000  # the newest papers a retrained model ranks (bench/recommend.py times it)
VOCABULARY_SIZE = 50_000  # the newest papers the keyword vocabulary is fitted on
VOCABULARY_MAX_AGE = timedelta(days=7)
CHANGES_PAGE = 10_000
EMBED_CHECKPOINT = "recommend-embed-seq"  # the last embed_seq whose papers the models have scored


def refresh(store: Store, *, now: datetime, pool_size: int = POOL_SIZE,
            stop: threading.Event | None = None) -> str | None:
    """Bring every user's recommendations up to date; returns a one-line summary, or None
    when there was nothing to do (no user model, or nothing changed)."""
    models = store.user_models()
    if not models:
        return None
    vocabulary_seq, keywords = _vocabulary(store, now=now)
    if keywords is None:
        return None
    embed_seq = store.last_embed_seq()  # read first: a vector written during this run is scored next run
    vector_model = _vector_model(store)
    stale = [m for m in models if m.trained_seq < m.library_seq
             or (m.model is not None and m.vocabulary_seq != vocabulary_seq)]
    if stale:
        paper_seq = store.last_change_seq()  # read before the pool, so no change is missed
        pool = _features(store, store.newest_papers(limit=pool_size), keywords, vector_model)
        for model in stale:
            if stop is not None and stop.is_set():
                break
            _retrain(store, model, pool, keywords, vector_model, vocabulary_seq=vocabulary_seq,
                     paper_seq=paper_seq, now=now)
    trained = [m for m in store.user_models() if m.model is not None]
    retrained = {m.user_id for m in stale}
    scored_through, embedded = int(store.get_checkpoint(EMBED_CHECKPOINT) or 0), []
    if any(m.user_id not in retrained for m in trained):  # a model just trained has seen every vector
        embedded = _embedded_since(store, vector_model, scored_through)
    scored = _score_new(store, trained, keywords, vector_model, vocabulary_seq=vocabulary_seq,
                        embedded=embedded, retrained=retrained, now=now)
    if embed_seq != scored_through:
        store.set_checkpoint(EMBED_CHECKPOINT, str(embed_seq))
    if not stale and not scored:
        return None
    return f"retrained {len(stale)} user models, scored {scored} new papers"


def _retrain(store: Store, stored: StoredModel, pool: recommend.Features, keywords: recommend.Keywords,
             vector_model: str | None, *, vocabulary_seq: int, paper_seq: int, now: datetime) -> None:
    saved = store.saved_ids(stored.user_id)
    dismissed = store.dismissed_ids(stored.user_id)
    library = _features(store, _papers(store, saved), keywords, vector_model)
    if len(library) == 0:  # nothing saved (or only papers the store lost): nothing to learn
        store.put_user_model(stored.user_id, None, [], trained_seq=stored.library_seq,
                             vocabulary_seq=vocabulary_seq, paper_seq=paper_seq, now=now)
        return
    model = recommend.train(library, pool, dismissed=_features(store, _papers(store, dismissed), keywords,
                                                               vector_model))
    # Papers saved or dismissed but missing from the store are excluded too.
    model = _excluding(model, saved + dismissed)
    found = recommend.recommend(model, pool, limit=RECOMMENDATIONS_KEPT)
    store.put_user_model(stored.user_id, recommend.model_to_bytes(model), _stored(found),
                         trained_seq=stored.library_seq, vocabulary_seq=vocabulary_seq,
                         paper_seq=paper_seq, now=now)


def _score_new(store: Store, models: list[StoredModel], keywords: recommend.Keywords, vector_model: str | None,
               *, vocabulary_seq: int, embedded: list[Paper], retrained: set[int], now: datetime) -> int:
    """Score the papers that changed since each model's paper_seq, and the `embedded` ones
    (a new vector) with each model not `retrained` in this run; returns how many papers."""
    current = [m for m in models if m.vocabulary_seq == vocabulary_seq]
    last_seq = store.last_change_seq()
    behind = [m for m in current if m.paper_seq < last_seq or (embedded and m.user_id not in retrained)]
    if not behind:
        return 0
    start = min(m.paper_seq for m in behind)
    changes = _changes_since(store, start) if start < last_seq else []
    changed_ids = {c.paper.arxiv_id for c in changes}
    papers = [c.paper for c in changes] + [p for p in embedded if p.arxiv_id not in changed_ids]
    seqs = np.array([c.change_seq for c in changes] + [0] * (len(papers) - len(changes)), dtype=np.int64)
    embedded_ids = {p.arxiv_id for p in embedded}
    has_new_vector = np.array([p.arxiv_id in embedded_ids for p in papers], dtype=bool)
    features = _features(store, papers, keywords, vector_model)
    for stored in behind:
        rescore = has_new_vector & (stored.user_id not in retrained)
        rows = np.flatnonzero((seqs > stored.paper_seq) | rescore)
        model = recommend.model_from_bytes(stored.model)
        found = recommend.recommend(model, _subset(features, rows), limit=RECOMMENDATIONS_KEPT) if len(rows) else []
        store.add_recommendations(stored.user_id, _stored(found), paper_seq=last_seq, now=now)
    return len(papers)


def _changes_since(store: Store, start: int) -> list:
    """The live papers' changes after change_seq `start`, oldest first."""
    changes = []
    while True:
        page = store.changes_since(start, limit=CHANGES_PAGE)
        changes += [c for c in page if c.paper is not None]
        if len(page) < CHANGES_PAGE:
            return changes
        start = page[-1].change_seq


def _embedded_since(store: Store, vector_model: str | None, embed_seq: int) -> list[Paper]:
    """The live papers that got a vector of `vector_model` after `embed_seq`."""
    found: list[Paper] = []
    while vector_model is not None:
        ids, _, embed_seq = store.embeddings_changed_since(vector_model, embed_seq, limit=CHANGES_PAGE)
        found += store.get_papers_by_row(ids.tolist()).values() if len(ids) else []
        if len(ids) < CHANGES_PAGE:
            break
    return found


def _vocabulary(store: Store, *, now: datetime) -> tuple[int, recommend.Keywords | None]:
    """The current vocabulary, fitted anew on the newest papers when there is none or it
    is older than VOCABULARY_MAX_AGE; (0, None) on a store without papers."""
    latest = store.latest_vocabulary()
    if latest is not None and now - latest[2] < VOCABULARY_MAX_AGE:
        return latest[0], recommend.Keywords.from_bytes(latest[1])
    papers = store.newest_papers(limit=VOCABULARY_SIZE)
    try:
        keywords = recommend.Keywords.fit(recommend.paper_words(p) for p in papers)
    except ValueError:  # no paper, or none with a word
        return (latest[0], recommend.Keywords.from_bytes(latest[1])) if latest else (0, None)
    return store.put_vocabulary(keywords.to_bytes(), now=now), keywords


def _vector_model(store: Store) -> str | None:
    """The embedding model search uses (all-MiniLM-L6-v2, whatever build); None before any vector."""
    models = [m for m in store.embedding_models() if m.startswith(MODEL_NAME)]
    return max(models, key=store.embedding_count) if models else None


def _papers(store: Store, arxiv_ids: Sequence[str]) -> list[Paper]:
    found = store.get_papers(arxiv_ids) if arxiv_ids else {}
    return [found[i] for i in arxiv_ids if i in found]


def _features(store: Store, papers: list[Paper], keywords: recommend.Keywords,
              vector_model: str | None) -> recommend.Features:
    vectors = {}
    if vector_model is not None and papers:
        row_ids = store.paper_ids(p.arxiv_id for p in papers)
        by_row = store.get_embeddings(vector_model, row_ids.values())
        vectors = {arxiv_id: by_row[row] for arxiv_id, row in row_ids.items() if row in by_row}
    return recommend.Features.build(papers, vectors, keywords)


def _subset(features: recommend.Features, rows: np.ndarray) -> recommend.Features:
    return recommend.Features(tuple(features.arxiv_ids[r] for r in rows), features.vectors[rows],
                              features.has_vector[rows], features.keywords[rows])


def _excluding(model: recommend.UserModel, arxiv_ids: list[str]) -> recommend.UserModel:
    return replace(model, excluded_ids=model.excluded_ids | frozenset(arxiv_ids))


def _stored(found: list[recommend.Recommendation]) -> list[StoredRecommendation]:
    return [StoredRecommendation(r.arxiv_id, r.score, r.because_id) for r in found]
