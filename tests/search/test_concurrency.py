"""Searches run beside each other and beside the index follower, on published snapshots
(issue #15: one lock held for a whole search let two slow searches stall eight others)."""

import threading

import pytest

from paperwire.search import search
from paperwire.search.service import CATCH_UP_BATCH_CHANGES, SearchService
from paperwire.store import open_store
from tests.conftest import make_paper

PAPER_COUNT = CATCH_UP_BATCH_CHANGES * 3 + 250  # several batches, the last one partial
READERS = 4


@pytest.fixture
def store(sqlite_url):
    """SQLite alone: the indexes are the same on either engine, and the PostgreSQL tests'
    rollback would leave its change sequence thousands ahead for the tests after this one."""
    opened = open_store(sqlite_url)
    yield opened
    opened.close()


def test_searches_never_see_a_half_applied_batch(store, tmp_path):
    service = SearchService(tmp_path)
    service.search(store, "common")  # opened, empty
    store.upsert_papers([make_paper(arxiv_id=f"2501.{i:05d}", title=f"Common paper {i}")
                         for i in range(1, PAPER_COUNT + 1)], source="test")
    # Oracle: each paper is one change, so a snapshot at change_seq c holds exactly the
    # papers whose change is at or before c.
    seqs = sorted(change.change_seq for change in store.changes_since(0, limit=PAPER_COUNT * 2))
    seen, errors, done = [], [], threading.Event()

    def read() -> None:
        try:
            while not done.is_set():
                indexes = service.indexes
                page = search(store, indexes, "common", limit=5)
                seen.append((indexes.lexical.change_seq, page.keyword_count, len(indexes.lexical)))
                service.search(store, "paper", limit=5)  # the service's own path, beside the follower
        except Exception as error:  # noqa: BLE001 -- reported below, with the thread's view
            errors.append(error)

    readers = [threading.Thread(target=read) for _ in range(READERS)]
    for thread in readers:
        thread.start()
    try:
        assert service.catch_up(store) == 0
    finally:
        done.set()
        for thread in readers:
            thread.join()
    assert not errors, errors
    expected = {seq: at for at, seq in enumerate(seqs, start=1)}
    expected[0] = 0
    wrong = [(seq, count) for seq, count, size in seen if count != expected[seq] or size != count]
    assert not wrong, wrong[:5]
    assert len({seq for seq, _, _ in seen}) >= 2  # the readers did see the batches come in
    assert search(store, service.indexes, "common").keyword_count == PAPER_COUNT
