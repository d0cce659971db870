"""`paperwire db check`: a healthy store passes; each kind of damage, made with raw SQL on
either engine, is reported as one line; stale vectors are a note, not a problem."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date

import numpy as np
import pytest
from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.feed import DailyEntry
from paperwire.search.service import SearchService
from paperwire.store import open_store
from paperwire.store.check import check
from paperwire.store.sqlite import SQLiteEngine
from tests.conftest import NOW, make_paper
from tests.store.test_copy import _fill


def damage(store, sql: str, params=()) -> None:
    """Run `sql` with foreign keys not enforced, as a bug or a hand edit could."""
    if isinstance(store.engine, SQLiteEngine):  # the store's writer enforces them; a bare connection does not
        with closing(sqlite3.connect(store.engine.path)) as conn, conn:
            conn.execute(sql, params)
        return
    with store.engine.write() as db:
        db.execute("SET LOCAL session_replication_role = replica")  # skips the FK triggers
        db.execute(sql, params)


def _row_id(store, arxiv_id: str) -> int:
    return store.paper_ids([arxiv_id])[arxiv_id]


def test_a_healthy_store_passes_with_its_stale_vector_as_a_note(store, tmp_path):
    _fill(store)
    SearchService(tmp_path / "indexes").rebuild(store)
    report = check(store, index_root=tmp_path / "indexes")
    assert report.is_healthy, report.problems
    assert report.counts["papers"] == 4 and report.counts["deleted papers"] == 1
    assert report.counts["embeddings"] == 4  # one of them stale
    assert report.counts["users"] == report.counts["comments"] == report.counts["api tokens"] == 0
    assert len(report.notes) == 1 and report.notes[0].startswith("1 vectors are stale")


def test_an_empty_store_needs_no_index(store, tmp_path):
    report = check(store, index_root=tmp_path / "indexes")
    assert report.is_healthy and report.notes == []


ORPHANS = [
    ("paper version", "INSERT INTO paper_versions (paper_id, number) VALUES (?, 1)", lambda s: (99_999_999,)),
    ("paper category", "INSERT INTO paper_categories (category, paper_id) VALUES ('cs.CL', ?)",
     lambda s: (99_999_999,)),
    # a deleted paper keeps its row (a tombstone), but never its categories or vectors
    ("paper category", "INSERT INTO paper_categories (category, paper_id) VALUES ('cs.CL', ?)",
     lambda s: (_tombstone(s),)),
    ("paper source", "INSERT INTO paper_sources (arxiv_id, source, record_hash, seen_at) "
     "VALUES ('2599.99999', 'files', 'h', '2025-01-01')", lambda s: ()),
    ("daily entry", "INSERT INTO daily_entries (day, arxiv_id, source) VALUES ('2025-03-03', '2599.99999', 'hf')",
     lambda s: ()),
    # the community's rows name their paper by arxiv_id
    ("upvote", "INSERT INTO upvotes (user_id, arxiv_id, created_at) VALUES (?, '2599.99999', '2025-01-01')",
     lambda s: (_user_id(s),)),
    ("submission", "INSERT INTO submissions (day, arxiv_id, user_id, created_at) "
     "VALUES ('2025-03-03', '2599.99999', ?, '2025-01-01')", lambda s: (_user_id(s),)),
    ("comment", "INSERT INTO comments (arxiv_id, user_id, body, body_html, render_version, created_at) "
     "VALUES ('2599.99999', ?, 'x', 'x', 1, '2025-01-01')", lambda s: (_user_id(s),)),
]


def _user_id(store) -> int:
    return store.create_user(username="ada", email="ada@example.org", password_hash="x", now=NOW).id


def _tombstone(store) -> int:
    rows = store.engine.read().rows("SELECT id FROM papers WHERE arxiv_id = '2503.00004'")
    return rows[0]["id"]


@pytest.mark.parametrize("noun, sql, params", ORPHANS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(ORPHANS)])
def test_each_kind_of_orphan_row_is_reported(store, tmp_path, noun, sql, params):
    _fill(store)
    damage(store, sql, params(store))
    report = check(store, index_root=None)
    assert report.problems == [f"1 orphan {noun} rows: their paper is missing from the papers table"]


def test_vectors_of_a_deleted_paper_are_orphans(store):
    _fill(store)
    vector = np.ones(384, dtype="<f4") / np.sqrt(384)
    row_id = _tombstone(store)
    damage(store, "INSERT INTO embeddings (paper_id, model, text_hash, vector, embedded_at, embed_seq) "
                  "VALUES (?, 'minilm', 'h', ?, '2025-01-01', 999)",
           (row_id, store.engine.vector(vector, paper_id=row_id)))
    assert check(store, index_root=None).problems == [
        "1 orphan embedding rows: their paper is missing from the papers table"
    ]


def test_a_paper_deleted_under_its_rows_leaves_orphans_of_every_kind(store):
    _fill(store)
    damage(store, "DELETE FROM papers WHERE arxiv_id = ?", ("2503.00002",))
    problems = check(store, index_root=None).problems
    assert problems == [f"{n} orphan {noun} rows: their paper is missing from the papers table"
                        for n, noun in ((2, "paper version"), (2, "paper category"), (1, "embedding"),
                                        (1, "paper source"))]


def test_an_index_behind_the_store_says_how_far(store, tmp_path):
    _fill(store)
    SearchService(tmp_path / "indexes").rebuild(store)
    store.upsert_papers([make_paper(arxiv_id="2503.00009"), make_paper(arxiv_id="2503.00010")], source="test")
    [problem] = check(store, index_root=tmp_path / "indexes").problems
    assert "(2 behind); run `paperwire index rebuild`" in problem
    SearchService(tmp_path / "indexes").rebuild(store)
    assert check(store, index_root=tmp_path / "indexes").is_healthy


def test_a_store_with_papers_and_no_index_or_a_truncated_one_is_reported(store, tmp_path):
    _fill(store)
    [problem] = check(store, index_root=tmp_path / "indexes").problems
    assert problem.startswith("no search index was ever built for this store")
    SearchService(tmp_path / "indexes").rebuild(store)
    [saved] = (tmp_path / "indexes").glob("*/keywords/meta.json")  # the tantivy index's own metadata
    saved.write_bytes(saved.read_bytes()[:100])
    [problem] = check(store, index_root=tmp_path / "indexes").problems
    assert "is unreadable" in problem


def test_an_index_at_the_right_seq_missing_a_paper_is_reported(store, tmp_path):
    """The oracle is the live papers' row ids: a bumped change_seq alone does not fool it."""
    _fill(store)
    service = SearchService(tmp_path / "indexes")
    service.rebuild(store)
    service.indexes.lexical.delete([_row_id(store, "2503.00005")])
    service.save()
    [problem] = check(store, index_root=tmp_path / "indexes").problems
    assert "lacks 1 live papers and holds 0" in problem


def test_sqlite_integrity_check_finds_an_index_that_disagrees_with_its_table(sqlite_url):
    store = open_store(sqlite_url)
    store.upsert_papers([make_paper(arxiv_id=f"2503.{i:05d}", title=f"T{i}") for i in range(1, 20)], source="test")
    store.upsert_daily_entries([DailyEntry(day=date(2025, 3, 3), arxiv_id="2503.00001")])
    with closing(sqlite3.connect(store.engine.path)) as conn:
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("UPDATE sqlite_schema SET sql = 'CREATE INDEX papers_day ON papers (title, published_at)' "
                     "WHERE name = 'papers_day'")
        conn.commit()
    store.close()
    store = open_store(sqlite_url)
    problems = check(store, index_root=None).problems
    store.close()
    assert problems and all(p.startswith("integrity_check: ") for p in problems)
    assert any("papers_day" in p for p in problems)


def test_cli_db_check_exits_1_with_one_line_per_problem(sqlite_url, tmp_path):
    runner = CliRunner()
    env = {"PAPERWIRE_CACHE_DIR": str(tmp_path / "cache")}
    store = open_store(sqlite_url)
    store.upsert_papers([make_paper()], source="test")
    store.close()
    assert runner.invoke(cli, ["--database-url", sqlite_url, "index", "rebuild"], env=env).exit_code == 0
    healthy = runner.invoke(cli, ["--database-url", sqlite_url, "db", "check"], env=env)
    assert healthy.exit_code == 0, healthy.output
    assert "papers 1," in healthy.output and "healthy" in healthy.output
    with closing(sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))) as conn, conn:
        conn.execute("INSERT INTO paper_versions (paper_id, number) VALUES (12345, 1)")
        conn.execute("INSERT INTO daily_entries (day, arxiv_id, source) VALUES ('2025-03-03', '2599.1', 'hf')")
    damaged = runner.invoke(cli, ["--database-url", sqlite_url, "db", "check"], env=env)
    assert damaged.exit_code == 1, damaged.output
    assert [line for line in damaged.output.splitlines() if line.startswith("problem: ")] == [
        "problem: 1 orphan paper version rows: their paper is missing from the papers table",
        "problem: 1 orphan daily entry rows: their paper is missing from the papers table",
    ]
