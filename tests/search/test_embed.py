import numpy as np
import pytest

from paperwire.search import embed
from paperwire.search.embed import DIMENSION, ensure_graph, source_model_path


def test_vectors_are_unit_length_with_the_model_dimension(embedder):
    vectors = embedder.embed_documents(["Graph neural networks for molecules.", "", "x " * 2000])
    assert vectors.shape == (3, DIMENSION) == (3, embedder.dim)
    assert vectors.dtype == np.float32
    assert np.linalg.norm(vectors, axis=1) == pytest.approx(1.0, abs=1e-5)
    assert embedder.embed_documents([]).shape == (0, DIMENSION)


def test_a_paraphrase_is_nearer_than_an_unrelated_sentence(embedder):
    query = embedder.embed_query("How do vaccines train the immune system?")
    paraphrase, unrelated = embedder.embed_documents(
        ["Vaccination teaches the body's immune defences to recognise a pathogen.",
         "The stock market fell sharply on Tuesday."]
    )
    assert query @ paraphrase > query @ unrelated + 0.3


def test_batching_and_length_sorting_keep_rows_in_order(embedder):
    texts = ["short", "a somewhat longer sentence about protein folding", "mid length text"]
    together = embedder.embed_documents(texts, batch_size=2)
    alone = np.stack([embedder.embed_query(t) for t in texts])
    # Not bit-identical: dynamic int8 quantisation scales activations per batch
    # (cosine 0.994-0.999 on SciFact abstracts, docs/search.md).
    assert np.sum(together * alone, axis=1) == pytest.approx(1.0, abs=0.03)


def test_a_query_vector_is_kept_read_only_and_the_oldest_forgotten(embedder, monkeypatch):
    monkeypatch.setattr(embed, "QUERY_VECTORS_KEPT", 2)
    embedder._query_vectors.clear()
    first = embedder.embed_query("protein folding")
    assert np.array_equal(first, embedder.embed_documents(["protein folding"])[0])
    assert embedder.embed_query("protein folding") is first  # kept, not embedded again
    with pytest.raises(ValueError):
        first[0] = 1.0  # shared by every search of these words: nobody may change it
    embedder.embed_query("graph neural networks")
    embedder.embed_query("protein folding")  # used again: now the newest
    embedder.embed_query("diffusion models")
    assert list(embedder._query_vectors) == ["protein folding", "diffusion models"]


def test_model_id_names_graph_and_length(embedder):
    assert embedder.model_id.startswith("all-MiniLM-L6-v2:")
    assert f":{embedder.max_tokens}:" in embedder.model_id


def test_cached_graph_is_reused(embedder, model_cache):
    (first,) = model_cache.iterdir()  # built by the embedder fixture; no scratch files left
    stamp = first.stat().st_mtime_ns
    assert ensure_graph(source_model_path(), model_cache) == first
    assert first.stat().st_mtime_ns == stamp
