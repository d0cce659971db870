"""A reply racing the delete of its parent, on real concurrent connections, on both engines.

The bug this pins: the delete decided "no replies, so remove the row" from what it
could see, a reply committed meanwhile, and the cascade took the reply with the
parent, although its author had been told it was posted. The oracle after every
round: each reply that `add_comment` acknowledged still exists under its parent,
each refused one raised NotFound (never a foreign-key error) and left nothing, and
the parent is gone exactly when no reply survived.
"""

from __future__ import annotations

import threading
import time

import pytest

from paperwire.store import NotFound, open_store
from tests.store.test_accounts import NOW, add_user
from tests.store.test_upvotes import committed_url  # noqa: F401 (a fixture)

PAPER = "2503.00001"
ROUND_COUNT = 50
REPLIER_COUNT = 3
# How long a transaction that holds its lock stays open in the interleaving tests: long
# enough for the other connection to reach the point where it must wait.
HOLD_SECONDS = 0.3


def post(store, user_id, text="hello", *, parent_id=None):
    return store.add_comment(PAPER, user_id, body=text, body_html=f"<p>{text}</p>", render_version=1,
                             now=NOW, parent_id=parent_id)


class Workers:
    """Threads with a store (a connection) each, that run one call apiece per round, all
    released at once by a barrier; each call's result or exception is kept."""

    def __init__(self, url: str, count: int):
        self.stores = [open_store(url) for _ in range(count)]

    def run(self, calls) -> list:
        go = threading.Barrier(len(calls))
        results: list = [None] * len(calls)

        def work(i, call):
            go.wait()
            try:
                results[i] = call(self.stores[i])
            except Exception as error:  # noqa: BLE001 (kept for the oracle to judge)
                results[i] = error

        threads = [threading.Thread(target=work, args=(i, call)) for i, call in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        return results

    def close(self):
        for store in self.stores:
            store.close()


def test_replies_racing_the_delete_of_their_parent_are_never_lost(committed_url):  # noqa: F811
    setup = open_store(committed_url)
    ada, bob = add_user(setup, "ada").id, add_user(setup, "bob").id
    workers = Workers(committed_url, REPLIER_COUNT + 1)
    acknowledged = refused = 0
    try:
        for n in range(ROUND_COUNT):
            parent = post(setup, ada, f"parent {n}")
            calls = [lambda s, i=i: post(s, bob, f"reply {n}.{i}", parent_id=parent.id) for i in range(REPLIER_COUNT)]
            results = workers.run([*calls, lambda s: s.delete_comment(parent.id, now=NOW)])
            *replies, deleted = results
            assert deleted is True, deleted
            for reply in replies:
                assert not isinstance(reply, Exception) or isinstance(reply, NotFound), repr(reply)
            kept = [r for r in replies if not isinstance(r, Exception)]
            stored = {c.id: c for c in setup.comments_for(PAPER) if c.parent_id == parent.id}
            assert sorted(stored) == sorted(r.id for r in kept), f"round {n}: acknowledged replies lost"
            after = setup.comment(parent.id)
            assert (after is not None) == bool(kept), f"round {n}: parent {after} with replies {kept}"
            assert after is None or (after.is_deleted and after.body == "")
            acknowledged += len(kept)
            refused += len(replies) - len(kept)
    finally:
        workers.close()
    orphans = setup.engine.read().rows(
        "SELECT c.id FROM comments c WHERE c.parent_id IS NOT NULL AND NOT EXISTS"
        " (SELECT 1 FROM comments p WHERE p.id = c.parent_id)")
    setup.close()
    assert orphans == []
    assert acknowledged + refused == ROUND_COUNT * REPLIER_COUNT


def test_the_last_two_replies_deleted_at_once_take_their_deleted_parent(committed_url):  # noqa: F811
    setup = open_store(committed_url)
    ada, bob = add_user(setup, "ada").id, add_user(setup, "bob").id
    workers = Workers(committed_url, 2)
    try:
        for n in range(ROUND_COUNT // 5):
            parent = post(setup, ada, f"parent {n}")
            first, second = (post(setup, bob, f"reply {k}", parent_id=parent.id) for k in range(2))
            setup.delete_comment(parent.id, now=NOW)
            assert workers.run([lambda s: s.delete_comment(first.id, now=NOW),
                                lambda s: s.delete_comment(second.id, now=NOW)]) == [True, True]
            assert setup.comment(parent.id) is None, f"round {n}: an empty [deleted] comment was left"
    finally:
        workers.close()
        setup.close()


# --- PostgreSQL, one interleaving at a time ---------------------------------------------------

def _in_open_transaction(store, call, started: threading.Event, results: list) -> None:
    """Run `call(store)` inside a transaction that stays open HOLD_SECONDS after it (the
    store's own transaction becomes a savepoint in it), then commit."""
    try:
        with store.engine.write():
            results.append(call(store))
            started.set()
            time.sleep(HOLD_SECONDS)
    except Exception as error:  # noqa: BLE001
        started.set()
        results.append(error)


@pytest.fixture
def two_stores(postgres_database):
    stores = [open_store(postgres_database) for _ in range(2)]
    yield stores
    for store in stores:
        store.close()


def test_on_postgresql_a_delete_that_waits_for_a_reply_keeps_the_parent(two_stores):
    replier, deleter = two_stores
    ada, bob = add_user(deleter, "ada").id, add_user(deleter, "bob").id
    parent = post(deleter, ada, "parent")
    started, results = threading.Event(), []
    thread = threading.Thread(target=_in_open_transaction,
                              args=(replier, lambda s: post(s, bob, "reply", parent_id=parent.id), started, results))
    thread.start()
    started.wait(10)
    assert deleter.delete_comment(parent.id, now=NOW)  # waits for the reply's commit, then sees it
    thread.join()
    [reply] = results
    assert deleter.comment(reply.id) == reply
    assert deleter.comment(parent.id).is_deleted


def test_on_postgresql_a_reply_that_waits_for_a_delete_is_refused_clearly(two_stores):
    replier, deleter = two_stores
    ada, bob = add_user(deleter, "ada").id, add_user(deleter, "bob").id
    parent = post(deleter, ada, "parent")
    started, results = threading.Event(), []
    thread = threading.Thread(target=_in_open_transaction,
                              args=(deleter, lambda s: s.delete_comment(parent.id, now=NOW), started, results))
    thread.start()
    started.wait(10)
    with pytest.raises(NotFound, match="to reply to"):
        post(replier, bob, "reply", parent_id=parent.id)
    thread.join()
    assert results == [True] and replier.comments_for(PAPER) == []
