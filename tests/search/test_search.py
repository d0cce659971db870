"""search() and similar() on a real SQLite store holding the ten papers of conftest.py."""

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from paperwire.papers import Author, text_hash
from paperwire.search import Filters, Indexes, search, similar, sync
from paperwire.store import open_store
from tests.conftest import make_paper
from tests.search.conftest import PAPERS


def as_paper(fields, number):
    day = fields.day
    return make_paper(
        arxiv_id=f"2501.{number:05d}", title=fields.title, abstract=fields.abstract,
        authors=tuple(Author(name) for name in fields.authors), categories=fields.categories,
        primary_category=fields.categories[0],
        published_at=datetime(day.year, day.month, day.day, tzinfo=timezone.utc),
        code_url="https://github.com/example/code" if fields.has_code else None, versions=(),
    )


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path}/paperwire.db")
    s.upsert_papers([as_paper(p, p.paper_id) for p in PAPERS], source="test")
    yield s
    s.close()


def titles(page):
    return [hit.paper.title for hit in page.hits]


def test_keyword_search_end_to_end(store, tmp_path):
    indexes = Indexes.open(tmp_path / "indexes")
    assert sync(store, indexes) == 10
    page = search(store, indexes, "diffusion")
    assert titles(page) == ["Denoising diffusion probabilistic models"]
    hit = page.hits[0]
    assert (hit.keyword_rank, hit.meaning_rank, hit.matched_words) == (1, None, ("diffusion",))
    assert hit.why == "keywords: diffusion"


def test_phrases_exclusions_filters_and_sort(store, tmp_path):
    indexes = Indexes.open(tmp_path)
    sync(store, indexes)
    assert titles(search(store, indexes, '"language models"')) == [
        "A survey of large language models", "Language models are few-shot learners",
    ]  # BERT has both words, not side by side
    assert titles(search(store, indexes, '"language models" -survey')) == ["Language models are few-shot learners"]
    assert titles(search(store, indexes, "attention", filters=Filters(year_to=2016))) == [
        "Neural machine translation by jointly learning to align and translate"
    ]
    newest = search(store, indexes, "attention", sort="newest")
    assert [h.paper.published_at.year for h in newest.hits] == [2021, 2017, 2017, 2014]
    browse = search(store, indexes, "cat:cs.CL has:code")
    assert titles(browse) == ["Attention is all you need"]
    assert browse.hits[0].why == "matches the filters"
    with pytest.raises(ValueError, match="'oldest'"):
        search(store, indexes, "attention", sort="oldest")


def test_paging(store, tmp_path):
    indexes = Indexes.open(tmp_path)
    sync(store, indexes)
    everything = titles(search(store, indexes, "attention", limit=10))
    assert titles(search(store, indexes, "attention", limit=2, offset=1)) == everything[1:3]
    assert search(store, indexes, "attention", limit=2, offset=50).hits == []


def test_sync_follows_updates_and_deletions(store, tmp_path):
    indexes = Indexes.open(tmp_path / "indexes")
    sync(store, indexes)
    indexes.save()
    changed = replace(as_paper(PAPERS[3], 4), title="Score-based generative modeling", version=2)
    store.upsert_papers([changed], source="test")
    store.delete_papers(["2501.00008"], source="test")
    reopened = Indexes.open(tmp_path / "indexes")  # carries on from the saved change_seq
    assert sync(store, reopened) == 2
    assert titles(search(store, reopened, "generative")) == ["Score-based generative modeling"]
    assert "Language models are few-shot learners" not in titles(search(store, reopened, "language"))
    assert sync(store, reopened) == 0


def embed_all(store, embedder):
    todo = store.papers_to_embed(embedder.model_id, limit=100)
    vectors = embedder.embed_documents([f"{p.title}. {p.abstract}" for _, p in todo])
    store.put_embeddings(embedder.model_id, [(pid, text_hash(p), v) for (pid, p), v in zip(todo, vectors)])


def test_hybrid_search_and_similar(store, tmp_path, embedder):
    embed_all(store, embedder)
    indexes = Indexes.open(tmp_path, embedder=embedder)
    sync(store, indexes)
    assert len(indexes.vectors) == 10
    page = search(store, indexes, "generating pictures by reversing a noising process")
    assert page.hits[0].paper.title == "Denoising diffusion probabilistic models"
    assert page.hits[0].meaning_rank == 1
    ddpm_id = store.paper_ids(["2501.00004"])["2501.00004"]
    nearest = similar(store, indexes, ddpm_id, limit=3)
    assert len(nearest) == 3 and all(h.paper_id != ddpm_id for h in nearest)
    assert similar(store, indexes, 10_000) == []


def test_vectors_follow_new_embeddings_and_deletions(store, tmp_path, embedder):
    embed_all(store, embedder)
    indexes = Indexes.open(tmp_path, embedder=embedder)
    sync(store, indexes)
    cursor = indexes.vectors.change_seq
    changed = replace(as_paper(PAPERS[6], 7), abstract="Adaptive moment estimates for neural network training.",
                      version=2)
    store.upsert_papers([changed], source="test")
    store.delete_papers(["2501.00001"], source="test")
    embed_all(store, embedder)
    sync(store, indexes)
    assert indexes.vectors.change_seq > cursor
    assert len(indexes.vectors) == 9
    assert store.paper_ids(["2501.00001"]).get("2501.00001") not in indexes.vectors


@pytest.mark.parametrize("rank, why", [(1, "keywords (#1)"), (1_000, "keywords (#1000)"),
                                       (1_001, "keywords (below #1,000)")])
def test_a_keyword_rank_past_the_exact_depth_reads_as_a_bound(rank, why):
    """Ranks are exact down to RANK_DEPTH; past it the engine gives RANK_DEPTH + 1, a lower
    bound, which the reason must not show as if it were the rank (here the words matched
    where the page does not look for them, so none is named)."""
    from paperwire.search.engine import RANK_DEPTH, _hit
    from paperwire.search.query import parse

    assert RANK_DEPTH == 1_000
    hit = _hit(1, make_paper(title="Unrelated", abstract="Nothing here."), 0.5, parse("quantum"), rank, 3)
    assert hit.why == f"{why} · similar meaning (#3)"
