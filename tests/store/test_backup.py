"""`paperwire db backup|restore` on both engines: backup → change and destroy → restore
gives back the same digest (store.copy.digest), also for a backup taken while another
thread ingests, and a bad backup leaves the store as it was."""

from __future__ import annotations

import threading
import time

import pytest
from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.store import open_store
from paperwire.store.backup import BackupError, backup, restore
from paperwire.store.check import check
from paperwire.store.copy import digest
from tests.conftest import make_paper
from tests.store.test_copy import _fill

BATCH_SIZE = 50


@pytest.fixture(params=["sqlite", "postgres"])
def committed_url(request, tmp_path):
    """A migrated, empty database whose writes commit (backups are read by other processes)."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_database")
    return f"sqlite:///{tmp_path}/live.db"


def test_restore_brings_back_what_the_backup_held(committed_url, tmp_path):
    store = open_store(committed_url)
    _fill(store)
    before = digest(store)
    backup(store, tmp_path / "store.backup")
    store.upsert_papers([make_paper(arxiv_id="2503.00077")], source="test")
    store.delete_papers(["2503.00001", "2503.00002"], source="test")
    store.set_checkpoint("oai:cs:2025-01-01:2025-01-31", "token-9")
    assert digest(store) != before
    restore(store, tmp_path / "store.backup")
    assert digest(store) == before
    assert check(store, index_root=None).is_healthy
    store.close()


def test_a_backup_taken_while_another_thread_ingests_is_one_consistent_moment(committed_url, tmp_path):
    """Every batch is one transaction, so a consistent backup holds whole batches only;
    the ingest runs from before the backup starts until after it ends."""
    store = open_store(committed_url)
    stop = threading.Event()
    written: list[int] = []

    def ingest() -> None:
        writer = open_store(committed_url)
        try:
            while not stop.is_set():
                b = len(written)
                writer.upsert_papers([make_paper(arxiv_id=f"2504.{b * BATCH_SIZE + i:05d}", title=f"P {b} {i}")
                                      for i in range(BATCH_SIZE)], source="files")
                written.append(b)
        finally:
            writer.close()

    thread = threading.Thread(target=ingest)
    thread.start()
    try:
        while len(written) < 2:  # let it get going first
            time.sleep(0.01)
        backup(store, tmp_path / "during.backup")
    finally:
        stop.set()
        thread.join()
    restore(store, tmp_path / "during.backup")
    restored = digest(store)
    assert restored.paper_count % BATCH_SIZE == 0 and restored.paper_count >= 2 * BATCH_SIZE
    assert restored.paper_count <= len(written) * BATCH_SIZE
    ids = [p.arxiv_id for p in store.iter_papers()]
    assert ids == [f"2504.{i:05d}" for i in range(restored.paper_count)]  # whole batches, in order, once
    assert check(store, index_root=None).is_healthy
    store.close()


def test_restore_refuses_a_file_that_is_no_backup_and_keeps_the_store(committed_url, tmp_path):
    store = open_store(committed_url)
    _fill(store)
    before = digest(store)
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"this is not a backup\n" * 100)
    with pytest.raises(BackupError):
        restore(store, junk)
    assert digest(store) == before
    store.close()


def test_cli_backup_and_restore(sqlite_url, tmp_path):
    runner = CliRunner()
    store = open_store(sqlite_url)
    _fill(store)
    before = digest(store)
    store.close()
    path = tmp_path / "cli.backup"
    made = runner.invoke(cli, ["--database-url", sqlite_url, "db", "backup", str(path)])
    assert made.exit_code == 0, made.output
    assert path.is_file() and not path.with_name("cli.backup.partial").exists()
    store = open_store(sqlite_url)
    store.delete_papers(["2503.00001"], source="test")
    store.close()
    restored = runner.invoke(cli, ["--database-url", sqlite_url, "db", "restore", str(path)])
    assert restored.exit_code == 0, restored.output
    assert "4 papers" in restored.output
    store = open_store(sqlite_url)
    assert digest(store) == before
    store.close()
    missing_folder = runner.invoke(cli, ["--database-url", sqlite_url, "db", "backup", str(tmp_path / "no" / "x")])
    assert missing_folder.exit_code != 0 and "does not exist" in missing_folder.output


def test_a_running_server_store_reads_and_writes_the_restored_data(committed_url, tmp_path):
    """The server's store stays open across a restore made by another process's store: its
    connections (prepared statements on PostgreSQL, readers on SQLite) see the restored
    tables, vectors included, and its next write lands on them."""
    server = open_store(committed_url)
    _fill(server)
    before = digest(server)
    for _ in range(8):  # psycopg prepares a statement after 5 runs; a restore must not break them
        assert digest(server) == before
    operator = open_store(committed_url)
    backup(operator, tmp_path / "store.backup")
    server.delete_papers(["2503.00002"], source="test")
    restore(operator, tmp_path / "store.backup")
    operator.close()
    assert digest(server) == before
    server.upsert_papers([make_paper(arxiv_id="2503.00066")], source="test")
    assert server.get_paper("2503.00066").arxiv_id == "2503.00066"
    assert check(server, index_root=None).is_healthy
    server.close()


def test_an_index_saved_after_the_backup_is_never_taken_for_the_restored_store(committed_url, tmp_path):
    """Restored, the store is behind an index saved later; once new changes pass that
    index's change_seq it would look current while holding other papers. The restore
    gives the store a new index id, so the old index is not used (db check says so)."""
    from paperwire.search.service import SearchService

    store = open_store(committed_url)
    _fill(store)
    SearchService(tmp_path / "indexes").rebuild(store)
    backup(store, tmp_path / "store.backup")
    store.upsert_papers([make_paper(arxiv_id=f"2505.{i:05d}") for i in range(3)], source="test")
    SearchService(tmp_path / "indexes").rebuild(store)
    restore(store, tmp_path / "store.backup")
    store.upsert_papers([make_paper(arxiv_id=f"2506.{i:05d}") for i in range(5)], source="test")
    [problem] = check(store, index_root=tmp_path / "indexes").problems
    assert problem.startswith("no search index was ever built for this store")
    SearchService(tmp_path / "indexes").rebuild(store)
    assert check(store, index_root=tmp_path / "indexes").is_healthy
    store.close()


def test_a_backup_from_an_older_schema_is_migrated_when_restored(sqlite_url, tmp_path):
    import sqlite3
    from contextlib import closing

    from paperwire.store.sqlite import MIGRATIONS

    store = open_store(sqlite_url)
    _fill(store)
    before = digest(store)
    backup(store, tmp_path / "old.backup")
    with closing(sqlite3.connect(tmp_path / "old.backup")) as conn, conn:  # as if made before 0004 existed
        conn.execute("DELETE FROM schema_migrations WHERE name = '0004_canonical_ids.sql'")
    restore(store, tmp_path / "old.backup")
    names = [row["name"] for row in store.engine.read().rows("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == sorted(script.name for script in MIGRATIONS.glob("*.sql"))
    assert digest(store) == before
    store.close()
