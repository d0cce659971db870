"""Token buckets in the store, so that every web process on one database spends from the
same bucket: with N processes an attacker gets the limit, not N times it.

The arithmetic is ratelimit.py's (refill by elapsed time, capped at the bucket's
size; a clock that went back refills nothing), written here as one
`INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE there is a token ... RETURNING`:
the database locks the row for the statement (PostgreSQL re-checks the WHERE
against the latest row; SQLite has one writer), so two processes can never both
take the last token. Times are seconds since the epoch, the one clock that
processes (and machines) share.
"""

from __future__ import annotations

from datetime import datetime

from paperwire.store.sql import Engine, scalar

TOKEN_EPSILON = 1e-9  # ratelimit.TOKEN_EPSILON: a bucket this close to a whole token has it
# A bucket untouched this long is full under every limit in ratelimit.py (the slowest
# refills in an hour), and deleting a full bucket changes nothing.
IDLE_BUCKET_SECONDS = 24 * 3600

# `b` is the stored row, `excluded` the one offered; each `?` pair is (rate, capacity).
_ELAPSED = "(CASE WHEN excluded.at > b.at THEN excluded.at - b.at ELSE 0 END)"
_REFILLED = f"(CASE WHEN b.tokens + {_ELAPSED} * ? > ? THEN ? ELSE b.tokens + {_ELAPSED} * ? END)"
_TAKE = (
    "INSERT INTO rate_buckets AS b (key, tokens, at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
    f" tokens = {_REFILLED} - 1, at = CASE WHEN excluded.at > b.at THEN excluded.at ELSE b.at END"
    f" WHERE {_REFILLED} >= ? RETURNING tokens"
)


class RateBucketTables:
    """The store's rate-limit buckets; `engine` is the Store's Engine."""

    engine: Engine

    def take_token(self, key: str, *, capacity: int, per_second: float, now: float) -> float | None:
        """Spend one token of `key`'s bucket (`capacity` tokens, refilled at `per_second`)
        at `now` (epoch seconds): None when there was one, else the seconds until there is."""
        refilled = (per_second, capacity, capacity, per_second)
        with self.engine.write() as db:
            taken = db.rows(_TAKE, (key, float(capacity - 1), float(now), *refilled, *refilled, 1 - TOKEN_EPSILON))
            if taken:
                return None
            # Refused: the statement still locked the row (PostgreSQL locks a conflicting
            # row before it checks the WHERE), so the bucket's refill so far is saved
            # as ratelimit.RateLimiter saves it, and a clock that then goes back frees nothing.
            row = db.rows("SELECT tokens, at FROM rate_buckets WHERE key = ?", (key,))[0]
            tokens = min(float(capacity), row["tokens"] + max(0.0, now - row["at"]) * per_second)
            db.execute("UPDATE rate_buckets SET tokens = ?, at = ? WHERE key = ?", (tokens, max(now, row["at"]), key))
        return (1 - tokens) / per_second

    def forget_bucket(self, key: str) -> None:
        """A full bucket for `key` again (after a successful login)."""
        with self.engine.write() as db:
            db.execute("DELETE FROM rate_buckets WHERE key = ?", (key,))

    def sweep_rate_buckets(self, *, now: datetime) -> int:
        """Delete buckets idle long enough to be full; returns how many."""
        with self.engine.write() as db:
            return db.execute("DELETE FROM rate_buckets WHERE at < ?", (now.timestamp() - IDLE_BUCKET_SECONDS,))

    def rate_bucket_count(self) -> int:
        return scalar(self.engine.read(), "SELECT COUNT(*) FROM rate_buckets")
