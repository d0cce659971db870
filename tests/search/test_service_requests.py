"""Where the index job runs, a search never does index work in the request: it reads the
published snapshot until the job applies the store's changes (issue #15)."""

from paperwire.search.service import SearchService
from tests.conftest import make_paper, paper_of
from tests.search.conftest import PAPERS


def test_a_followed_service_searches_its_snapshot_until_the_job_catches_up(store, tmp_path):
    store.upsert_papers([paper_of(p) for p in PAPERS], source="test")
    service = SearchService(tmp_path)
    assert service.keep_current(store) is not None  # the job's first pass builds the indexes
    before = service.search(store, "attention").page.total_count
    store.upsert_papers([make_paper(arxiv_id="2502.00001", title="Attention again")], source="test")
    assert service.search(store, "attention").page.total_count == before  # not applied by the request
    service.keep_current(store)
    assert service.search(store, "attention").page.total_count == before + 1


def test_without_the_job_a_search_applies_a_small_backlog_itself(store, tmp_path):
    store.upsert_papers([paper_of(p) for p in PAPERS], source="test")
    service = SearchService(tmp_path)  # a CLI search, or an app without its lifespan
    before = service.search(store, "attention").page.total_count
    store.upsert_papers([make_paper(arxiv_id="2502.00001", title="Attention again")], source="test")
    assert service.search(store, "attention").page.total_count == before + 1
