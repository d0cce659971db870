"""Issue #8 item 5: an export loses nothing. `export` -> `ingest file` into a fresh
store (of either engine) -> `export` gives the same bytes, and the restored store
holds what the first did: sources, version histories, record hashes, tombstones and
the daily lists."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timezone

import pytest
from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.feed import DailyEntry
from paperwire.papers import Version
from paperwire.store import open_store
from tests.conftest import make_paper

SEEN_AT = datetime(2025, 3, 2, 9, 30, 15, 123456, tzinfo=timezone.utc)


def fill(store) -> None:
    """A store as several sources leave it: two versions from the API then OAI text, a
    Hugging Face paper and its lists, a plain-file paper, a withdrawn one, a tombstone."""
    v1 = make_paper(arxiv_id="2503.00001", title="First words")
    store.upsert_papers([v1], source="arxiv_api")
    v2 = dataclasses.replace(v1, version=2, title="Newer words",
                             versions=(Version(2, datetime(2025, 3, 4, tzinfo=timezone.utc)),))
    store.upsert_papers([v2], source="oai_pmh", record_hashes={"2503.00001": "oai-record-hash"})
    store.upsert_papers([make_paper(arxiv_id="2503.00002", version=0, versions=(), source="hf_daily")],
                        source="hf_daily")
    store.upsert_papers([make_paper(arxiv_id="math/0309136", subject_classes=("57M25",), authors=())],
                        source="file", record_hashes={"math/0309136": "line-hash"})
    store.upsert_papers([make_paper(arxiv_id="2503.00003", is_withdrawn=True, comments="withdrawn")],
                        source="arxiv_api")
    store.upsert_papers([make_paper(arxiv_id="2503.00004", title="Gone upstream")], source="oai_pmh")
    store.delete_papers(["2503.00004"], source="oai_pmh")
    store.upsert_daily_entries([
        DailyEntry(day=date(2025, 3, 3), arxiv_id="2503.00002", upvote_count=42, comment_count=3,
                   submitted_by="akhaliq", organization="lab", organization_name="The Lab",
                   github_repo="https://github.com/lab/x", github_star_count=120, seen_at=SEEN_AT),
        DailyEntry(day=date(2025, 3, 3), arxiv_id="2503.00001", upvote_count=7, seen_at=SEEN_AT),
        DailyEntry(day=date(2025, 3, 4), arxiv_id="2503.00002", upvote_count=50, ai_summary="Ünïcode — fine"),
    ])


def run(url: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--database-url", url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request, tmp_path):
    """The URL of a new, empty store of each engine (PostgreSQL: a committed database of
    its own, since the CLI opens its own connections)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/restored.db"
    return request.getfixturevalue("postgres_database")


def test_export_ingest_export_is_byte_identical(tmp_path, fresh_url):
    first_url = f"sqlite:///{tmp_path}/first.db"
    store = open_store(first_url)
    fill(store)
    store.close()
    run(first_url, "export", "-o", str(tmp_path / "a.jsonl"))
    output = run(fresh_url, "ingest", "file", str(tmp_path / "a.jsonl"))
    assert "5 new" in output and "1 deleted" in output and "3 daily entries" in output
    run(fresh_url, "export", "-o", str(tmp_path / "b.jsonl"))
    assert (tmp_path / "b.jsonl").read_bytes() == (tmp_path / "a.jsonl").read_bytes()


def test_the_restored_store_holds_what_the_first_held(tmp_path, fresh_url):
    first = open_store(f"sqlite:///{tmp_path}/first.db")
    fill(first)
    run(first.url, "export", "-o", str(tmp_path / "a.jsonl"))
    run(fresh_url, "ingest", "file", str(tmp_path / "a.jsonl"))
    restored = open_store(fresh_url)
    try:
        assert list(restored.iter_papers()) == list(first.iter_papers())
        assert [p.source for p in restored.iter_papers()] == ["arxiv_api", "hf_daily", "arxiv_api", "file"]
        assert list(restored.iter_papers(deleted=True)) == list(first.iter_papers(deleted=True))
        assert list(restored.iter_daily_entries()) == list(first.iter_daily_entries())
        ids = [p.arxiv_id for p in first.iter_papers()]
        assert restored.record_hashes(ids) == first.record_hashes(ids)
        # What the sources sent is known again: re-sending it is skipped without a merge.
        again = restored.upsert_papers([first.get_paper("2503.00001")], source="oai_pmh",
                                       record_hashes={"2503.00001": "oai-record-hash"})
        assert (again.new_count, again.updated_count, again.unchanged_count) == (0, 0, 1)
        assert restored.stats().deleted_count == 1
    finally:
        restored.close()
        first.close()


def test_a_malformed_export_line_is_skipped_alone(tmp_path, sqlite_url):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"arxiv_id": "2503.00001", "title": "Kept", "abstract": "", "record_hashes": ["not", "a", "dict"]}\n'
        '{"kind": "daily_entry", "day": "not a day", "arxiv_id": "2503.00001"}\n'
        '{"arxiv_id": "2503.00002", "title": "Also kept", "abstract": "", "source": "arxiv_api"}\n'
    )
    result = CliRunner().invoke(cli, ["--database-url", sqlite_url, "ingest", "file", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 new" in result.output and "2 skipped" in result.output
    assert "record_hashes is a JSON list" in result.output and "daily entry:" in result.output
    store = open_store(sqlite_url)
    assert store.get_paper("2503.00002").source == "arxiv_api"
    store.close()
