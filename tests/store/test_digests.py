"""The digest tables on both engines: subscribers, subscriptions, saved searches, and the
outbox's exactly-once steps (docs/digests.md): queue, claim, fence, mark, recover. Two
claimers racing for one row on PostgreSQL use real concurrent connections."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta, timezone

import pytest

from paperwire.digest import Subscription
from paperwire.store import open_store
from paperwire.store.digests import CONFIRM_INTERVAL, HARD_BOUNCE_LIMIT, Queued

NOW = datetime(2026, 12, 2, 13, 0, tzinfo=timezone.utc)
LEASE = timedelta(minutes=2)


def _queued(store, email="ada@example.org", period="2026-12-02", ids=("2612.00001", "2612.00002")) -> tuple:
    subscriber = store.subscribe(email, now=NOW)
    [outbox_id] = store.queue_digests([Queued(subscriber.id, period, "<m@x>", b"bytes", tuple(ids))], now=NOW)
    return subscriber, outbox_id


def test_subscribe_is_idempotent_and_starts_a_daily_subscription(store):
    first = store.subscribe("ada@example.org", now=NOW, timezone="Europe/Berlin")
    again = store.subscribe("ada@example.org", now=NOW + timedelta(hours=1), timezone="Asia/Tokyo")
    assert first == again and not first.is_confirmed and not first.is_unsubscribed
    subscription = store.subscription(first.id)
    assert subscription.frequency == "daily" and subscription.timezone == "Europe/Berlin"
    assert subscription.created_at == NOW


def test_one_confirmation_per_interval(store):
    subscriber = store.subscribe("ada@example.org", now=NOW)
    assert store.claim_confirmation(subscriber.id, now=NOW)
    assert not store.claim_confirmation(subscriber.id, now=NOW + CONFIRM_INTERVAL - timedelta(seconds=1))
    assert store.claim_confirmation(subscriber.id, now=NOW + CONFIRM_INTERVAL)


def test_confirm_unsubscribe_and_confirm_again(store):
    subscriber = store.subscribe("ada@example.org", now=NOW)
    assert store.confirm_subscriber(subscriber.id, now=NOW)
    assert store.confirm_subscriber(subscriber.id, now=NOW + timedelta(days=1))  # again is fine
    assert store.subscriber(subscriber.id).confirmed_at == NOW
    assert store.unsubscribe(subscriber.id, reason="one-click", now=NOW)
    assert store.subscriber(subscriber.id).is_unsubscribed
    assert store.confirm_subscriber(subscriber.id, now=NOW)
    assert not store.subscriber(subscriber.id).is_unsubscribed
    assert not store.confirm_subscriber(10**9, now=NOW) and not store.unsubscribe(10**9, reason="link", now=NOW)
    with pytest.raises(ValueError):
        store.unsubscribe(subscriber.id, reason="bored", now=NOW)


def test_subscription_round_trip_and_audience(store):
    ada = store.subscribe("ada@example.org", now=NOW)
    store.subscribe("bob@example.org", now=NOW)
    choices = Subscription(ada.id, created_at=NOW, frequency="weekly", send_time=time(7, 30),
                           timezone="America/New_York", weekday=4, paper_count=5,
                           includes=frozenset({"trending", "saved-search"}))
    store.save_subscription(choices, now=NOW)
    assert store.subscription(ada.id) == choices
    audience = store.digest_audience()
    assert [s.email for s, _ in audience] == ["ada@example.org", "bob@example.org"]
    assert audience[0][1] == choices
    assert [s.email for s, _ in store.digest_audience(email="bob@example.org")] == ["bob@example.org"]


def test_saved_searches(store):
    user = store.create_user(username="ada", email="ada@example.org", password_hash="x", now=NOW)
    first = store.save_search(user.id, name="diffusion", query="q=diffusion&cat=cs.CV", mode="hybrid", now=NOW)
    second = store.save_search(user.id, name="rag", query="q=rag", mode="lexical", now=NOW)
    assert [s.name for s in store.saved_searches([user.id])[user.id]] == ["diffusion", "rag"]
    store.set_searches_in_digest(user.id, [second.id])
    assert [s.is_in_digest for s in store.saved_searches([user.id])[user.id]] == [False, True]
    assert store.delete_saved_search(user.id, first.id) and not store.delete_saved_search(user.id + 1, second.id)
    with pytest.raises(ValueError):
        store.save_search(user.id, name="x", query="q=x", mode="fuzzy", now=NOW)


def test_a_second_builder_of_a_period_is_turned_away(store):
    subscriber, outbox_id = _queued(store)
    again = store.queue_digests([Queued(subscriber.id, "2026-12-02", "<m@x>", b"other", ("2612.00009",))], now=NOW)
    assert outbox_id is not None and again == [None]
    assert store.received_papers([subscriber.id]) == {subscriber.id: {"2612.00001", "2612.00002"}}
    assert store.outbox_periods([subscriber.id], since=NOW - timedelta(days=8)) == {subscriber.id: {"2026-12-02"}}
    assert store.last_digest_at([subscriber.id]) == {subscriber.id: NOW}


def test_a_nothing_new_skip_settles_its_period_without_papers(store):
    subscriber = store.subscribe("ada@example.org", now=NOW)
    [outbox_id] = store.queue_digests([Queued(subscriber.id, "2026-12-02", skip_reason="nothing-new")], now=NOW)
    assert outbox_id is not None and store.sendable_digests(now=NOW, limit=10) == []
    assert store.outbox_rows()[0].state == "skipped" and store.last_digest_at([subscriber.id]) == {}


def test_claim_fence_mark_sent(store):
    subscriber, outbox_id = _queued(store)
    [pending] = store.sendable_digests(now=NOW, limit=10)
    assert (pending.id, pending.email, pending.message) == (outbox_id, "ada@example.org", b"bytes")
    claim = store.claim_digest(outbox_id, now=NOW, lease=LEASE)
    assert claim == 1 and store.claim_digest(outbox_id, now=NOW, lease=LEASE) is None
    assert not store.fence_digest(outbox_id, claim + 1)  # a stale claim may not send the dot
    assert store.fence_digest(outbox_id, claim)
    assert store.mark_digest(outbox_id, claim, status="sent", now=NOW, code=250) == "sent"
    [row] = store.outbox_rows()
    assert (row.state, row.is_acceptance_seen, row.attempt_count, row.sent_at) == ("sent", True, 1, NOW)
    assert store.sendable_digests(now=NOW, limit=10) == []


def test_temporary_failure_waits_for_its_retry(store):
    _, outbox_id = _queued(store)
    claim = store.claim_digest(outbox_id, now=NOW, lease=LEASE)
    retry = NOW + timedelta(minutes=5)
    assert store.mark_digest(outbox_id, claim, status="failed-temporary", now=NOW, code=451,
                             next_attempt_at=retry) == "failed-temporary"
    assert store.claim_digest(outbox_id, now=retry - timedelta(seconds=1), lease=LEASE) is None
    assert store.sendable_digests(now=NOW, limit=10) == []
    assert store.claim_digest(outbox_id, now=retry, lease=LEASE) == 2
    assert store.mark_digest(outbox_id, 2, status="failed-temporary", now=retry) == "failed-permanent"


def test_permanent_failures_take_papers_back_and_three_bounces_unsubscribe(store):
    subscriber = store.subscribe("ada@example.org", now=NOW)
    store.confirm_subscriber(subscriber.id, now=NOW)
    for day in range(HARD_BOUNCE_LIMIT):
        assert not store.subscriber(subscriber.id).is_unsubscribed
        [outbox_id] = store.queue_digests(
            [Queued(subscriber.id, f"2026-12-0{day + 1}", "<m>", b"b", (f"2612.0000{day}",))], now=NOW)
        claim = store.claim_digest(outbox_id, now=NOW, lease=LEASE)
        assert store.mark_digest(outbox_id, claim, status="failed-permanent", now=NOW, code=550,
                                 detail="no such user") == "failed-permanent"
        assert store.received_papers([subscriber.id]) == {}
    assert store.subscriber(subscriber.id).is_unsubscribed


def test_a_sent_digest_resets_the_bounce_count(store):
    subscriber = store.subscribe("ada@example.org", now=NOW)
    for day, status in enumerate(["failed-permanent", "failed-permanent", "sent", "failed-permanent",
                                  "failed-permanent"]):
        [outbox_id] = store.queue_digests([Queued(subscriber.id, f"p{day}", "<m>", b"b", ())], now=NOW)
        claim = store.claim_digest(outbox_id, now=NOW, lease=LEASE)
        store.fence_digest(outbox_id, claim)
        store.mark_digest(outbox_id, claim, status=status, now=NOW)
    assert not store.subscriber(subscriber.id).is_unsubscribed


def test_recovery_requeues_sending_and_counts_accepting_as_sent_unseen(store):
    _, sending = _queued(store, "ada@example.org")
    _, accepting = _queued(store, "bob@example.org")
    _, fresh = _queued(store, "cy@example.org")
    store.claim_digest(sending, now=NOW, lease=LEASE)
    store.fence_digest(accepting, store.claim_digest(accepting, now=NOW, lease=LEASE))
    store.claim_digest(fresh, now=NOW + LEASE, lease=LEASE)
    assert store.recover_digests(now=NOW + LEASE - timedelta(seconds=1)) == (0, 0)
    assert store.recover_digests(now=NOW + LEASE) == (1, 1)
    states = {row.id: (row.state, row.is_acceptance_seen) for row in store.outbox_rows()}
    assert states == {sending: ("queued", None), accepting: ("sent", False), fresh: ("sending", None)}
    assert [row.id for row in store.outbox_rows(unseen=True)] == [accepting]
    # The owner that lost its lease can no longer fence; the rows' next claim can.
    assert not store.fence_digest(sending, 1)
    assert store.claim_digest(sending, now=NOW + LEASE, lease=LEASE) == 2


def test_release_gives_a_claimed_row_back(store):
    _, outbox_id = _queued(store)
    claim = store.claim_digest(outbox_id, now=NOW, lease=LEASE)
    assert store.release_digest(outbox_id, claim)
    assert [p.attempt_count for p in store.sendable_digests(now=NOW, limit=5)] == [0]


def test_late_250_after_recovery_marks_the_row_seen(store):
    _, outbox_id = _queued(store)
    claim = store.claim_digest(outbox_id, now=NOW, lease=LEASE)
    store.fence_digest(outbox_id, claim)
    store.recover_digests(now=NOW + LEASE)
    assert store.mark_digest(outbox_id, claim, status="sent", now=NOW + LEASE) is None
    assert store.outbox_rows()[0].is_acceptance_seen is True


def _race(url: str, outbox_id: int, rounds: int) -> list[list[int | None]]:
    """Two connections claim the same row at the same moment, `rounds` times."""
    stores = [open_store(url) for _ in range(2)]
    results = []
    try:
        for round_number in range(rounds):
            barrier, got = threading.Barrier(2), [None, None]

            def claim(i: int) -> None:
                barrier.wait()
                got[i] = stores[i].claim_digest(outbox_id, now=NOW, lease=LEASE)

            threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            results.append(got)
            winner = next(c for c in got if c is not None)
            stores[0].mark_digest(outbox_id, winner, status="failed-temporary", now=NOW, next_attempt_at=NOW)
    finally:
        for s in stores:
            s.close()
    return results


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_two_claimers_racing_for_one_row_exactly_one_wins(engine, request, tmp_path):
    url = f"sqlite:///{tmp_path}/race.db" if engine == "sqlite" else request.getfixturevalue("postgres_database")
    setup = open_store(url)
    try:
        _, outbox_id = _queued(setup)
    finally:
        setup.close()
    rounds = _race(url, outbox_id, rounds=20)
    for number, got in enumerate(rounds, start=1):
        assert sorted(got, key=lambda c: c is None) == [number, None], got


def test_db_copy_moves_the_digest_tables_sqlite_to_postgres(tmp_path, postgres_store):
    from paperwire.store.copy import copy

    source = open_store(f"sqlite:///{tmp_path}/source.db")
    try:
        subscriber, sent = _queued(source)
        claim = source.claim_digest(sent, now=NOW, lease=LEASE)
        source.fence_digest(sent, claim)
        source.mark_digest(sent, claim, status="unknown", now=NOW)
        source.confirm_subscriber(subscriber.id, now=NOW)
        _queued(source, "bob@example.org", ids=("2612.00003",))  # still queued: its bytes go along
        report = copy(source, postgres_store)
        assert report.is_identical and report.target.digest_row_count == 9, report.target.lines()
        assert copy(source, postgres_store).is_identical  # run again: nothing added
        copied = postgres_store.subscriber_by_email("ada@example.org")
        assert copied.confirmed_at == NOW
        assert postgres_store.received_papers([copied.id]) == {copied.id: {"2612.00001", "2612.00002"}}
        [pending] = postgres_store.sendable_digests(now=NOW, limit=5)
        assert (pending.email, pending.message) == ("bob@example.org", b"bytes")
        assert [r.is_acceptance_seen for r in postgres_store.outbox_rows(unseen=True)] == [False]
    finally:
        source.close()
