"""Local upvotes and submissions on both engines: once per user, undoable, exact under
concurrency, and kept apart from Hugging Face's counts; the rows /trending ranks."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from paperwire.feed import DailyEntry
from paperwire.store import open_store
from tests.conftest import make_paper

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
DAY = NOW.date()
# 200 upvotes from this many threads, each with its own store and connection. pgserver's
# default max_connections is 100, so 200 threads with a connection each would be refused.
THREAD_COUNT = 40
UPVOTE_COUNT = 200


def add_users(store, count: int) -> list[int]:
    return [store.create_user(username=f"u{i}", email=f"u{i}@example.org", password_hash="x", now=NOW).id
            for i in range(count)]


def test_an_upvote_counts_once_per_user_and_can_be_taken_back(store):
    ada, bob = add_users(store, 2)
    assert store.upvote(ada, "2601.00001", now=NOW) is True
    assert store.upvote(ada, "2601.00001", now=NOW) is False  # a second click changes nothing
    assert store.upvote(bob, "2601.00001", now=NOW) is True
    assert store.upvote(bob, "2601.00002", now=NOW) is True
    assert store.upvote_count("2601.00001") == 2 and store.upvote_count("2601.99999") == 0
    assert store.upvote_counts(["2601.00001", "2601.00002", "2601.99999"]) == {"2601.00001": 2, "2601.00002": 1}
    assert store.upvoted_by(bob, ["2601.00001", "2601.00002", "2601.00003"]) == {"2601.00001", "2601.00002"}
    assert store.unvote(ada, "2601.00001") is True and store.unvote(ada, "2601.00001") is False
    assert store.upvote_count("2601.00001") == 1 and store.upvoted_by(ada, ["2601.00001"]) == set()


def test_local_upvotes_never_touch_the_imported_counts(store):
    (ada,) = add_users(store, 1)
    store.upsert_daily_entries([DailyEntry(day=DAY, arxiv_id="2601.00001", upvote_count=38)])
    store.upvote(ada, "2601.00001", now=NOW)
    assert store.daily_entries(DAY)[0].upvote_count == 38 and store.upvote_count("2601.00001") == 1


def test_a_paper_is_submitted_to_a_day_once_and_says_by_whom(store):
    ada, bob = add_users(store, 2)
    assert store.submit(DAY, "2601.00001", ada, now=NOW) is True
    assert store.submit(DAY, "2601.00001", bob, now=NOW + timedelta(minutes=1)) is False
    assert store.submit(DAY, "2601.00002", bob, now=NOW + timedelta(minutes=2)) is True
    assert store.submit(DAY + timedelta(days=1), "2601.00001", bob, now=NOW + timedelta(days=1)) is True
    assert [(s.arxiv_id, s.username) for s in store.submissions(DAY)] == [("2601.00001", "u0"), ("2601.00002", "u1")]
    first = store.submissions_for(["2601.00001", "2601.00009"])
    assert list(first) == ["2601.00001"] and first["2601.00001"].username == "u0"
    assert first["2601.00001"].day == DAY and first["2601.00001"].created_at == NOW


def test_trending_rows_hold_each_papers_signals_once(store):
    ada, bob = add_users(store, 2)
    store.upsert_papers([make_paper(arxiv_id="2601.00001", published_at=NOW - timedelta(days=1))], source="test")
    store.upvote(ada, "2601.00001", now=NOW - timedelta(hours=2))
    store.upvote(bob, "2601.00001", now=NOW - timedelta(hours=1))
    store.upvote(ada, "2601.00003", now=NOW - timedelta(days=40))  # before the window: left out
    store.upsert_daily_entries([DailyEntry(day=DAY, arxiv_id="2601.00002", upvote_count=7, github_star_count=12)])
    store.submit(DAY, "2601.00004", ada, now=NOW)
    rows = {r.arxiv_id: r for r in store.trending_rows(since=NOW - timedelta(days=30))}
    assert sorted(rows) == ["2601.00001", "2601.00002", "2601.00004"]
    assert rows["2601.00001"].upvoted_at == (NOW - timedelta(hours=2), NOW - timedelta(hours=1))
    assert rows["2601.00001"].published_at == NOW - timedelta(days=1)
    hf = rows["2601.00002"]
    assert (hf.hf_upvote_count, hf.github_star_count, hf.upvoted_at) == (7, 12, ())
    assert hf.hf_listed_at == datetime(2026, 6, 1, tzinfo=timezone.utc)


def _concurrent_upvotes(url: str, votes: list[tuple[int, str]]) -> list[bool]:
    """Each of THREAD_COUNT threads opens its own store, waits for the others, then casts
    its share of `votes`; returns what each upvote call answered."""
    stores = [open_store(url) for _ in range(THREAD_COUNT)]
    answers: list[bool] = []
    lock, go = threading.Lock(), threading.Barrier(THREAD_COUNT)

    def cast(store, share):
        go.wait()
        mine = [store.upvote(user_id, arxiv_id, now=NOW) for user_id, arxiv_id in share]
        with lock:
            answers.extend(mine)

    threads = [threading.Thread(target=cast, args=(s, votes[i::THREAD_COUNT])) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    return answers


@pytest.fixture(params=["sqlite", "postgres"])
def committed_url(request, sqlite_url):
    """A URL whose writes commit, so that every thread's connection sees them."""
    return request.getfixturevalue("postgres_database") if request.param == "postgres" else sqlite_url


def test_200_concurrent_upvotes_by_200_users_give_200_and_by_one_user_give_1(committed_url):
    setup = open_store(committed_url)
    users = add_users(setup, UPVOTE_COUNT)
    answers = _concurrent_upvotes(committed_url, [(u, "2601.00001") for u in users])
    assert len(answers) == UPVOTE_COUNT and all(answers)
    assert setup.upvote_count("2601.00001") == UPVOTE_COUNT
    answers = _concurrent_upvotes(committed_url, [(users[0], "2601.00002")] * UPVOTE_COUNT)
    assert answers.count(True) == 1 and setup.upvote_count("2601.00002") == 1
    setup.close()


def test_an_authors_papers_are_found_by_name_newest_first(store):
    from paperwire.papers import Author

    def paper(arxiv_id, day, *names):
        return make_paper(arxiv_id=arxiv_id, authors=tuple(Author(n) for n in names),
                          published_at=datetime(2025, 3, day, tzinfo=timezone.utc))

    store.upsert_papers([
        paper("2503.00001", 1, "Ada Lovelace", "Alan Turing"),
        paper("2503.00002", 5, "ADA  LOVELACE"),
        paper("2503.00003", 3, "Ada Lovelace-Byron"),  # the word matches, the name does not
        paper("2503.00004", 4, "Kurt Gödel"),
        paper("2503.00005", 2, "100%_Ada"),
    ], source="test")
    assert [p.arxiv_id for p in store.papers_by_author("Ada Lovelace")] == ["2503.00002", "2503.00001"]
    assert [p.arxiv_id for p in store.papers_by_author("Kurt Gödel")] == ["2503.00004"]
    assert [p.arxiv_id for p in store.papers_by_author("100%_Ada")] == ["2503.00005"]
    assert store.papers_by_author("Nobody Here") == [] and store.papers_by_author("  ") == []
