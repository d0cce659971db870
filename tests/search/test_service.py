"""SearchService on a real store (both engines): indexes that follow the store, modes, sorts, similar papers."""

from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from paperwire.search import Filters, pipeline
from paperwire.search.service import SearchService, index_folder
from paperwire.feed import DailyEntry
from paperwire.store import NotFound, open_store
from tests.conftest import make_paper, paper_of
from tests.search.conftest import PAPERS

NOW = datetime(2024, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def corpus(store):
    store.upsert_papers([paper_of(p) for p in PAPERS], source="test")
    return store


def ids(results) -> list[str]:
    """The last two digits of each hit's arXiv id: the paper's number in conftest.PAPERS."""
    return [hit.paper.arxiv_id[-2:] for hit in results.page.hits]


def embed(store, embedder, *, first: int | None = None) -> int:
    """Embed every paper, or only the `first` ones, with the real pipeline."""
    stop = __import__("threading").Event()
    on_batch = (lambda n: stop.set()) if first else None
    return pipeline.embed_pending(store, embedder, batch_size=first or 256, stop=stop, on_batch=on_batch).embedded_count


def test_keyword_search_has_an_exact_order(corpus, tmp_path):
    service = SearchService(tmp_path)
    assert ids(service.search(corpus, "attention")) == ["06", "01", "05", "09"]
    assert ids(service.search(corpus, "language models")) == ["10", "08", "02", "04"]
    assert ids(service.search(corpus, '"language models" -survey')) == ["08"]
    assert ids(service.search(corpus, "attention", filters=Filters(categories=("cs.CL",)))) == ["01", "09"]
    assert ids(service.search(corpus, "attention", sort="newest")) == ["05", "06", "01", "09"]
    hit = service.search(corpus, "diffusion").page.hits[0]
    assert (hit.keyword_rank, hit.meaning_rank, hit.matched_words) == (1, None, ("diffusion",))


def test_the_indexes_follow_ingest_updates_and_deletions(corpus, tmp_path, embedder):
    service = SearchService(tmp_path, embedder=embedder)
    assert ids(service.search(corpus, "diffusion")) == ["04"]
    corpus.upsert_papers([replace(paper_of(PAPERS[3]), title="Score-based generative modeling", version=2)],
                         source="test")
    corpus.delete_papers(["2501.00008"], source="test")
    corpus.upsert_papers([make_paper(arxiv_id="2501.00011", title="Consistency models for fast diffusion")],
                         source="test")
    assert ids(service.search(corpus, "generative")) == ["04"]
    # 04 keeps it in its abstract, a short one, which counts more than 11's title (keywords.TITLE_BOOST)
    assert ids(service.search(corpus, "diffusion")) == ["04", "11"]
    assert "08" not in ids(service.search(corpus, "language", mode="lexical"))

    embed(corpus, embedder)
    assert service.catch_up(corpus) == 0
    vectors = service.indexes.vectors
    assert len(vectors) == 10  # 08 was deleted
    corpus.delete_papers(["2501.00011"], source="test")
    assert service.catch_up(corpus) == 0
    assert len(service.indexes.vectors) == 9  # followed
    assert len(vectors) == 10  # a published snapshot never changes: the catch-up forked it
    assert "11" not in ids(service.search(corpus, "fast diffusion consistency", mode="semantic"))


def test_search_works_by_keywords_before_the_papers_are_embedded(corpus, tmp_path, embedder):
    service = SearchService(tmp_path, embedder=embedder)
    results = service.search(corpus, "diffusion")
    assert ids(results) == ["04"] and not results.is_semantic_ready
    # with nothing embedded yet, "meaning only" falls back to keywords (the page says so)
    assert ids(service.search(corpus, "diffusion", mode="semantic")) == ["04"]

    assert embed(corpus, embedder, first=3) == 3  # papers 01, 02 and 03 have vectors, 04 not yet
    results = service.search(corpus, "diffusion")
    [ddpm] = [hit for hit in results.page.hits if hit.paper.arxiv_id == "2501.00004"]
    assert results.is_semantic_ready and (ddpm.keyword_rank, ddpm.meaning_rank) == (1, None)  # BM25 alone
    assert ids(service.search(corpus, "diffusion", mode="lexical")) == ["04"]
    assert set(ids(service.search(corpus, "diffusion", mode="semantic"))) == {"01", "02", "03"}

    embed(corpus, embedder)
    meaning = service.search(corpus, "generating pictures by reversing a noising process", mode="semantic")
    assert ids(meaning)[0] == "04" and meaning.page.hits[0].meaning_rank == 1


def test_hybrid_finds_by_meaning_what_keywords_miss(corpus, tmp_path, embedder):
    embed(corpus, embedder)
    service = SearchService(tmp_path, embedder=embedder)
    query = "generating pictures by reversing a noising process"
    assert ids(service.search(corpus, query, mode="lexical")) == []
    hybrid = service.search(corpus, query)
    assert ids(hybrid)[0] == "04" and hybrid.page.hits[0].why == "similar meaning (#1)"
    both = service.search(corpus, "attention").page.hits
    assert {h.paper.arxiv_id[-2:] for h in both[:3]} == {"01", "06", "09"}
    assert all(h.keyword_rank and h.meaning_rank for h in both[:3])


def test_saved_indexes_are_reopened_where_they_stopped(corpus, tmp_path):
    first = SearchService(tmp_path)
    first.catch_up(corpus)
    first.save()
    seq = corpus.last_change_seq()
    corpus.upsert_papers([make_paper(arxiv_id="2501.00011", title="Consistency models")], source="test")

    second = SearchService(tmp_path)
    assert second._open(corpus, paper_seq=seq + 1, embed_seq=0).lexical.change_seq == seq  # read from disk
    assert ids(second.search(corpus, "consistency")) == ["11"]
    assert second._indexes.lexical.change_seq == corpus.last_change_seq()


def test_saved_indexes_of_another_store_are_not_used(tmp_path):
    url = f"sqlite:///{tmp_path}/paperwire.db"
    store = open_store(url)
    store.upsert_papers([paper_of(p) for p in PAPERS], source="test")
    service = SearchService(tmp_path / "cache")
    service.catch_up(store)
    service.save()
    folder = index_folder(tmp_path / "cache", store)
    assert index_folder(tmp_path / "cache", store) == folder
    store.close()
    for path in tmp_path.glob("paperwire.db*"):
        path.unlink()
    fresh = open_store(url)  # a new database at the same address
    fresh.upsert_papers([make_paper(arxiv_id="2501.00001", title="Only paper")], source="test")
    assert index_folder(tmp_path / "cache", fresh) != folder
    assert ids(SearchService(tmp_path / "cache").search(fresh, "attention")) == []
    fresh.close()


def test_a_large_backlog_is_left_to_the_background_thread(corpus, tmp_path):
    service = SearchService(tmp_path)
    results = service.search(corpus, "attention")
    assert results.pending_count == 0
    corpus.upsert_papers([make_paper(arxiv_id=f"2502.{i:05d}", title=f"Attention {i}") for i in range(3)],
                         source="test")
    assert service.catch_up(corpus, max_changes=2) == 3
    assert service.search(corpus, "attention").pending_count == 0  # 3 is under REQUEST_CATCH_UP_MAX


def test_trending_ranks_upvotes_decayed_by_age(corpus, tmp_path):
    corpus.upsert_daily_entries([
        DailyEntry(date(2017, 6, 13), "2501.00001", upvote_count=500),
        DailyEntry(date(2021, 7, 16), "2501.00005", upvote_count=3),
    ])
    service = SearchService(tmp_path)
    # 05 (2021, 3 upvotes) beats 01 (2017, 500): four years of 36-hour half-lives
    assert ids(service.search(corpus, "attention", sort="trending", now=NOW)) == ["05", "06", "01", "09"]
    later = service.search(corpus, "attention", sort="trending", now=NOW, limit=2, offset=2)
    assert ids(later) == ["01", "09"] and later.page.total_count == 4


def test_unknown_mode_and_sort_are_refused(corpus, tmp_path):
    service = SearchService(tmp_path)
    with pytest.raises(ValueError, match="'fuzzy'"):
        service.search(corpus, "attention", mode="fuzzy")
    with pytest.raises(ValueError, match="'oldest'"):
        service.search(corpus, "attention", sort="oldest")


def test_similar_papers_by_meaning_then_by_title_words(corpus, tmp_path, embedder):
    service = SearchService(tmp_path, embedder=embedder)
    by_words = service.similar(corpus, "2501.00010")  # no vectors yet: papers sharing title words
    assert [h.paper.arxiv_id for h in by_words] == ["2501.00008", "2501.00002", "2501.00004"]
    assert all(h.keyword_rank and h.meaning_rank is None for h in by_words)
    embed(corpus, embedder)
    twin = replace(paper_of(PAPERS[7]), arxiv_id="2501.00012")  # the same paper under a second id
    corpus.upsert_papers([twin], source="test")
    embed(corpus, embedder)
    hits = service.similar(corpus, "2501.00010", k=4)
    found = [h.paper.arxiv_id for h in hits]
    assert len(found) == 4 and "2501.00010" not in found
    assert found[0] in ("2501.00008", "2501.00012") and not {"2501.00008", "2501.00012"} <= set(found)
    assert all(h.meaning_rank for h in hits)
    corpus.delete_papers([found[0]], source="test")
    assert found[0] not in [h.paper.arxiv_id for h in service.similar(corpus, "2501.00010", k=4)]
    with pytest.raises(NotFound):
        service.similar(corpus, "2501.99999")


def test_the_model_loads_only_once_the_store_has_vectors(corpus, tmp_path, embedder):
    loads = []
    service = SearchService(tmp_path, load_embedder=lambda: loads.append(1) or embedder)
    assert ids(service.search(corpus, "attention")) == ["06", "01", "05", "09"] and loads == []
    embed(corpus, embedder)
    results = service.search(corpus, "attention")
    assert loads == [1] and results.is_semantic_ready and len(service._indexes.vectors) == 10


def test_one_process_writes_the_tantivy_index_and_the_others_follow_its_commits(corpus, tmp_path):
    # Web processes of one store share one index folder; tantivy's lock on it lets one write.
    writer = SearchService(tmp_path)
    assert ids(writer.search(corpus, "diffusion")) == ["04"]
    follower = SearchService(tmp_path)
    assert ids(follower.search(corpus, "diffusion")) == ["04"]  # served from the commit at once
    held = follower.indexes.lexical.fork()
    assert held.begin()  # as if the follower's process were writing now...
    corpus.upsert_papers([make_paper(arxiv_id="2501.00011", title="Consistency models for fast diffusion")],
                         source="test")
    assert ids(writer.search(corpus, "consistency")) == []  # ...so this one cannot write: it follows
    held.commit()  # which lets go
    assert ids(writer.search(corpus, "consistency")) == ["11"]  # it writes the change, and commits it
    assert ids(follower.search(corpus, "consistency")) == ["11"]
    assert follower.indexes.lexical.change_seq == writer.indexes.lexical.change_seq == corpus.last_change_seq()


def test_a_restarted_process_serves_the_committed_tantivy_index_at_once(corpus, tmp_path):
    SearchService(tmp_path).catch_up(corpus)  # committed batch by batch: no save
    restarted = SearchService(tmp_path)
    restarted._open(corpus, paper_seq=corpus.last_change_seq(), embed_seq=0)
    assert len(restarted.indexes.lexical) == 10 and restarted.indexes.lexical.change_seq == corpus.last_change_seq()
