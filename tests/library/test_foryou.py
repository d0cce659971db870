"""The recommend job's domain function on both engines: a small hand-built library with a
known right order, saved and dismissed papers never recommended, retraining only when a
library changes, and new papers scored incrementally against the kept model."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from paperwire.library import foryou
from paperwire.papers import text_hash
from paperwire.search.embed import MODEL_NAME
from tests.conftest import make_paper

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
VECTOR_MODEL = f"{MODEL_NAME}:test"


def unit(*weights: float) -> np.ndarray:
    vector = np.zeros(384, dtype=np.float32)
    vector[:len(weights)] = weights
    return vector / np.linalg.norm(vector)


# (arxiv id, title, vector): the saved paper is about protein folding; the candidates are
# ever further from it in words and in meaning, so their right order is known.
SAVED = ("2601.00001", "Protein folding with deep learning", unit(1, 0, 0))
CANDIDATES = [
    ("2601.00002", "Protein folding structure prediction with deep learning", unit(0.95, 0.3, 0)),
    ("2601.00003", "Protein design by sequence models", unit(0.6, 0.8, 0)),
    ("2601.00004", "Graph neural networks for molecules", unit(0.2, 1, 0.1)),
    ("2601.00005", "Stock market prices and interest rates", unit(0, 0.1, 1)),
]


def add(store, papers, *, day: int = 1) -> None:
    made = [make_paper(arxiv_id=a, title=t, abstract=t + ".", published_at=NOW - timedelta(days=30 - day))
            for a, t, _ in papers]
    store.upsert_papers(made, source="test")
    rows = store.paper_ids(p.arxiv_id for p in made)
    store.put_embeddings(VECTOR_MODEL, [(rows[p.arxiv_id], text_hash(p), v) for p, (_, _, v) in zip(made, papers)])


def user(store, name: str = "ada") -> int:
    return store.create_user(username=name, email=f"{name}@example.org", password_hash="x", now=NOW).id


def test_nothing_to_do_without_a_library(store):
    add(store, [SAVED, *CANDIDATES])
    user(store)
    assert foryou.refresh(store, now=NOW) is None


def test_one_saved_paper_gives_the_known_order_and_each_says_why(store):
    add(store, [SAVED, *CANDIDATES])
    ada = user(store)
    store.save(ada, store.default_collection(ada, now=NOW).id, SAVED[0], now=NOW)
    assert foryou.refresh(store, now=NOW) == "retrained 1 user models, scored 0 new papers"
    found = store.recommendations(ada)
    assert [r.arxiv_id for r in found] == [c[0] for c in CANDIDATES]
    assert {r.because_id for r in found} == {SAVED[0]}
    assert foryou.refresh(store, now=NOW) is None  # nothing changed: nothing recomputed


def test_saved_and_dismissed_papers_never_come_back(store):
    add(store, [SAVED, *CANDIDATES])
    ada = user(store)
    collection = store.default_collection(ada, now=NOW)
    store.save(ada, collection.id, SAVED[0], now=NOW)
    store.save(ada, collection.id, CANDIDATES[1][0], now=NOW)
    store.dismiss(ada, CANDIDATES[0][0], now=NOW)
    store.save(ada, collection.id, "2601.09999", now=NOW)  # a paper the store does not hold
    foryou.refresh(store, now=NOW)
    shown = [r.arxiv_id for r in store.recommendations(ada)]
    assert shown and set(shown) <= {CANDIDATES[2][0], CANDIDATES[3][0]}
    assert shown[0] == CANDIDATES[2][0]  # nearer the two saved papers than the stock market


def test_new_papers_are_scored_without_retraining(store):
    add(store, [SAVED, *CANDIDATES])
    ada = user(store)
    store.save(ada, store.default_collection(ada, now=NOW).id, SAVED[0], now=NOW)
    foryou.refresh(store, now=NOW)
    [before] = store.user_models()
    add(store, [("2601.00006", "Protein folding with deep learning at scale", unit(0.99, 0.05, 0))], day=2)
    assert foryou.refresh(store, now=NOW + timedelta(hours=1)) == "retrained 0 user models, scored 1 new papers"
    [after] = store.user_models()
    assert after.model == before.model and after.trained_seq == before.trained_seq  # the same model
    assert after.paper_seq == store.last_change_seq()
    assert [r.arxiv_id for r in store.recommendations(ada)][:2] == ["2601.00006", "2601.00002"]


def test_a_week_old_vocabulary_is_refitted_and_models_retrained_with_it(store):
    add(store, [SAVED, *CANDIDATES])
    ada = user(store)
    store.save(ada, store.default_collection(ada, now=NOW).id, SAVED[0], now=NOW)
    foryou.refresh(store, now=NOW)
    first = store.latest_vocabulary()[0]
    assert foryou.refresh(store, now=NOW + foryou.VOCABULARY_MAX_AGE) == \
        "retrained 1 user models, scored 0 new papers"
    [model] = store.user_models()
    assert model.vocabulary_seq == store.latest_vocabulary()[0] != first
    assert [r.arxiv_id for r in store.recommendations(ada)] == [c[0] for c in CANDIDATES]


def test_a_library_emptied_keeps_no_recommendations(store):
    add(store, [SAVED, *CANDIDATES])
    ada = user(store)
    store.save(ada, store.default_collection(ada, now=NOW).id, SAVED[0], now=NOW)
    foryou.refresh(store, now=NOW)
    store.unsave(ada, SAVED[0])
    foryou.refresh(store, now=NOW)
    assert store.recommendations(ada) == [] and store.user_models()[0].model is None


def test_a_paper_scored_by_words_is_scored_again_when_its_vector_arrives(store):
    """Scored before it had a vector, a paper in the protein-folding direction ranks by words
    alone; its vector arriving later (a new embed_seq, no new change_seq) rescores it."""
    add(store, [SAVED, *CANDIDATES])
    ada = user(store)
    store.save(ada, store.default_collection(ada, now=NOW).id, SAVED[0], now=NOW)
    foryou.refresh(store, now=NOW)
    late = make_paper(arxiv_id="2601.00007", title="Stock market prices and interest rates again",
                      abstract="Stock market prices.", published_at=NOW - timedelta(days=27))
    store.upsert_papers([late], source="test")
    assert foryou.refresh(store, now=NOW + timedelta(hours=1)) == "retrained 0 user models, scored 1 new papers"
    by_words = store.recommendations(ada)
    rank_by_words = [r.arxiv_id for r in by_words].index("2601.00007")
    assert rank_by_words > 0  # below the protein papers: its words are the stock market's
    [before] = store.user_models()
    row = store.paper_ids([late.arxiv_id])[late.arxiv_id]
    store.put_embeddings(VECTOR_MODEL, [(row, text_hash(late), unit(1, 0, 0))])  # the saved paper's meaning
    assert store.last_change_seq() == before.paper_seq  # the change log says nothing new
    assert foryou.refresh(store, now=NOW + timedelta(hours=2)) == "retrained 0 user models, scored 1 new papers"
    with_vector = store.recommendations(ada)
    assert [r.arxiv_id for r in with_vector].index("2601.00007") < rank_by_words
    score = {r.arxiv_id: r.score for r in with_vector}["2601.00007"]
    assert score > {r.arxiv_id: r.score for r in by_words}["2601.00007"]
    assert foryou.refresh(store, now=NOW + timedelta(hours=3)) is None  # scored once, not every run
