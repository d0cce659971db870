"""Kept pages (web/pagecache.py): what a reader who is not signed in gets from the cache,
when a vote, a comment or a new paper shows, and what a signed-in reader never gets."""

from __future__ import annotations

import contextlib
import re
import threading
from datetime import date, datetime, timezone

import pytest
from starlette.testclient import TestClient

from paperwire import discussion
from paperwire.feed import DailyEntry
from paperwire.web import csrf, pagecache
from tests.conftest import make_paper
from tests.web.test_accounts import add_user, log_in, session_cookie, token_of

DAY = date(2025, 3, 1)
ARXIV_ID = "2503.00001"
NOW = datetime(2025, 3, 2, tzinfo=timezone.utc)


@pytest.fixture
def client(client, store):
    store.upsert_papers([make_paper(arxiv_id=ARXIV_ID)], source="test")
    store.upsert_daily_entries([DailyEntry(day=DAY, arxiv_id=ARXIV_ID, upvote_count=38)])
    return client


def local_count(html: str) -> int:
    return int(re.search(r"▲ (\d+) here", html).group(1))


def without_tokens(html: str) -> str:
    """A page less each visitor's own CSRF token."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html)


@contextlib.contextmanager
def being_made(cache: pagecache.PageCache, key):
    """While this block runs, another reader is making `key`'s page, slowly: it holds the maker's lock."""
    making, done = threading.Event(), threading.Event()

    def remake():
        with cache.one_maker(key) as is_maker:
            assert is_maker
            making.set()
            done.wait(10)

    maker = threading.Thread(target=remake)
    maker.start()
    making.wait(10)
    try:
        yield
    finally:
        done.set()
        maker.join()


def fresh(client) -> TestClient:
    """Another visitor of the same app: no cookie yet."""
    return TestClient(client.app, follow_redirects=False)


def test_a_visitors_second_view_is_the_kept_page_with_their_own_token(client):
    cache = client.app.state.page_cache
    first = client.get(f"/day/{DAY}")
    second = client.get(f"/day/{DAY}")
    assert cache.miss_count == 1 and cache.hit_count == 1
    assert first.text == second.text and first.headers["etag"] == second.headers["etag"]
    assert token_of(second) == csrf.csrf_token(client.app.state.secret_key, session_cookie(client))
    assert pagecache.FORM_TOKEN_PLACEHOLDER not in second.text
    other = fresh(client)
    third = other.get(f"/day/{DAY}")  # kept, but with the other visitor's own session and token
    assert cache.hit_count == 2 and "paperwire_session" in third.cookies
    assert token_of(third) == csrf.csrf_token(client.app.state.secret_key, session_cookie(other))
    assert token_of(third) != token_of(second) and third.headers["etag"] != second.headers["etag"]


def test_headers_say_what_is_true_and_a_matching_etag_is_304(client):
    day = client.get(f"/day/{DAY}")  # holds the digest box's token: for this visitor only
    assert day.headers["cache-control"] == "private, no-cache" and day.headers["vary"] == "Cookie"
    again = client.get(f"/day/{DAY}", headers={"If-None-Match": day.headers["etag"]})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == day.headers["etag"]
    paper = client.get(f"/paper/{ARXIV_ID}")  # the same for every visitor
    assert paper.headers["cache-control"] == "no-cache" and paper.headers["vary"] == "Cookie"
    assert "content-security-policy" in paper.headers
    assert client.get(f"/paper/{ARXIV_ID}", headers={"If-None-Match": 'W/"x", ' + paper.headers["etag"]}
                      ).status_code == 304
    assert client.get(f"/paper/{ARXIV_ID}", headers={"If-None-Match": '"other"'}).status_code == 200


def test_a_vote_a_comment_and_a_new_paper_show_on_the_next_anonymous_view(client, store):
    reader = fresh(client)
    assert local_count(reader.get(f"/day/{DAY}").text) == 0
    user = add_user(store, "ada")
    store.upvote(user.id, ARXIV_ID, now=NOW)  # any process's write moves the store's marker
    assert local_count(reader.get(f"/day/{DAY}").text) == 1
    store.add_comment(ARXIV_ID, user.id, body="Kept pages", body_html=discussion.render("Kept pages"),
                      render_version=discussion.RENDER_VERSION, now=NOW)
    assert "Kept pages" in reader.get(f"/paper/{ARXIV_ID}").text
    store.upsert_papers([make_paper(arxiv_id="2503.00002", title="A second paper")], source="test")
    assert "A second paper" in reader.get(f"/day/{DAY}").text


def test_a_kept_page_is_made_again_after_its_max_age(client):
    now = [0.0]
    cache = client.app.state.page_cache = pagecache.PageCache(clock=lambda: now[0])
    client.get("/week/2025-W09")
    now[0] = pagecache.MAX_AGE_SECONDS - 1
    client.get("/week/2025-W09")
    assert (cache.miss_count, cache.hit_count) == (1, 1)
    now[0] = pagecache.MAX_AGE_SECONDS + 1  # nothing written, but trending fades with the clock
    client.get("/week/2025-W09")
    assert (cache.miss_count, cache.hit_count) == (2, 1)


def test_the_status_page_is_kept_for_its_own_shorter_age(client, store):
    """It shows this process's jobs, which change without a write: made again after
    STATUS_MAX_AGE_SECONDS, and after a write at once (a failed job run shows)."""
    from paperwire.web.pages import STATUS_MAX_AGE_SECONDS

    now = [0.0]
    cache = client.app.state.page_cache = pagecache.PageCache(clock=lambda: now[0])
    client.get("/status")
    now[0] = STATUS_MAX_AGE_SECONDS - 1
    client.get("/status")
    assert (cache.miss_count, cache.hit_count) == (1, 1)
    now[0] = STATUS_MAX_AGE_SECONDS + 1
    client.get("/status")
    assert (cache.miss_count, cache.hit_count) == (2, 1)
    run_id = store.start_job_run("harvest", now=NOW)
    store.finish_job_run(run_id, status="failed", summary="the feed answered 503", now=NOW)
    assert "the feed answered 503" in client.get("/status").text


def test_while_a_reader_remakes_an_old_page_the_others_get_it_at_once(client):

    now = [0.0]
    cache = client.app.state.page_cache = pagecache.PageCache(clock=lambda: now[0])
    first = client.get("/trending?window=week").text
    (key,) = cache._pages._items  # the page as kept, under the store's change marker
    now[0] = pagecache.MAX_AGE_SECONDS + 1  # old by the clock only
    with being_made(cache, key):
        page = fresh(client).get("/trending?window=week")  # the maker holds its lock: not held up
        assert page.status_code == 200 and without_tokens(page.text) == without_tokens(first)
        assert (cache.miss_count, cache.stale_count) == (1, 1)
    fresh(client).get("/trending?window=week")  # no one making it: this reader does
    assert (cache.miss_count, cache.stale_count) == (2, 1)


def test_after_a_write_readers_get_the_page_from_before_it_only_while_one_makes_the_new_one(client, store):

    cache = client.app.state.page_cache
    before = client.get(f"/day/{DAY}").text
    store.upsert_papers([make_paper(arxiv_id="2503.00002", title="A second paper")], source="test")
    key = (f"/day/{DAY}", "", store.change_marker(), client.app.state.search.state)  # as pagecache.kept makes it
    with being_made(cache, key):
        meanwhile = fresh(client).get(f"/day/{DAY}")  # not held up: the version from before the write
        assert meanwhile.status_code == 200 and "A second paper" not in meanwhile.text
        assert without_tokens(meanwhile.text) == without_tokens(before) and cache.stale_count == 1
    after = fresh(client).get(f"/day/{DAY}")  # nobody making it: this reader does, and sees the write
    assert "A second paper" in after.text and cache.stale_count == 1


def test_a_page_is_never_given_for_another_address(client):
    cache = client.app.state.page_cache
    client.get(f"/day/{DAY}")
    assert cache.latest(("/week/2025-W09", "", 0, None)) is None
    assert cache.latest((f"/day/{DAY}", "page=2", 0, None)) is None
    assert cache.latest((f"/day/{DAY}", "", -1, None)) is not None  # any marker: the address's latest


def test_a_page_past_its_stale_time_is_made_again_by_whoever_asks(client):
    now = [0.0]
    cache = client.app.state.page_cache = pagecache.PageCache(clock=lambda: now[0])
    client.get("/trending?window=week")
    now[0] = pagecache.MAX_AGE_SECONDS + pagecache.STALE_SECONDS + 1
    assert cache.get(next(iter(cache._pages._items)), stale_seconds=pagecache.STALE_SECONDS) is None
    client.get("/trending?window=week")
    assert (cache.miss_count, cache.stale_count) == (2, 0)


def test_a_signed_in_reader_is_never_served_a_kept_page(client, store):
    cache = client.app.state.page_cache
    fresh(client).get(f"/day/{DAY}")
    fresh(client).get(f"/day/{DAY}")
    kept_before = (cache.miss_count, cache.hit_count)
    add_user(store, "ada")
    log_in(client, "ada")
    page = client.get(f"/day/{DAY}")
    assert (cache.miss_count, cache.hit_count) == kept_before  # not even looked up
    assert '<a href="/settings/password">ada</a>' in page.text and '<form class="upvote"' in page.text
    assert page.headers["cache-control"] == "private, no-cache"
    assert token_of(page) == csrf.csrf_token(client.app.state.secret_key, session_cookie(client))


def test_errors_and_other_routes_are_not_kept(client):
    cache = client.app.state.page_cache
    assert client.get("/day/2025-03-01?page=9").status_code == 404
    assert client.get("/paper/2503.00001v1").status_code == 301
    client.get("/search?q=placeholder")
    client.get("/search?q=placeholder")
    assert cache.hit_count == 0 and len(cache._pages) == 0


def test_readers_who_miss_a_page_at_once_wait_for_one_of_them_to_make_it(client):
    # A thundering herd: when a kept page runs out, every reader at that moment would make it.

    cache = client.app.state.page_cache
    barrier, statuses = threading.Barrier(16), []

    def read():
        barrier.wait()
        statuses.append(client.get(f"/day/{DAY}").status_code)

    readers = [threading.Thread(target=read) for _ in range(16)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert statuses == [200] * 16
    assert (cache.miss_count, cache.hit_count) == (1, 15)


def test_one_maker_lets_one_reader_in_at_a_time_per_page():
    import time

    cache, order = pagecache.PageCache(), []

    def make(name, key, hold):
        with cache.one_maker(key) as is_maker:
            assert is_maker  # each waited its turn
            order.append(f"{name} in")
            time.sleep(hold)
            order.append(f"{name} out")

    first = threading.Thread(target=make, args=("a", "page", 0.2))
    first.start()
    time.sleep(0.05)
    other_page = threading.Thread(target=make, args=("c", "other", 0))  # another page is not held up
    same_page = threading.Thread(target=make, args=("b", "page", 0))
    other_page.start(), same_page.start()
    for thread in (first, other_page, same_page):
        thread.join()
    assert order.index("b in") > order.index("a out")
    assert order.index("c out") < order.index("a out")
    assert cache._makers == {}
