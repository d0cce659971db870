"""Store behaviour that every engine must share."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timezone

import pytest

from paperwire.papers import Version
from paperwire.feed import DailyEntry
from paperwire.store import NotFound
from tests.conftest import NOW, make_paper


def test_insert_then_read_back_is_identical(store):
    paper = make_paper(doi="10.1/x", comments="12 pages", code_url="https://github.com/a/b")
    counts = store.upsert_papers([paper], source="test")
    assert (counts.new_count, counts.updated_count, counts.unchanged_count) == (1, 0, 0)
    assert store.get_paper(paper.arxiv_id) == paper


def test_same_data_twice_changes_nothing(store):
    papers = [make_paper(arxiv_id=f"2503.0000{i}") for i in range(5)]
    store.upsert_papers(papers, source="test")
    seq = store.last_change_seq()
    counts = store.upsert_papers(papers, source="test")
    assert (counts.new_count, counts.updated_count, counts.unchanged_count) == (0, 0, 5)
    assert store.last_change_seq() == seq


def test_newer_version_replaces_older(store):
    v1 = make_paper()
    v2 = make_paper(version=2, title="Better Title",
                    updated_at=datetime(2025, 3, 5, tzinfo=timezone.utc),
                    versions=(Version(2, datetime(2025, 3, 5, tzinfo=timezone.utc)),))
    store.upsert_papers([v1], source="test")
    counts = store.upsert_papers([v2], source="test")
    assert counts.updated_count == 1
    held = store.get_paper(v1.arxiv_id)
    assert held.version == 2 and held.title == "Better Title"
    assert [v.number for v in held.versions] == [1, 2]


def test_older_version_never_overwrites_newer(store):
    v2 = make_paper(version=2, title="Newer")
    v1 = make_paper(version=1, title="Older", code_url="https://github.com/x/y")
    store.upsert_papers([v2], source="arxiv_api")
    store.upsert_papers([v1], source="hf_daily")
    held = store.get_paper(v2.arxiv_id)
    assert held.title == "Newer" and held.version == 2
    assert held.code_url == "https://github.com/x/y"  # fills what the newer record lacked


def test_duplicate_ids_within_one_batch_are_merged(store):
    counts = store.upsert_papers(
        [make_paper(version=1, title="One"), make_paper(version=2, title="Two")], source="test"
    )
    assert counts.new_count == 1
    assert store.get_paper("2503.00001").title == "Two"


def test_delete_keeps_a_tombstone_in_the_change_log(store):
    store.upsert_papers([make_paper()], source="test")
    assert store.delete_papers(["2503.00001", "2503.99999"], source="oai") == 1
    with pytest.raises(NotFound):
        store.get_paper("2503.00001")
    last = store.changes_since(0)[-1]
    assert last.arxiv_id == "2503.00001" and last.paper is None
    # the same record again brings it back
    assert store.upsert_papers([make_paper()], source="test").new_count == 1
    assert store.get_paper("2503.00001").title == "A Placeholder Title"


def test_changes_since_follows_every_write(store):
    store.upsert_papers([make_paper(arxiv_id="2503.00001"), make_paper(arxiv_id="2503.00002")], source="t")
    first = store.last_change_seq()
    store.upsert_papers([make_paper(arxiv_id="2503.00001", version=2, title="T2")], source="t")
    changes = store.changes_since(first)
    assert [(c.arxiv_id, c.paper.title) for c in changes] == [("2503.00001", "T2")]
    assert changes[0].paper_id == store.paper_ids(["2503.00001"])["2503.00001"]


def test_old_style_ids_and_unicode_round_trip(store):
    paper = make_paper(arxiv_id="hep-th/9901001", title="Über $\\alpha$ — 量子", authors=())
    store.upsert_papers([paper], source="test")
    assert store.get_paper("hep-th/9901001") == paper


def test_papers_on_day_and_adjacent_days(store):
    store.upsert_papers([
        make_paper(arxiv_id="2503.00001", published_at=datetime(2025, 3, 1, 9, tzinfo=timezone.utc)),
        make_paper(arxiv_id="2503.00002", published_at=datetime(2025, 3, 1, 10, tzinfo=timezone.utc)),
        make_paper(arxiv_id="2503.00003", published_at=datetime(2025, 3, 4, 10, tzinfo=timezone.utc)),
    ], source="test")
    day = date(2025, 3, 1)
    assert [p.arxiv_id for p in store.papers_on_day(day)] == ["2503.00002", "2503.00001"]
    assert store.count_papers_on_day(day) == 2
    assert store.adjacent_days(day) == (None, date(2025, 3, 4))
    assert store.adjacent_days(date(2025, 3, 4)) == (day, None)
    assert store.latest_day() == date(2025, 3, 4)


def test_daily_entries_are_idempotent_and_sorted_by_upvotes(store):
    day = date(2025, 3, 3)
    entries = [
        DailyEntry(day=day, arxiv_id="2503.00001", upvote_count=3),
        DailyEntry(day=day, arxiv_id="2503.00002", upvote_count=9, github_repo="https://github.com/a/b"),
    ]
    assert store.upsert_daily_entries(entries).new_count == 2
    assert store.upsert_daily_entries(entries).unchanged_count == 2
    bumped = dataclasses.replace(entries[0], upvote_count=30)
    assert store.upsert_daily_entries([bumped]).updated_count == 1
    assert [e.arxiv_id for e in store.daily_entries(day)] == ["2503.00001", "2503.00002"]
    assert store.latest_day() == day


def test_checkpoints_set_and_clear(store):
    assert store.get_checkpoint("oai:cs") is None
    store.set_checkpoint("oai:cs", "token-1")
    store.set_checkpoint("oai:cs", "token-2")
    assert store.get_checkpoint("oai:cs") == "token-2"
    store.set_checkpoint("oai:cs", None)
    assert store.get_checkpoint("oai:cs") is None


def test_job_runs_are_recorded(store):
    run_id = store.start_job_run("harvest", now=NOW)
    store.finish_job_run(run_id, status="failed", summary="HTTP 503", now=NOW)
    [run] = store.recent_job_runs()
    assert (run.job, run.status, run.summary) == ("harvest", "failed", "HTTP 503")


def test_abandoned_runs_are_marked_failed(store):
    stuck = store.start_job_run("harvest arxiv_api", now=NOW)
    other = store.start_job_run("embed", now=NOW)
    assert store.abandon_job_runs("harvest", now=NOW) == 1
    runs = {run.id: run for run in store.recent_job_runs()}
    assert runs[stuck].status == "failed" and "interrupted" in runs[stuck].summary
    assert runs[other].status == "running"


def test_stats_and_iteration(store):
    store.upsert_papers([make_paper(arxiv_id=f"2503.0000{i}") for i in range(3)], source="t")
    stats = store.stats()
    assert stats.paper_count == 3 and stats.category_counts == {"cs.LG": 3, "cs.AI": 3}
    assert [p.arxiv_id for p in store.iter_papers(batch_size=2)] == ["2503.00000", "2503.00001", "2503.00002"]


def test_embeddings_follow_text_changes(store):
    import numpy as np

    from paperwire.papers import text_hash

    store.upsert_papers([make_paper(arxiv_id="2503.00001"), make_paper(arxiv_id="2503.00002")], source="t")
    todo = store.papers_to_embed("m")
    assert [p.arxiv_id for _, p in todo] == ["2503.00001", "2503.00002"]
    rows = [(row_id, text_hash(p), np.full(384, i, dtype=np.float32)) for i, (row_id, p) in enumerate(todo)]
    assert store.put_embeddings("m", rows) == 2
    assert store.papers_to_embed("m") == [] and store.embedding_count("m") == 2
    [(ids, vectors)] = list(store.iter_embeddings("m"))
    assert ids.tolist() == [r[0] for r in rows] and vectors[1].tolist() == [1.0] * 384
    # a changed abstract needs a new vector; a stale vector for it is refused
    store.upsert_papers([make_paper(arxiv_id="2503.00001", version=2, abstract="New.")], source="t")
    assert [p.arxiv_id for _, p in store.papers_to_embed("m")] == ["2503.00001"]
    assert store.put_embeddings("m", [rows[0]]) == 0
    # a deleted paper loses its vector; the changed one keeps its old vector until re-embedded
    store.delete_papers(["2503.00002"], source="t")
    [(ids, _)] = list(store.iter_embeddings("m"))
    assert ids.tolist() == [rows[0][0]]


def test_raw_record_hashes_let_a_source_skip_what_it_sent(store):
    paper = make_paper()
    store.upsert_papers([paper], source="file", record_hashes={paper.arxiv_id: "raw-1"})
    assert store.seen_records("file", ["raw-1", "raw-2"]) == {"raw-1"}
    assert store.seen_records("other", ["raw-1"]) == set()
    counts = store.upsert_papers([paper], source="file", record_hashes={paper.arxiv_id: "raw-1"})
    assert counts.unchanged_count == 1
    store.delete_papers([paper.arxiv_id], source="oai")
    assert store.seen_records("file", ["raw-1"]) == set()


def test_withdrawn_state_and_subject_classes_read_back(store):
    paper = make_paper(is_withdrawn=True, subject_classes=("94A29", "I.4.2"))
    store.upsert_papers([paper], source="test")
    assert store.get_paper(paper.arxiv_id) == paper
    revised = dataclasses.replace(paper, version=2, is_withdrawn=False, versions=(Version(2),))
    assert store.upsert_papers([revised], source="test").updated_count == 1
    assert not store.get_paper(paper.arxiv_id).is_withdrawn


def test_daily_entry_keeps_the_organisation_name(store):
    entry = DailyEntry(day=date(2025, 1, 14), arxiv_id="2501.00042", organization="magrathea",
                       organization_name="Magrathea Planet Builders", github_star_count=4242)
    store.upsert_daily_entries([entry])
    assert store.daily_entries(date(2025, 1, 14)) == [entry]


def _forget_migration(store, name: str) -> None:
    """Make the store apply migration `name` again on its next migrate(), through its own
    connection (on PostgreSQL that is the test's transaction, rolled back afterwards)."""
    with store.engine.write() as db:
        db.execute("DELETE FROM schema_migrations WHERE name = ?", (name,))


def test_migration_moves_old_style_ids_to_their_canonical_form(store):
    # Stored before ids were canonical: one alone, one beside its canonical form, two that
    # would become one. Only the first can move without merging records.
    ids = ["math.GT/0309136", "math.AT/0401001", "math/0401001", "math.GT/0502002", "math.AG/0502002"]
    store.upsert_papers([make_paper(arxiv_id=i, title=i) for i in ids], source="test")
    store.upsert_daily_entries([DailyEntry(day=date(2003, 9, 9), arxiv_id="math.GT/0309136", upvote_count=5)])
    seq = store.last_change_seq()
    _forget_migration(store, "0004_canonical_ids.sql")
    store.migrate()
    assert store.get_paper("math/0309136").title == "math.GT/0309136"
    assert [e.upvote_count for e in store.daily_entries_for("math/0309136")] == [5]
    assert sorted(p.arxiv_id for p in store.iter_papers()) == sorted(
        ["math/0309136", "math.AT/0401001", "math/0401001", "math.GT/0502002", "math.AG/0502002"])
    moved = store.changes_since(seq)
    assert [c.arxiv_id for c in moved] == ["math/0309136"]


def test_lookups_of_more_ids_than_one_in_list_agree_with_a_full_scan(store):
    """SQLite asks `IN (...)` in chunks of 500 ids, PostgreSQL sends one array: both must
    find exactly what reading every paper finds, deleted and unknown ids left out."""
    import numpy as np

    from paperwire.papers import text_hash

    count = 1_003  # three chunks of SQLite's 500
    store.upsert_papers([make_paper(arxiv_id=f"2504.{i:05d}", title=f"T{i}") for i in range(count)], source="t")
    store.delete_papers([f"2504.{i:05d}" for i in range(0, count, 7)], source="t")
    scan = {p.arxiv_id: p for p in store.iter_papers(batch_size=400)}
    assert len(scan) == count - len(range(0, count, 7))
    asked = [f"2504.{i:05d}" for i in range(count)] + ["2504.99999"]

    assert store.get_papers(asked) == scan
    row_ids = store.paper_ids(asked)
    assert sorted(row_ids) == sorted(scan)
    by_row = store.get_papers_by_row([*row_ids.values(), -1])
    assert {row_id: p.arxiv_id for row_id, p in by_row.items()} == {r: a for a, r in row_ids.items()}
    hashes = store.seen_records("t", [p.content_hash for p in scan.values()] + ["unknown"])
    assert hashes == {p.content_hash for p in scan.values()}

    # A vector for every 25th paper (PostgreSQL's HNSW index makes each write slow), asked
    # for among every row id; distinct directions, because the index sees them too.
    rng = np.random.default_rng(7)
    vectors = [(row_ids[a], text_hash(p), rng.standard_normal(384).astype(np.float32))
               for a, p in list(scan.items())[::25]]
    assert store.put_embeddings("m", vectors) == len(vectors)
    found = store.get_embeddings("m", [*row_ids.values(), -1])
    assert {row_id: v.tobytes() for row_id, v in found.items()} == {row_id: v.tobytes() for row_id, _, v in vectors}
