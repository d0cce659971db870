"""Rate limits: how often one account or one address may log in, sign up, post, vote, ask
for a password-reset mail and make invites.

This module owns the arithmetic: a token bucket per key (Turner 1986; RFC 2698
describes the same meter), in memory, thread-safe, with a bounded number of keys,
and the limits the web layer applies (login, sign-up, posting, upvotes; per
account and per address). Time is passed in as `now` in seconds from a monotonic
clock (time.monotonic), so a wall clock stepping back never frees anyone early and
tests need no sleeping. What counts as "the address" behind a proxy, and the 429
answer with its Retry-After, are the web layer's. Given a store, the login,
sign-up, posting, reset and invite buckets live in it (`StoreRateLimiter`, store/ratebuckets.py),
so that with `paperwire serve --workers N` (or N machines on one PostgreSQL) an
attacker still gets each limit once, not N times; upvotes stay in each process
(docs/community.md, "Rate limits across processes").
"""

from __future__ import annotations

import ipaddress
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Rate:
    """`count` actions at once, refilled evenly over `per_seconds`."""

    count: int
    per_seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.per_seconds


# OWASP Authentication Cheat Sheet: throttle per account (a botnet guessing one
# password) and per address (one machine trying many accounts). Per account is
# 10 at once and then one every 6 minutes: a person who forgot their password is
# slowed, a guesser gets at most ~250 tries a day (NIST SP 800-63B 5.2.2 caps
# consecutive failures at 100 before stronger measures).
LOGIN_PER_ACCOUNT = Rate(10, 3600)
LOGIN_PER_ADDRESS = Rate(30, 15 * 60)  # a lab behind one NAT logs in together in the morning
SIGNUP_PER_ADDRESS = Rate(5, 3600)  # each sign-up costs an Argon2 hash and may send a mail
POST_PER_ACCOUNT = Rate(10, 10 * 60)  # comments, edits and submissions: a burst, then one a minute
POST_PER_ADDRESS = Rate(30, 10 * 60)  # several accounts from one machine
UPVOTE_PER_ACCOUNT = Rate(60, 60)  # a reader going down the daily list voting; not a script
# Password-reset mail. Per address, answered with 429: it says nothing about accounts.
# Per account, applied where nobody sees it (the same answer, no mail): it keeps anyone
# from filling a member's inbox, and a 429 there would tell that the account exists.
RESET_PER_ADDRESS = Rate(10, 3600)
RESET_PER_ACCOUNT = Rate(3, 3600)
INVITE_PER_ACCOUNT = Rate(10, 24 * 3600)  # a member invites their lab, not the internet
# A bucket this close to a whole token has it: `now - at` in floating point can come out a
# last bit short (1.99999 - 0.99999 < 1.0), which would refuse a client that waited exactly
# its Retry-After (found by tests/test_ratelimit.py's property test).
TOKEN_EPSILON = 1e-9
# About 200 bytes a key: 100,000 keys is about 20 MB at worst.
MAX_KEYS = 100_000
# RFC 6177: an end site gets a /48 to /64 of IPv6, so one machine can change its
# address within its /64 at will; the /64 is what "one address" means for IPv6.
IPV6_PREFIX_BITS = 64


class RateLimiter:
    """Token buckets for one `Rate`, one bucket per key (an account id, an address)."""

    def __init__(self, rate: Rate, *, max_keys: int = MAX_KEYS):
        if rate.count < 1 or rate.per_seconds <= 0 or max_keys < 1:
            raise ValueError(f"{rate} with max_keys={max_keys} admits nothing; use count >= 1, time > 0")
        self.rate = rate
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def allow(self, key: str, now: float) -> tuple[bool, float]:
        """Whether the action under `key` may happen at `now`, and if not, the seconds
        until it may (for Retry-After); an allowed action spends one token."""
        with self._lock:
            tokens, at = self._tokens(key, now)
            if tokens >= 1 - TOKEN_EPSILON:
                self._put(key, max(tokens - 1, 0.0), at)
                return True, 0.0
            self._put(key, tokens, at)
            return False, (1 - tokens) / self.rate.per_second

    def forget(self, key: str) -> None:
        """Give `key` a full bucket again: after a successful login, its failures are over."""
        with self._lock:
            self._buckets.pop(key, None)

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, key: str, now: float) -> tuple[float, float]:
        """The key's tokens at `now`, and the time they are counted to: `now`, or the
        bucket's own time if `now` is earlier (a clock that went back refills nothing)."""
        if key not in self._buckets:
            return float(self.rate.count), now
        tokens, at = self._buckets[key]
        if now <= at:
            return tokens, at
        return min(float(self.rate.count), tokens + (now - at) * self.rate.per_second), now

    def _put(self, key: str, tokens: float, at: float) -> None:
        self._buckets[key] = (tokens, at)
        self._buckets.move_to_end(key)
        # Evict the least recently used: it has had longest to refill, so it is the
        # bucket nearest to full, and forgetting a full bucket changes nothing.
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)


class BucketStore(Protocol):
    """What StoreRateLimiter needs of the store (store/ratebuckets.py)."""

    def take_token(self, key: str, *, capacity: int, per_second: float, now: float) -> float | None: ...

    def forget_bucket(self, key: str) -> None: ...


class StoreRateLimiter:
    """RateLimiter's `allow` and `forget` over buckets kept in the store, shared by every
    process on the database. `now` must be wall-clock seconds (time.time): processes
    share no monotonic clock. Keys are prefixed with `name`, one table for all limits."""

    def __init__(self, rate: Rate, store: BucketStore, name: str):
        if rate.count < 1 or rate.per_seconds <= 0:
            raise ValueError(f"{rate} admits nothing; use count >= 1, time > 0")
        self.rate, self._store, self._name = rate, store, name

    def allow(self, key: str, now: float) -> tuple[bool, float]:
        wait = self._store.take_token(f"{self._name}:{key}", capacity=self.rate.count,
                                      per_second=self.rate.per_second, now=now)
        return (True, 0.0) if wait is None else (False, wait)

    def forget(self, key: str) -> None:
        self._store.forget_bucket(f"{self._name}:{key}")


def address_key(address: str) -> str:
    """The key for a client address: IPv4 as it is, IPv6 as its /64 network, anything
    else (a Unix socket, a test client's name) as given."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # IPv4 through a dual-stack socket
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX_BITS), strict=False))
    return str(ip)


class RateLimits:
    """Every limit the site applies, one limiter each; make one per process at start-up.
    Each check returns None when the action may go ahead, or the seconds to wait."""

    def __init__(self, *, max_keys: int = MAX_KEYS, store: BucketStore | None = None):
        """With `store`, the login, sign-up and posting limits are kept in it for every
        process; upvotes stay in memory (a vote is one row per user and paper whatever
        the rate, so N processes only let a script vote N times faster)."""
        def limiter(rate: Rate, name: str) -> RateLimiter | StoreRateLimiter:
            if store is None:
                return RateLimiter(rate, max_keys=max_keys)
            return StoreRateLimiter(rate, store, name)

        self.login_account = limiter(LOGIN_PER_ACCOUNT, "login-account")
        self.login_address = limiter(LOGIN_PER_ADDRESS, "login-address")
        self.signup_address = limiter(SIGNUP_PER_ADDRESS, "signup-address")
        self.post_account = limiter(POST_PER_ACCOUNT, "post-account")
        self.post_address = limiter(POST_PER_ADDRESS, "post-address")
        self.upvote_account = RateLimiter(UPVOTE_PER_ACCOUNT, max_keys=max_keys)
        self.reset_address = limiter(RESET_PER_ADDRESS, "reset-address")
        self.reset_account = limiter(RESET_PER_ACCOUNT, "reset-account")
        self.invite_account = limiter(INVITE_PER_ACCOUNT, "invite-account")

    def login(self, username: str, address: str, now: float) -> float | None:
        """`username` as `accounts.normalise_username` gives it (or as typed when that
        refuses it), so "Ada" and "ada" share a bucket."""
        # The address first: a machine over its limit spends nobody's account tokens,
        # so it cannot lock a victim out by guessing their name.
        return _first_refusal(now, (self.login_address, address_key(address)),
                              (self.login_account, username))

    def login_succeeded(self, username: str) -> None:
        self.login_account.forget(username)

    def signup(self, address: str, now: float) -> float | None:
        return _first_refusal(now, (self.signup_address, address_key(address)))

    def post(self, user_id: str, address: str, now: float) -> float | None:
        return _first_refusal(now, (self.post_address, address_key(address)), (self.post_account, user_id))

    def upvote(self, user_id: str, now: float) -> float | None:
        return _first_refusal(now, (self.upvote_account, user_id))

    def reset_request(self, address: str, now: float) -> float | None:
        """A request for a reset mail from `address` (the visible limit)."""
        return _first_refusal(now, (self.reset_address, address_key(address)))

    def reset_mail(self, user_id: str, now: float) -> bool:
        """Whether one more reset mail may go to account `user_id` (the silent limit)."""
        return _first_refusal(now, (self.reset_account, user_id)) is None

    def invite(self, user_id: str, now: float) -> float | None:
        return _first_refusal(now, (self.invite_account, user_id))


def _first_refusal(now: float, *checks: tuple[RateLimiter | StoreRateLimiter, str]) -> float | None:
    for limiter, key in checks:
        allowed, retry_after = limiter.allow(key, now)
        if not allowed:
            return retry_after
    return None
