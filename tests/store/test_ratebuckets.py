"""Rate-limit buckets in the store, on both engines: the same answers as the in-memory
limiter (the oracle), and never over-admitting when 200 attempts race from 40 threads,
each with its own connection, as N web processes would."""

from __future__ import annotations

import random
import threading
from datetime import datetime, timezone

import pytest

from paperwire.ratelimit import Rate, RateLimiter, RateLimits, StoreRateLimiter
from paperwire.store import open_store
from paperwire.store.ratebuckets import IDLE_BUCKET_SECONDS

T0 = 1_780_000_000.0  # epoch seconds, as time.time() gives them
THREAD_COUNT = 40  # pgserver allows 100 connections (tests/store/test_upvotes.py)
ATTEMPT_COUNT = 200


def test_a_bucket_spends_refills_and_forgets(store):
    rate = dict(capacity=3, per_second=0.5)
    assert [store.take_token("k", now=T0, **rate) for _ in range(3)] == [None, None, None]
    assert store.take_token("k", now=T0, **rate) == pytest.approx(2.0)  # one token a 2 s
    assert store.take_token("other", now=T0, **rate) is None  # keys are apart
    assert store.take_token("k", now=T0 + 2, **rate) is None
    assert store.take_token("k", now=T0 - 100, **rate) == pytest.approx(2.0)  # a clock gone back refills nothing
    store.forget_bucket("k")
    assert store.take_token("k", now=T0 + 2, **rate) is None


def test_idle_buckets_are_swept_and_live_ones_kept(store):
    store.take_token("old", capacity=1, per_second=1.0, now=T0 - IDLE_BUCKET_SECONDS - 1)
    store.take_token("new", capacity=1, per_second=1.0, now=T0)
    assert store.sweep_rate_buckets(now=datetime.fromtimestamp(T0, timezone.utc)) == 1
    assert store.rate_bucket_count() == 1


def test_the_store_answers_as_the_in_memory_limiter_does(store):
    rate = Rate(4, 10)  # 4 at once, one more every 2.5 s
    memory, shared = RateLimiter(rate), StoreRateLimiter(rate, store, "t")
    rng = random.Random(7)
    now = T0
    for _ in range(300):
        now += rng.choice([0.0, 0.1, 0.7, 2.5, 3.0, -1.0])  # sometimes the clock goes back
        key = rng.choice("abc")
        expected, got = memory.allow(key, now), shared.allow(key, now)
        assert got[0] == expected[0] and got[1] == pytest.approx(expected[1], abs=1e-6), (key, now)


@pytest.fixture(params=["sqlite", "postgres"])
def committed_url(request, sqlite_url):
    """A URL whose writes commit, so that every thread's connection sees them."""
    return request.getfixturevalue("postgres_database") if request.param == "postgres" else sqlite_url


def test_200_concurrent_attempts_never_over_admit(committed_url):
    rate = Rate(10, 3600)
    stores = [open_store(committed_url) for _ in range(THREAD_COUNT)]
    limiters = [StoreRateLimiter(rate, s, "login-account") for s in stores]
    answers, lock, go = [], threading.Lock(), threading.Barrier(THREAD_COUNT)

    def attempt(limiter):
        go.wait()
        mine = [limiter.allow("ada", T0)[0] for _ in range(ATTEMPT_COUNT // THREAD_COUNT)]
        with lock:
            answers.extend(mine)

    threads = [threading.Thread(target=attempt, args=(limiter,)) for limiter in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for s in stores:
        s.close()
    assert len(answers) == ATTEMPT_COUNT and answers.count(True) == rate.count


def test_two_processes_limits_share_one_bucket(sqlite_url):
    """Two RateLimits on one database (two web processes) admit the limit once between them."""
    first, second = open_store(sqlite_url), open_store(sqlite_url)
    a, b = RateLimits(store=first), RateLimits(store=second)
    answers = [(a if n % 2 else b).signup("192.0.2.7", T0) for n in range(10)]
    assert answers.count(None) == 5  # SIGNUP_PER_ADDRESS: 5 an hour, not 10
    first.close()
    second.close()
