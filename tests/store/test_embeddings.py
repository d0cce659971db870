"""The vector cursor (embed_seq) that in-process vector indexes follow, on both engines."""

import numpy as np

from paperwire.papers import text_hash
from tests.conftest import make_paper


def _vector(value: float) -> np.ndarray:
    return np.full(384, value, dtype=np.float32)


def _embed(store, arxiv_ids, value: float) -> int:
    """Give the papers `arxiv_ids` the vector full of `value`; returns rows written."""
    papers = store.get_papers(arxiv_ids)
    ids = store.paper_ids(arxiv_ids)
    return store.put_embeddings("m", [(ids[a], text_hash(papers[a]), _vector(value)) for a in arxiv_ids])


def test_changed_vectors_come_in_write_order_after_a_cursor(store):
    assert store.last_embed_seq() == 0
    ids, vectors, seq = store.embeddings_changed_since("m", 0)
    assert ids.tolist() == [] and len(vectors) == 0 and seq == 0
    store.upsert_papers([make_paper(arxiv_id=f"2503.0000{i}") for i in range(1, 4)], source="t")
    row = store.paper_ids(["2503.00001", "2503.00002", "2503.00003"])
    _embed(store, ["2503.00002", "2503.00001"], 1.0)
    first = store.last_embed_seq()
    ids, vectors, seq = store.embeddings_changed_since("m", 0)
    assert ids.tolist() == [row["2503.00002"], row["2503.00001"]] and seq == first
    assert vectors.dtype == np.float32 and vectors.shape == (2, 384)

    # a re-embedded paper comes again, after the cursor; nothing before it does
    store.upsert_papers([make_paper(arxiv_id="2503.00001", version=2, abstract="Changed.")], source="t")
    _embed(store, ["2503.00001", "2503.00003"], 2.0)
    ids, vectors, seq = store.embeddings_changed_since("m", first)
    assert ids.tolist() == [row["2503.00001"], row["2503.00003"]] and seq == store.last_embed_seq() > first
    assert vectors[0].tolist() == [2.0] * 384
    ids, _, again = store.embeddings_changed_since("m", seq)
    assert ids.tolist() == [] and again == seq
    assert store.embeddings_changed_since("other-model", 0)[0].tolist() == []

    paged, _, cut = store.embeddings_changed_since("m", 0, limit=1)
    assert paged.tolist() == [row["2503.00002"]] and cut < seq


def test_a_refused_vector_takes_no_place_in_the_cursor(store):
    store.upsert_papers([make_paper()], source="t")
    [(row_id, _)] = store.papers_to_embed("m")
    assert store.put_embeddings("m", [(row_id, "stale-hash", _vector(1.0))]) == 0
    assert store.embeddings_changed_since("m", 0)[0].tolist() == []


def test_get_embeddings_by_row_id(store):
    store.upsert_papers([make_paper(arxiv_id="2503.00001"), make_paper(arxiv_id="2503.00002")], source="t")
    _embed(store, ["2503.00001"], 0.5)
    row = store.paper_ids(["2503.00001", "2503.00002"])
    found = store.get_embeddings("m", [row["2503.00001"], row["2503.00002"], 999])
    assert list(found) == [row["2503.00001"]] and found[row["2503.00001"]].tolist() == [0.5] * 384
    assert store.get_embeddings("other-model", [row["2503.00001"]]) == {}
    store.delete_papers(["2503.00001"], source="t")
    assert store.get_embeddings("m", [row["2503.00001"]]) == {}
