"""Digests in the store: subscribers, subscriptions, saved searches, the outbox, the papers received.

The records and the rules (what a digest holds, when it is due, the mail) are
`paperwire.digest`'s; this module keeps their rows and makes each state change
of the outbox one conditional statement, so that processes racing for a row
cannot both win (docs/digests.md, "Exactly once"): queueing is an insert that a
second builder's `UNIQUE (subscriber_id, period)` turns away, a claim bumps the
row's fencing token `claim`, and the `accepting` mark before the final dot only
succeeds for the claim that still owns the row. What to send and when is the
job's (digest/run.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Iterable

from paperwire.digest.subscribers import REASONS, Subscriber, Subscription
from paperwire.store.records import as_time
from paperwire.store.sql import Engine, Many, Session, scalar

# Consecutive permanent failures (hard bounces) after which an address is unsubscribed
# with reason "bounced": a mailbox that is gone stays gone, and mail to it hurts the
# sender's reputation (RFC 5321 section 4.2.1: 5xx, "do not repeat the exact request").
HARD_BOUNCE_LIMIT = 3
# At most one confirmation mail per address in this time, however often the form is
# posted: the subscribe box takes any address, so it must not become a mail cannon.
CONFIRM_INTERVAL = timedelta(minutes=10)
UNSUBSCRIBE_REASONS = ("one-click", "link", "settings", "bounced")
SAVED_SEARCH_MODES = ("hybrid", "lexical", "semantic")
MAX_SAVED_SEARCHES = 50  # per user: a digest of more could not give each a turn anyway


@dataclass(frozen=True)
class SavedSearch:
    """A search a user saved from the search page: `query` is its query string (q and the filters)."""

    id: int
    user_id: int
    name: str
    query: str
    mode: str
    is_in_digest: bool
    created_at: datetime


@dataclass(frozen=True)
class Queued:
    """A digest to record before sending (step 1): the exact message bytes and the papers
    it holds, or, with `skip_reason` ("nothing-new"), a period settled without a mail."""

    subscriber_id: int
    period: str
    message_id: str | None = None
    message: bytes | None = None
    arxiv_ids: tuple[str, ...] = ()
    skip_reason: str | None = None


@dataclass(frozen=True)
class Pending:
    """A queued digest that may be claimed now: the bytes to send and to whom."""

    id: int
    subscriber_id: int
    email: str
    message: bytes
    attempt_count: int


@dataclass(frozen=True)
class OutboxRow:
    """One digest as the admin page lists it."""

    id: int
    subscriber_id: int
    email: str
    period: str
    state: str
    skip_reason: str | None
    paper_count: int
    attempt_count: int
    is_acceptance_seen: bool | None
    last_code: int | None
    last_detail: str | None
    queued_at: datetime
    sent_at: datetime | None
    run_id: int | None


class DigestTables:
    """The store's digest methods; `engine` is the Store's Engine."""

    engine: Engine

    # subscribers ----------------------------------------------------------------------
    def subscribe(self, email: str, *, now: datetime, timezone: str = "UTC", user_id: int | None = None) -> Subscriber:
        """The subscriber for `email` (already normalised by mail.parse_address), added with a
        daily subscription in `timezone` if new. An address that exists is returned as it is:
        confirming (again) is what turns an unsubscribed address back on."""
        t = self.engine.time(now)
        with self.engine.write() as db:
            new_id = scalar(db, "INSERT INTO subscribers (email, user_id, created_at) VALUES (?, ?, ?)"
                                " ON CONFLICT (email) DO NOTHING RETURNING id", (email, user_id, t))
            if new_id is not None:
                _put_subscription(self.engine, db, Subscription(new_id, created_at=now, timezone=timezone), now)
            elif user_id is not None:
                db.execute("UPDATE subscribers SET user_id = ? WHERE email = ? AND user_id IS NULL", (user_id, email))
            return _subscriber(db.rows("SELECT * FROM subscribers WHERE email = ?", (email,))[0])

    def claim_confirmation(self, subscriber_id: int, *, now: datetime) -> bool:
        """Whether a confirmation mail may go to the subscriber now (none in the last
        CONFIRM_INTERVAL); True also records `now` as sent, atomically across processes."""
        with self.engine.write() as db:
            return db.execute(
                "UPDATE subscribers SET confirm_sent_at = ? WHERE id = ?"
                " AND (confirm_sent_at IS NULL OR confirm_sent_at <= ?)",
                (self.engine.time(now), subscriber_id, self.engine.time(now - CONFIRM_INTERVAL))) == 1

    def confirm_subscriber(self, subscriber_id: int, *, now: datetime) -> bool:
        """Double opt-in done: confirmed now (again is fine; the first time is kept), subscribed
        again if it had unsubscribed, bounces forgotten. False for an unknown subscriber."""
        with self.engine.write() as db:
            return db.execute(
                "UPDATE subscribers SET confirmed_at = COALESCE(confirmed_at, ?), unsubscribed_at = NULL,"
                " unsubscribe_reason = NULL, bounce_count = 0 WHERE id = ?",
                (self.engine.time(now), subscriber_id)) == 1

    def unsubscribe(self, subscriber_id: int, *, reason: str, now: datetime) -> bool:
        """Stop the subscriber's digests (the first unsubscribe's time and reason are kept);
        False for an unknown subscriber."""
        if reason not in UNSUBSCRIBE_REASONS:
            raise ValueError(f"unsubscribe reason {reason!r} is not one of {', '.join(UNSUBSCRIBE_REASONS)}")
        with self.engine.write() as db:
            _unsubscribe(self.engine, db, subscriber_id, reason, now)
            return bool(db.rows("SELECT id FROM subscribers WHERE id = ?", (subscriber_id,)))

    def subscriber(self, subscriber_id: int) -> Subscriber | None:
        rows = self.engine.read().rows("SELECT * FROM subscribers WHERE id = ?", (subscriber_id,))
        return _subscriber(rows[0]) if rows else None

    def subscriber_by_email(self, email: str) -> Subscriber | None:
        rows = self.engine.read().rows("SELECT * FROM subscribers WHERE email = ?", (email,))
        return _subscriber(rows[0]) if rows else None

    def subscriber_of_user(self, user_id: int) -> Subscriber | None:
        """The subscriber linked to account `user_id` (the oldest if several), or None."""
        rows = self.engine.read().rows("SELECT * FROM subscribers WHERE user_id = ? ORDER BY id LIMIT 1", (user_id,))
        return _subscriber(rows[0]) if rows else None

    def subscription(self, subscriber_id: int) -> Subscription | None:
        rows = self.engine.read().rows("SELECT * FROM subscriptions WHERE subscriber_id = ?", (subscriber_id,))
        return _subscription(rows[0]) if rows else None

    def save_subscription(self, subscription: Subscription, *, now: datetime) -> None:
        """Store the subscriber's choices (validated by the record), replacing any before."""
        with self.engine.write() as db:
            _put_subscription(self.engine, db, subscription, now)

    def digest_audience(self, *, email: str | None = None) -> list[tuple[Subscriber, Subscription]]:
        """Every subscriber with a subscription (only `email`'s with it), oldest first;
        unconfirmed and unsubscribed ones too, so that the run counts them as skipped."""
        where, params = ("WHERE s.email = ?", (email,)) if email is not None else ("", ())
        rows = self.engine.read().rows(
            "SELECT s.*, c.subscriber_id, c.frequency, c.send_time, c.timezone, c.weekday, c.paper_count,"
            " c.includes, c.created_at AS subscription_created_at FROM subscribers s"
            f" JOIN subscriptions c ON c.subscriber_id = s.id {where} ORDER BY s.id", params)
        return [(_subscriber(row), _subscription({**row, "created_at": row["subscription_created_at"]}))
                for row in rows]

    # saved searches -------------------------------------------------------------------
    def save_search(self, user_id: int, *, name: str, query: str, mode: str, now: datetime) -> SavedSearch | None:
        """Save a search for the user (in their digest); None when they have MAX_SAVED_SEARCHES already."""
        if mode not in SAVED_SEARCH_MODES:
            raise ValueError(f"search mode {mode!r} is not one of {', '.join(SAVED_SEARCH_MODES)}")
        with self.engine.write() as db:
            if scalar(db, "SELECT COUNT(*) FROM saved_searches WHERE user_id = ?", (user_id,)) >= MAX_SAVED_SEARCHES:
                return None
            new_id = scalar(db, "INSERT INTO saved_searches (user_id, name, query, mode, is_in_digest, created_at)"
                                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                            (user_id, name, query, mode, True, self.engine.time(now)))
            return _saved_search(db.rows("SELECT * FROM saved_searches WHERE id = ?", (new_id,))[0])

    def saved_searches(self, user_ids: Iterable[int]) -> dict[int, list[SavedSearch]]:
        """Each user's saved searches, oldest first (users without any are left out)."""
        ids = list(set(user_ids))
        found: dict[int, list[SavedSearch]] = {}
        if not ids:
            return found
        for row in self.engine.read().rows(
                "SELECT * FROM saved_searches WHERE user_id IN ? ORDER BY id", (Many(ids, "bigint"),)):
            found.setdefault(row["user_id"], []).append(_saved_search(row))
        return found

    def set_searches_in_digest(self, user_id: int, search_ids: Iterable[int]) -> None:
        """Exactly the user's saved searches `search_ids` feed their digest."""
        wanted = set(search_ids)
        with self.engine.write() as db:
            for row in db.rows("SELECT id FROM saved_searches WHERE user_id = ?", (user_id,)):
                db.execute("UPDATE saved_searches SET is_in_digest = ? WHERE id = ?", (row["id"] in wanted, row["id"]))

    def delete_saved_search(self, user_id: int, search_id: int) -> bool:
        with self.engine.write() as db:
            return db.execute("DELETE FROM saved_searches WHERE id = ? AND user_id = ?", (search_id, user_id)) == 1

    # what each subscriber had -----------------------------------------------------------
    def outbox_periods(self, subscriber_ids: Iterable[int], *, since: datetime) -> dict[int, set[str]]:
        """The periods queued since `since` (any state, skips included) of each subscriber."""
        found: dict[int, set[str]] = {}
        for row in self._for_subscribers("SELECT subscriber_id, period FROM digest_outbox WHERE queued_at >= ?"
                                         " AND subscriber_id IN ?", subscriber_ids, self.engine.time(since)):
            found.setdefault(row["subscriber_id"], set()).add(row["period"])
        return found

    def received_papers(self, subscriber_ids: Iterable[int]) -> dict[int, set[str]]:
        """The arXiv ids each subscriber was sent (or is being sent)."""
        found: dict[int, set[str]] = {}
        for row in self._for_subscribers("SELECT subscriber_id, arxiv_id FROM digest_papers"
                                         " WHERE subscriber_id IN ?", subscriber_ids):
            found.setdefault(row["subscriber_id"], set()).add(row["arxiv_id"])
        return found

    def last_digest_at(self, subscriber_ids: Iterable[int]) -> dict[int, datetime]:
        """When each subscriber's latest digest with papers was queued."""
        rows = self._for_subscribers("SELECT subscriber_id, MAX(queued_at) AS at FROM digest_outbox"
                                     " WHERE paper_count > 0 AND subscriber_id IN ? GROUP BY subscriber_id",
                                     subscriber_ids)
        return {row["subscriber_id"]: as_time(row["at"]) for row in rows}

    def _for_subscribers(self, sql: str, subscriber_ids: Iterable[int], *params) -> list[dict]:
        ids = list(set(subscriber_ids))
        return self.engine.read().rows(sql, (*params, Many(ids, "bigint"))) if ids else []

    # the outbox: exactly once -----------------------------------------------------------
    def queue_digests(self, digests: list[Queued], *, now: datetime, run_id: int | None = None) -> list[int | None]:
        """Record digests before sending (docs/digests.md step 1), in one transaction: each
        row's id, or None where the subscriber's period was queued already ("already-sent")."""
        ids: list[int | None] = []
        with self.engine.write() as db:
            for queued in digests:
                ids.append(self._queue(db, queued, now, run_id))
        return ids

    def _queue(self, db: Session, queued: Queued, now: datetime, run_id: int | None) -> int | None:
        state = "skipped" if queued.skip_reason else "queued"
        outbox_id = scalar(
            db, "INSERT INTO digest_outbox (subscriber_id, period, state, skip_reason, message_id, message,"
                " paper_count, queued_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (subscriber_id, period) DO NOTHING RETURNING id",
            (queued.subscriber_id, queued.period, state, queued.skip_reason, queued.message_id, queued.message,
             len(queued.arxiv_ids), self.engine.time(now), run_id))
        if outbox_id is not None and queued.arxiv_ids:
            # The primary key makes "never the same paper twice" a constraint, not only build()'s promise.
            db.executemany("INSERT INTO digest_papers (subscriber_id, arxiv_id, outbox_id) VALUES (?, ?, ?)"
                           " ON CONFLICT DO NOTHING",
                           [(queued.subscriber_id, arxiv_id, outbox_id) for arxiv_id in queued.arxiv_ids])
        return outbox_id

    def sendable_digests(self, *, now: datetime, limit: int, subscriber_id: int | None = None) -> list[Pending]:
        """Up to `limit` digests that a claim may take now (queued, or failed for a while and
        due again), oldest first; only `subscriber_id`'s with it."""
        mine, params = ("AND o.subscriber_id = ?", (subscriber_id,)) if subscriber_id is not None else ("", ())
        rows = self.engine.read().rows(
            "SELECT o.id, o.subscriber_id, s.email, o.message, o.attempt_count FROM digest_outbox o"
            " JOIN subscribers s ON s.id = o.subscriber_id WHERE o.state IN ('queued', 'failed-temporary')"
            f" AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?) {mine} ORDER BY o.id LIMIT ?",
            (self.engine.time(now), *params, limit))
        return [Pending(row["id"], row["subscriber_id"], row["email"], bytes(row["message"]), row["attempt_count"])
                for row in rows]

    def claim_digest(self, outbox_id: int, *, now: datetime, lease: timedelta) -> int | None:
        """Step 2: take the row for one send attempt; its new fencing token, or None when
        another worker has it, it is final, or its retry is not due yet."""
        t = self.engine.time(now)
        with self.engine.write() as db:
            return scalar(
                db, "UPDATE digest_outbox SET state = 'sending', claim = claim + 1, attempt_count = attempt_count + 1,"
                    " lease_until = ? WHERE id = ? AND state IN ('queued', 'failed-temporary')"
                    " AND (next_attempt_at IS NULL OR next_attempt_at <= ?) RETURNING claim",
                (self.engine.time(now + lease), outbox_id, t))

    def fence_digest(self, outbox_id: int, claim: int) -> bool:
        """Step 4, just before the final dot: `accepting`, if `claim` still owns the row.
        False means the lease was lost, and the caller must not send the dot."""
        with self.engine.write() as db:
            return db.execute("UPDATE digest_outbox SET state = 'accepting' WHERE id = ? AND claim = ?"
                              " AND state = 'sending'", (outbox_id, claim)) == 1

    def release_digest(self, outbox_id: int, claim: int) -> bool:
        """Give a claimed row back (queued) without an attempt's outcome: the run stopped
        before the dot (MailSetupError) and nothing was delivered."""
        with self.engine.write() as db:
            return db.execute("UPDATE digest_outbox SET state = 'queued', lease_until = NULL,"
                              " attempt_count = attempt_count - 1 WHERE id = ? AND claim = ? AND state = 'sending'",
                              (outbox_id, claim)) == 1

    def mark_digest(self, outbox_id: int, claim: int, *, status: str, now: datetime, code: int | None = None,
                    detail: str = "", next_attempt_at: datetime | None = None) -> str | None:
        """Step 6: record attempt `claim`'s outcome (a mail.Delivery status). A temporary
        failure without `next_attempt_at` has used its retries and becomes permanent; a
        permanent one takes back the row's papers and counts a bounce; "unknown" is sent
        unseen. Returns the row's new state, or None if `claim` no longer owns the row."""
        state = _final_state(status, next_attempt_at)
        t = self.engine.time(now)
        with self.engine.write() as db:
            owned = "WHERE id = ? AND claim = ? AND state IN ('sending', 'accepting')"
            if state == "sent":
                changed = db.execute(
                    "UPDATE digest_outbox SET state = 'sent', sent_at = ?, is_acceptance_seen = ?, message = NULL,"
                    f" lease_until = NULL, last_code = ?, last_detail = ? {owned}",
                    (t, status == "sent", code, detail[:500], outbox_id, claim))
                if not changed and status == "sent":  # recovery counted it sent meanwhile; now we know
                    db.execute("UPDATE digest_outbox SET is_acceptance_seen = ? WHERE id = ? AND claim = ?"
                               " AND state = 'sent'", (True, outbox_id, claim))
                if changed and status == "sent":
                    db.execute("UPDATE subscribers SET bounce_count = 0 WHERE id = (SELECT subscriber_id"
                               " FROM digest_outbox WHERE id = ?)", (outbox_id,))
            else:
                changed = db.execute(
                    "UPDATE digest_outbox SET state = ?, next_attempt_at = ?, lease_until = NULL, last_code = ?,"
                    f" last_detail = ?, message = CASE WHEN ? THEN NULL ELSE message END {owned}",
                    (state, self.engine.time(next_attempt_at), code, detail[:500], state == "failed-permanent",
                     outbox_id, claim))
                if changed and state == "failed-permanent":
                    self._took_back(db, outbox_id, is_bounce=status == "failed-permanent", now=now)
            return state if changed else None

    def _took_back(self, db: Session, outbox_id: int, *, is_bounce: bool, now: datetime) -> None:
        """The papers of a digest that never arrived are not received; a hard bounce counts."""
        db.execute("DELETE FROM digest_papers WHERE outbox_id = ?", (outbox_id,))
        if not is_bounce:
            return
        subscriber_id = scalar(db, "SELECT subscriber_id FROM digest_outbox WHERE id = ?", (outbox_id,))
        db.execute("UPDATE subscribers SET bounce_count = bounce_count + 1 WHERE id = ?", (subscriber_id,))
        if scalar(db, "SELECT bounce_count FROM subscribers WHERE id = ?", (subscriber_id,)) >= HARD_BOUNCE_LIMIT:
            _unsubscribe(self.engine, db, subscriber_id, "bounced", now)

    def recover_digests(self, *, now: datetime) -> tuple[int, int]:
        """Every run's first step: an expired `sending` row goes back to queued (its server
        never got the dot), an expired `accepting` row counts as sent, unseen (its dot may
        have gone out: never send it again). Returns (requeued, counted sent)."""
        t = self.engine.time(now)
        with self.engine.write() as db:
            requeued = db.execute("UPDATE digest_outbox SET state = 'queued', lease_until = NULL"
                                  " WHERE state = 'sending' AND lease_until <= ?", (t,))
            counted = db.execute("UPDATE digest_outbox SET state = 'sent', is_acceptance_seen = ?, sent_at = ?,"
                                 " message = NULL, lease_until = NULL WHERE state = 'accepting' AND lease_until <= ?",
                                 (False, t, t))
        return requeued, counted

    def has_expired_digest_leases(self, *, now: datetime) -> bool:
        """Whether recover_digests has anything to do."""
        return bool(self.engine.read().rows(
            "SELECT id FROM digest_outbox WHERE state IN ('sending', 'accepting') AND lease_until <= ? LIMIT 1",
            (self.engine.time(now),)))

    def outbox_rows(self, *, states: Iterable[str] | None = None, unseen: bool = False,
                    limit: int = 50) -> list[OutboxRow]:
        """The latest outbox rows (in `states`; with `unseen`, sent without a seen 250), newest first."""
        where, params = [], []
        if states is not None:
            where.append("o.state IN ?")
            params.append(Many(list(states)))
        if unseen:
            where.append("o.state = 'sent' AND o.is_acceptance_seen = ?")
            params.append(False)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self.engine.read().rows(
            "SELECT o.*, s.email FROM digest_outbox o JOIN subscribers s ON s.id = o.subscriber_id"
            f" {clause} ORDER BY o.queued_at DESC, o.id DESC LIMIT ?", (*params, limit))
        return [_outbox_row(row) for row in rows]

    def outbox_state_counts(self) -> dict[str, int]:
        rows = self.engine.read().rows("SELECT state, COUNT(*) AS n FROM digest_outbox GROUP BY state")
        return {row["state"]: row["n"] for row in rows}


# What `db copy` moves (store/copy.py), keyed by natural keys: an address, a user's email,
# (address, period). Row ids differ between stores, so none is carried over.
_EXPORTS = {
    "subscribers": "SELECT s.*, u.email AS user_email FROM subscribers s LEFT JOIN users u ON u.id = s.user_id"
                   " ORDER BY s.id",
    "subscriptions": "SELECT c.*, s.email FROM subscriptions c JOIN subscribers s ON s.id = c.subscriber_id"
                     " ORDER BY s.id",
    "saved_searches": "SELECT q.*, u.email AS user_email FROM saved_searches q JOIN users u ON u.id = q.user_id"
                      " ORDER BY q.id",
    "digest_outbox": "SELECT o.*, s.email FROM digest_outbox o JOIN subscribers s ON s.id = o.subscriber_id"
                     " ORDER BY o.id",
    "digest_papers": "SELECT d.arxiv_id, s.email, o.period FROM digest_papers d JOIN subscribers s"
                     " ON s.id = d.subscriber_id JOIN digest_outbox o ON o.id = d.outbox_id ORDER BY s.id, d.arxiv_id",
}
_TIME_COLUMNS = frozenset({"created_at", "confirmed_at", "confirm_sent_at", "unsubscribed_at", "updated_at",
                           "lease_until", "next_attempt_at", "queued_at", "sent_at"})
_BOOL_COLUMNS = frozenset({"is_in_digest", "is_acceptance_seen"})


class DigestCopy:
    """`db copy` of the digest tables: every row out of one store, into another, by natural keys."""

    engine: Engine

    def digest_export(self) -> dict[str, list[dict]]:
        """Every digest row, each with the natural keys that place it in another store."""
        db = self.engine.read()
        return {table: [_portable(row) for row in db.rows(sql)] for table, sql in _EXPORTS.items()}

    def digest_import(self, tables: dict[str, list[dict]]) -> int:
        """Insert what digest_export gave (into a store holding the same users, matched by
        email); rows already here are left as they are, so a copy run again adds nothing.
        Saved searches of users missing here are left out. Returns the rows inserted."""
        inserted = 0
        with self.engine.write() as db:
            users = {row["email"]: row["id"] for row in db.rows("SELECT id, email FROM users")}
            for row in tables["subscribers"]:
                inserted += self._insert(db, "subscribers", row, {"user_id": users.get(row["user_email"])},
                                         ("email", "user_id", "created_at", "confirmed_at", "confirm_sent_at",
                                          "unsubscribed_at", "unsubscribe_reason", "bounce_count"), "(email)")
            ids = {row["email"]: row["id"] for row in db.rows("SELECT id, email FROM subscribers")}
            for row in tables["subscriptions"]:
                inserted += self._insert(db, "subscriptions", row, {"subscriber_id": ids[row["email"]]},
                                         ("subscriber_id", "frequency", "send_time", "timezone", "weekday",
                                          "paper_count", "includes", "created_at", "updated_at"), "(subscriber_id)")
            inserted += self._import_saved_searches(db, tables["saved_searches"], users)
            for row in tables["digest_outbox"]:
                inserted += self._insert(db, "digest_outbox", row, {"subscriber_id": ids[row["email"]]},
                                         ("subscriber_id", "period", "state", "skip_reason", "message_id", "message",
                                          "paper_count", "attempt_count", "claim", "lease_until", "next_attempt_at",
                                          "is_acceptance_seen", "last_code", "last_detail", "queued_at", "sent_at"),
                                         "(subscriber_id, period)")
            outbox = {(row["subscriber_id"], row["period"]): row["id"]
                      for row in db.rows("SELECT id, subscriber_id, period FROM digest_outbox")}
            inserted += db.executemany(
                "INSERT INTO digest_papers (subscriber_id, arxiv_id, outbox_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [(ids[r["email"]], r["arxiv_id"], outbox[(ids[r["email"]], r["period"])]) for r in tables["digest_papers"]])
        return inserted

    def _insert(self, db: Session, table: str, row: dict, overrides: dict, columns: tuple, key: str) -> int:
        values = [self._value(column, overrides.get(column, row.get(column))) for column in columns]
        return db.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                          f" ON CONFLICT {key} DO NOTHING".replace("  ", " "), values)

    def _import_saved_searches(self, db: Session, rows: list[dict], users: dict[str, int]) -> int:
        held = {(r["user_id"], r["name"], r["query"]) for r in db.rows("SELECT user_id, name, query FROM saved_searches")}
        inserted = 0
        for row in rows:
            user_id = users.get(row["user_email"])
            if user_id is not None and (user_id, row["name"], row["query"]) not in held:
                inserted += self._insert(db, "saved_searches", row, {"user_id": user_id},
                                         ("user_id", "name", "query", "mode", "is_in_digest", "created_at"), "")
        return inserted

    def _value(self, column: str, value):
        if value is None:
            return None
        if column in _TIME_COLUMNS:
            return self.engine.time(value)
        return bool(value) if column in _BOOL_COLUMNS else value


def _portable(row: dict) -> dict:
    """A row with engine-neutral values: aware datetimes, booleans, bytes."""
    out = {}
    for column, value in row.items():
        if column in _TIME_COLUMNS:
            value = as_time(value)
        elif column in _BOOL_COLUMNS and value is not None:
            value = bool(value)
        elif isinstance(value, memoryview):
            value = bytes(value)
        out[column] = value
    return out


def _final_state(status: str, next_attempt_at: datetime | None) -> str:
    if status in ("sent", "unknown"):
        return "sent"
    if status == "failed-temporary":
        return "failed-temporary" if next_attempt_at is not None else "failed-permanent"
    if status == "failed-permanent":
        return "failed-permanent"
    raise ValueError(f"delivery status {status!r} is not one a send returns")


def _unsubscribe(engine: Engine, db: Session, subscriber_id: int, reason: str, now: datetime) -> int:
    return db.execute("UPDATE subscribers SET unsubscribed_at = ?, unsubscribe_reason = ?"
                      " WHERE id = ? AND unsubscribed_at IS NULL", (engine.time(now), reason, subscriber_id))


def _put_subscription(engine: Engine, db: Session, s: Subscription, now: datetime) -> None:
    includes = json.dumps([reason for reason in REASONS if reason in s.includes])
    db.execute(
        "INSERT INTO subscriptions (subscriber_id, frequency, send_time, timezone, weekday, paper_count, includes,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (subscriber_id) DO UPDATE SET"
        " frequency = excluded.frequency, send_time = excluded.send_time, timezone = excluded.timezone,"
        " weekday = excluded.weekday, paper_count = excluded.paper_count, includes = excluded.includes,"
        " updated_at = excluded.updated_at",
        (s.subscriber_id, s.frequency, s.send_time.strftime("%H:%M"), s.timezone, s.weekday, s.paper_count,
         includes, engine.time(s.created_at), engine.time(now)))


def _subscriber(row: dict) -> Subscriber:
    return Subscriber(id=row["id"], email=row["email"], confirmed_at=as_time(row["confirmed_at"]),
                      unsubscribed_at=as_time(row["unsubscribed_at"]), user_id=row["user_id"])


def _subscription(row: dict) -> Subscription:
    return Subscription(
        subscriber_id=row["subscriber_id"], created_at=as_time(row["created_at"]), frequency=row["frequency"],
        send_time=time.fromisoformat(row["send_time"]), timezone=row["timezone"], weekday=row["weekday"],
        paper_count=row["paper_count"], includes=frozenset(json.loads(row["includes"])),
    )


def _saved_search(row: dict) -> SavedSearch:
    return SavedSearch(id=row["id"], user_id=row["user_id"], name=row["name"], query=row["query"], mode=row["mode"],
                       is_in_digest=bool(row["is_in_digest"]), created_at=as_time(row["created_at"]))


def _outbox_row(row: dict) -> OutboxRow:
    seen = row["is_acceptance_seen"]
    return OutboxRow(
        id=row["id"], subscriber_id=row["subscriber_id"], email=row["email"], period=row["period"],
        state=row["state"], skip_reason=row["skip_reason"], paper_count=row["paper_count"],
        attempt_count=row["attempt_count"], is_acceptance_seen=None if seen is None else bool(seen),
        last_code=row["last_code"], last_detail=row["last_detail"], queued_at=as_time(row["queued_at"]),
        sent_at=as_time(row["sent_at"]), run_id=row["run_id"],
    )
