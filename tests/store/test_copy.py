"""`paperwire db copy`: SQLite to PostgreSQL and back, nothing lost, checksums equal."""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pytest
from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.papers import Author, Version, text_hash
from paperwire.feed import DailyEntry
from paperwire.store import open_store
from paperwire.store.copy import CopyError, copy, digest
from tests.conftest import NOW, make_paper


def _fill(store) -> None:
    store.upsert_papers([
        make_paper(arxiv_id="2503.00001"),
        make_paper(arxiv_id="2503.00002", version=3, title="Über $\\alpha$ — 量子",
                   versions=(Version(1), Version(3, datetime(2025, 3, 9, tzinfo=timezone.utc)))),
        make_paper(arxiv_id="hep-th/9901001", authors=(Author("Ada", ("A", "B")),), doi="10.1/x"),
        make_paper(arxiv_id="2503.00004"),
    ], source="arxiv_api")
    store.upsert_papers([make_paper(arxiv_id="2503.00005", code_url="https://github.com/a/b")], source="hf_daily")
    store.delete_papers(["2503.00004"], source="oai")
    store.upsert_daily_entries([
        DailyEntry(day=date(2025, 3, 3), arxiv_id="2503.00001", upvote_count=7, seen_at=NOW),
        DailyEntry(day=date(2025, 3, 5), arxiv_id="2503.00005", github_star_count=3, ai_summary="Short."),
    ])
    rng = np.random.default_rng(0)
    todo = store.papers_to_embed("minilm")
    store.put_embeddings("minilm", [
        (row_id, text_hash(p), rng.standard_normal(384).astype(np.float32)) for row_id, p in todo
    ])
    # a vector whose abstract changed since: stale, so it is not copied
    store.upsert_papers([make_paper(arxiv_id="2503.00001", version=2, abstract="Changed.")], source="arxiv_api")
    store.set_checkpoint("oai:cs:2025-01-01:2025-01-31", "token-7")
    run_id = store.start_job_run("harvest arxiv_api", now=NOW)
    store.finish_job_run(run_id, status="ok", summary="3 new", now=NOW)


def test_round_trip_sqlite_postgres_sqlite_keeps_everything(tmp_path, postgres_store):
    first = open_store(f"sqlite:///{tmp_path}/first.db")
    _fill(first)
    there = copy(first, postgres_store)
    assert there.is_identical and there.stale_embedding_count == 1
    back_store = open_store(f"sqlite:///{tmp_path}/back.db")
    back = copy(postgres_store, back_store)
    assert back.is_identical and back.target == there.source
    assert there.source.paper_count == 4 and there.source.embedding_count == 3
    assert (there.source.daily_entry_count, there.source.checkpoint_count, there.source.job_run_count) == (2, 1, 1)
    for arxiv_id in ("2503.00002", "hep-th/9901001", "2503.00005"):
        assert back_store.get_paper(arxiv_id) == first.get_paper(arxiv_id)
    assert back_store.daily_entries(date(2025, 3, 3)) == first.daily_entries(date(2025, 3, 3))
    assert [p.arxiv_id for _, p in back_store.papers_to_embed("minilm")] == ["2503.00001"]
    first.close()
    back_store.close()


def test_a_store_that_holds_papers_is_not_a_target(tmp_path, store):
    store.upsert_papers([make_paper()], source="t")
    other = open_store(f"sqlite:///{tmp_path}/other.db")
    with pytest.raises(CopyError, match="already holds 1 papers"):
        copy(other, store)
    assert digest(other).paper_count == 0
    other.close()


def test_cli_db_copy_prints_matching_checksums(tmp_path, postgres_database):
    postgres_url = postgres_database
    source_url = f"sqlite:///{tmp_path}/cli.db"
    source = open_store(source_url)
    _fill(source)
    source.close()
    result = CliRunner().invoke(cli, ["db", "copy", source_url, postgres_url])
    assert result.exit_code == 0, result.output
    assert "papers 4" in result.output and "copied: checksums match" in result.output
    again = CliRunner().invoke(cli, ["db", "copy", source_url, postgres_url])
    assert again.exit_code == 1 and "already holds 4 papers" in again.output
