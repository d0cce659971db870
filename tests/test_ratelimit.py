"""Token buckets: hand-computed sequences, bounded memory, and no over-admission under threads."""

from __future__ import annotations

import math
import threading

import pytest
from hypothesis import given, settings, strategies as st

from paperwire import ratelimit
from paperwire.ratelimit import Rate, RateLimiter, RateLimits, address_key

THREE_PER_MINUTE = Rate(3, 60)  # refills one token every 20 s


def run(limiter: RateLimiter, steps):
    return [(now, *limiter.allow(key, now)) for now, key in steps]


def test_a_burst_then_one_every_twenty_seconds():
    limiter = RateLimiter(THREE_PER_MINUTE)
    got = run(limiter, [(0, "a"), (0, "a"), (0, "a"), (0, "a"), (10, "a"), (20, "a"), (20, "a"),
                        (25, "a"), (40, "a"), (1000, "a")])
    assert got == [
        (0, True, 0.0), (0, True, 0.0), (0, True, 0.0),
        (0, False, 20.0),  # empty: one token in 20 s
        (10, False, 10.0),  # half a token back
        (20, True, 0.0),  # one token back, spent
        (20, False, 20.0),
        (25, False, 15.0),
        (40, True, 0.0),
        (1000, True, 0.0),  # refilled to 3 (not 50), one spent
    ]
    assert run(limiter, [(1000, "a"), (1000, "a"), (1000, "a")]) == [
        (1000, True, 0.0), (1000, True, 0.0), (1000, False, 20.0)]


def test_keys_do_not_share_a_bucket():
    limiter = RateLimiter(Rate(1, 10))
    assert run(limiter, [(0, "a"), (0, "b"), (0, "a"), (5, "b")]) == [
        (0, True, 0.0), (0, True, 0.0), (0, False, 10.0), (5, False, 5.0)]


def test_a_clock_going_back_refills_nothing():
    limiter = RateLimiter(Rate(1, 10))
    assert run(limiter, [(100, "a"), (50, "a"), (109, "a")]) == [
        (100, True, 0.0), (50, False, 10.0), (109, False, pytest.approx(1.0))]


def test_forget_gives_a_full_bucket():
    limiter = RateLimiter(Rate(2, 60))
    run(limiter, [(0, "a"), (0, "a")])
    assert limiter.allow("a", 0) == (False, 30.0)
    limiter.forget("a")
    limiter.forget("never-seen")
    assert limiter.allow("a", 0) == (True, 0.0)


def test_memory_is_bounded_and_the_least_recent_key_goes_first():
    limiter = RateLimiter(Rate(1, 60), max_keys=100)
    for i in range(1000):
        limiter.allow(f"k{i}", now=i)
    assert len(limiter) == 100
    assert limiter.allow("k999", now=999) == (False, 60.0)  # still remembered
    assert limiter.allow("k0", now=999) == (True, 0.0)  # evicted long ago: a fresh bucket


def test_refuses_a_rate_that_admits_nothing():
    with pytest.raises(ValueError, match="admits nothing"):
        RateLimiter(Rate(0, 60))


def test_many_threads_never_over_admit():
    """64 threads race for one 50-token bucket and many 5-token buckets at the same
    instant: exactly the capacity goes through, whatever the interleaving."""
    limiter = RateLimiter(Rate(50, 3600))
    shared = []
    per_key: dict[str, int] = {}
    lock = threading.Lock()
    start = threading.Barrier(64)

    def worker(n: int) -> None:
        start.wait()
        mine = [limiter.allow("shared", 0.0)[0] for _ in range(20)]
        keyed = sum(limiter.allow(f"key{n % 8}", 0.0)[0] for _ in range(10))
        with lock:
            shared.extend(mine)
            per_key[f"key{n % 8}"] = per_key.get(f"key{n % 8}", 0) + keyed

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(shared) == 50 and len(shared) == 64 * 20
    assert per_key == {f"key{k}": 50 for k in range(8)}


@pytest.mark.parametrize("address, key", [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),  # same machine, same key
    ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4 through a dual-stack socket
    ("testclient", "testclient"),
])
def test_address_keys(address, key):
    assert address_key(address) == key


def test_login_checks_the_address_before_spending_the_account():
    limits = RateLimits()
    for i in range(ratelimit.LOGIN_PER_ADDRESS.count):
        assert limits.login(f"user{i % 3}", "198.51.100.1", now=0) is None
    assert limits.login("victim", "198.51.100.1", now=0) == 30.0  # 15 min / 30
    # The refused machine spent none of the victim's tokens.
    for _ in range(ratelimit.LOGIN_PER_ACCOUNT.count):
        assert limits.login("victim", "192.0.2.9", now=0) is None
    assert limits.login("victim", "192.0.2.10", now=0) == 360.0  # one every 6 minutes
    limits.login_succeeded("victim")
    assert limits.login("victim", "192.0.2.11", now=0) is None


def test_signup_post_and_upvote_limits():
    limits = RateLimits()
    assert [limits.signup("192.0.2.1", now=0) for _ in range(6)][-2:] == [None, 720.0]
    assert [limits.post("u1", "192.0.2.1", now=0) for _ in range(11)][-2:] == [None, 60.0]
    assert [limits.upvote("u1", now=0) for _ in range(61)][-2:] == [None, 1.0]
    assert limits.upvote("u2", now=0) is None


GAPS = st.lists(st.floats(min_value=0, max_value=30, allow_nan=False), min_size=1, max_size=200)
RATES = st.builds(Rate, st.integers(min_value=1, max_value=10), st.floats(min_value=1, max_value=120))


@settings(max_examples=300, deadline=None)
@given(RATES, GAPS)
def test_no_interval_ever_admits_more_than_the_rate(rate, gaps):
    """The oracle for any sequence of requests: between any two admitted ones, at most
    `count` plus what the rate refills in the time between went through."""
    limiter = RateLimiter(rate)
    now, admitted = 0.0, []
    for gap in gaps:
        now += gap
        if limiter.allow("k", now)[0]:
            admitted.append(now)
    for i, first in enumerate(admitted):
        for j in range(i, len(admitted)):
            assert j - i + 1 <= rate.count + (admitted[j] - first) * rate.per_second + 1e-9


@settings(max_examples=300, deadline=None)
@given(RATES, GAPS)
def test_waiting_retry_after_is_enough(rate, gaps):
    """A client refused with `retry_after` that comes back that much later (rounded up to
    whole seconds, as Retry-After is) gets in."""
    limiter = RateLimiter(rate)
    now = 0.0
    for gap in gaps:
        now += gap
        allowed, retry_after = limiter.allow("k", now)
        if not allowed:
            assert retry_after > 0
            assert limiter.allow("k", now + math.ceil(retry_after))[0]
            now += math.ceil(retry_after)
