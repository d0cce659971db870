"""What only the PostgreSQL store has: nearest neighbours, migrations shared by many starters."""

from __future__ import annotations

import threading
import uuid
from urllib.parse import quote

import numpy as np
import psycopg
import pytest

from paperwire.papers import text_hash
from paperwire.store import StoreError, open_store
from paperwire.store.postgres import EMBEDDING_DIMENSIONS, redact
from tests.conftest import make_paper


def _unit(*values: float) -> np.ndarray:
    vector = np.zeros(EMBEDDING_DIMENSIONS, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def test_nearest_ranks_by_cosine(postgres_store):
    store = postgres_store
    store.upsert_papers([make_paper(arxiv_id=f"2503.0000{i}", title=f"T{i}") for i in range(4)], source="t")
    ids = store.paper_ids([f"2503.0000{i}" for i in range(4)])
    directions = {"2503.00000": (1, 0), "2503.00001": (1, 1), "2503.00002": (0, 1), "2503.00003": (-1, 0)}
    papers = store.get_papers(directions)
    store.put_embeddings("m", [(ids[a], text_hash(papers[a]), _unit(*d)) for a, d in directions.items()])
    store.put_embeddings("other", [])

    hits = store.nearest("m", _unit(1, 0.2), 3)
    assert [hit[0] for hit in hits] == [ids["2503.00000"], ids["2503.00001"], ids["2503.00002"]]
    expected = [float(_unit(1, 0.2) @ _unit(*directions[a])) for a in ("2503.00000", "2503.00001", "2503.00002")]
    assert [round(score, 5) for _, score in hits] == [round(s, 5) for s in expected]
    assert store.nearest("m", _unit(-1, 0), 1, ef_search=10) == [(ids["2503.00003"], pytest.approx(1.0))]
    assert store.nearest("unknown-model", _unit(1, 0), 3) == []


def test_vectors_round_trip_exactly_and_wrong_sizes_are_refused(postgres_store):
    store = postgres_store
    store.upsert_papers([make_paper()], source="t")
    [(row_id, paper)] = store.papers_to_embed("m")
    vector = np.random.default_rng(1).standard_normal(EMBEDDING_DIMENSIONS).astype(np.float32)
    assert store.put_embeddings("m", [(row_id, text_hash(paper), vector)]) == 1
    [(_, vectors)] = list(store.iter_embeddings("m"))
    assert vectors.dtype == np.float32 and vectors[0].tobytes() == vector.tobytes()
    with pytest.raises(StoreError, match="has 4 dimensions"):
        store.put_embeddings("m", [(row_id, text_hash(paper), np.ones(4, dtype=np.float32))])


def test_migrations_run_once_however_many_start_together(postgres_url):
    url, drop = _fresh_schema(postgres_url)
    try:
        errors, stores = [], []

        def start():
            try:
                stores.append(open_store(url))
            except Exception as error:  # collected and asserted below
                errors.append(error)

        threads = [threading.Thread(target=start) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [] and len(stores) == 4
        stores[0].upsert_papers([make_paper()], source="t")
        assert stores[0].migrate() == []  # nothing left to apply
        for store in stores:
            store.close()
        reopened = open_store(url)
        assert reopened.get_paper("2503.00001").title == make_paper().title
        reopened.close()
    finally:
        drop()


def test_a_server_that_is_not_there_is_a_store_error():
    with pytest.raises(StoreError, match=r"cannot connect to PostgreSQL at postgresql://u:\*\*\*@127\.0\.0\.1:1/x"):
        open_store("postgresql://u:secret@127.0.0.1:1/x")
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


def test_a_forked_or_threaded_caller_gets_its_own_connection(postgres_database_store):
    store = postgres_database_store
    store.upsert_papers([make_paper()], source="t")
    pids = []

    def read():
        pids.append(store.engine._db.info.backend_pid)
        assert store.get_paper("2503.00001").title == "A Placeholder Title"

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert pids and pids[0] != store.engine._db.info.backend_pid


def _fresh_schema(url: str):
    """The URL of an empty schema in the test database (pgvector stays in public), and its dropper."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in url else "?"

    def drop():
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")

    return f"{url}{separator}options={quote(f'-csearch_path={schema},public')}", drop


def test_a_postgres_store_test_commits_nothing(postgres_store, postgres_url):
    """postgres_store runs inside a transaction that is rolled back: another connection
    sees none of its writes, and the next test starts from an empty database."""
    postgres_store.upsert_papers([make_paper()], source="t")
    postgres_store.set_checkpoint("c", "1")
    assert postgres_store.get_paper("2503.00001").title == make_paper().title
    with psycopg.connect(postgres_url) as other:
        counts = [other.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in ("papers", "checkpoints")]
    assert counts == [0, 0]


def test_opening_a_migrated_database_takes_no_lock_that_a_long_transaction_holds(postgres_url):
    """A store opened inside an open transaction (as `postgres_store` is, and as the web
    app's store is in the API schema tests) must not stall a second process's open: the
    schemathesis tests used to wait 30 s at teardown for the app's index thread here."""
    from paperwire.store.postgres import PostgresEngine

    url, drop = _fresh_schema(postgres_url)
    holder = psycopg.connect(url, autocommit=False)
    try:
        open_store(url).close()  # migrated and committed
        holder.execute("SELECT 1")  # the transaction is open, so migrate's own becomes a savepoint
        PostgresEngine(url, connect=lambda: holder).migrate()
        opened = []
        thread = threading.Thread(target=lambda: opened.append(open_store(url)), daemon=True)
        thread.start()
        thread.join(timeout=20)
        assert opened, "open_store waited on a lock held by another connection's transaction"
        opened[0].close()
    finally:
        holder.rollback()  # releases the lock, so a waiting open ends and the schema can go
        holder.close()
        drop()
