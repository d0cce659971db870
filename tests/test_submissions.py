"""The submission rule: an id or URL, an unknown paper fetched first, recent papers only,
once a day. `fetch` gets the recorded arXiv answer parsed as the real source parses it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from paperwire import submissions
from paperwire.sources import FetchError, arxiv_api
from paperwire.store import open_store
from tests.conftest import make_paper

BY_ID = (Path(__file__).parent / "data" / "arxiv_api_by_id.xml").read_bytes()  # 2501.00005, 2 Jan 2025
EMPTY = (Path(__file__).parent / "data" / "arxiv_api_empty.xml").read_bytes()
NOW = datetime(2025, 1, 10, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(sqlite_url):
    s = open_store(sqlite_url)
    s.user_id = s.create_user(username="ada", email="ada@example.org", password_hash="x", now=NOW).id
    yield s
    s.close()


def fetcher(body: bytes, asked: list):
    def fetch(arxiv_id: str):
        asked.append(arxiv_id)
        return [arxiv_api.parse(body)]
    return fetch


def submit(store, text, *, body=BY_ID, asked=None, now=NOW, window_days=14):
    return submissions.submit(store, text, user_id=store.user_id, now=now, window_days=window_days,
                              fetch=fetcher(body, [] if asked is None else asked))


def test_an_unknown_recent_paper_is_fetched_stored_and_submitted(store):
    asked = []
    result = submit(store, "https://arxiv.org/abs/2501.00005v1", asked=asked)
    assert (result.outcome, result.arxiv_id, asked) == ("submitted", "2501.00005", ["2501.00005"])
    assert store.get_paper("2501.00005").title == "The Last Placeholder"
    assert [(s.arxiv_id, s.username, s.day) for s in store.submissions(NOW.date())] == [("2501.00005", "ada", NOW.date())]
    again = submit(store, "2501.00005", asked=asked)
    assert again.outcome == "already-submitted" and asked == ["2501.00005"]  # known now: not fetched again


def test_a_known_paper_is_not_fetched(store):
    store.upsert_papers([make_paper(arxiv_id="2501.00001", published_at=NOW - timedelta(days=1))], source="test")
    asked = []
    assert submit(store, "2501.00001", asked=asked).is_submitted and asked == []


@pytest.mark.parametrize("text, body, window_days, outcome, words", [
    ("not an id", BY_ID, 14, "invalid-id", "is not an arXiv id"),
    ("2501.00005", EMPTY, 14, "not-found", "arXiv has no paper 2501.00005"),
    ("2501.00005", BY_ID, 7, "too-old", "more than 7 days ago"),
])
def test_a_refused_submission_says_why_and_changes_no_list(store, text, body, window_days, outcome, words):
    result = submit(store, text, body=body, window_days=window_days)
    assert result.outcome == outcome and words in result.message and not result.is_submitted
    assert store.submissions(NOW.date()) == []


def test_a_failed_fetch_is_an_outcome(store):
    def fetch(arxiv_id):
        raise FetchError("arXiv answered 503 three times")

    result = submissions.submit(store, "2501.00005", user_id=store.user_id, now=NOW, window_days=14, fetch=fetch)
    assert result.outcome == "fetch-failed" and "try again later" in result.message
