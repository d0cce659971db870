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
from paperwire.store.maps import MAPS_CHECKPOINT
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
    store.set_checkpoint(MAPS_CHECKPOINT, "v1:60:7:3")  # about topic_maps rows, which are not copied
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
    assert postgres_store.get_checkpoint(MAPS_CHECKPOINT) is None and back_store.get_checkpoint(MAPS_CHECKPOINT) is None
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
    # Run again (say, after a kill once the copy had ended), it finds the copy whole.
    again = CliRunner().invoke(cli, ["db", "copy", source_url, postgres_url])
    assert again.exit_code == 0 and "copied: checksums match" in again.output, again.output
    other_url = f"sqlite:///{tmp_path}/other.db"
    other = open_store(other_url)
    other.upsert_papers([make_paper(arxiv_id="2509.00001")], source="test")
    other.close()
    refused = CliRunner().invoke(cli, ["db", "copy", other_url, postgres_url])
    assert refused.exit_code == 1 and "already holds 4 papers" in refused.output


def _fill_community(store) -> None:
    """A row in each community table, with times, days, booleans, a reply and nulls."""
    from datetime import timedelta

    ada = store.create_user(username="ada", email="ada@example.org", password_hash="h-ada", now=NOW, is_admin=True)
    store.create_invite("invite-1", created_by=ada.id, now=NOW)
    bob = store.create_user(username="bob", email="bob@example.org", password_hash="h-bob", now=NOW,
                            invite_hash="invite-1")
    store.create_session("session-1", ada.id, now=NOW, user_agent="Firefox")
    store.create_reset_link("reset-1", bob.id, now=NOW)
    store.upvote(bob.id, "2503.00001", now=NOW)
    store.submit(date(2025, 3, 3), "2503.00005", ada.id, now=NOW)
    top = store.add_comment("2503.00001", ada.id, body="*hi*", body_html="<p><em>hi</em></p>", render_version=1,
                            now=NOW)
    store.add_comment("2503.00001", bob.id, body="yes", body_html="<p>yes</p>", render_version=1,
                      now=NOW + timedelta(minutes=1), parent_id=top.id)
    store.set_comment_hidden(top.id, hidden_by=ada.id, now=NOW)
    store.create_api_token(bob.id, name="ci", token_hash="token-1", scopes="read write", now=NOW)
    store.set_disabled("bob", now=NOW)


def test_the_community_tables_copy_from_sqlite_to_postgres_and_back(tmp_path, postgres_store):
    from paperwire.store.rows import COMMUNITY_TABLES

    first = open_store(f"sqlite:///{tmp_path}/first.db")
    _fill(first)
    _fill_community(first)
    there = copy(first, postgres_store)
    assert there.is_identical and there.source.community_count == 10
    assert {t.name: postgres_store.table_count(t) for t in COMMUNITY_TABLES} == {
        "users": 2, "sessions": 1, "invites": 1, "reset_links": 1, "upvotes": 1, "submissions": 1,
        "comments": 2, "api_tokens": 1}
    ada = postgres_store.user_by_name("ada")
    assert ada == first.user_by_name("ada") and ada.is_admin and postgres_store.user_by_name("bob").is_disabled
    assert postgres_store.comments_for("2503.00001") == first.comments_for("2503.00001")
    assert postgres_store.session_user("session-1", now=NOW) == ada
    # New rows on the copy take ids after the copied ones (PostgreSQL's identities moved on).
    carol = postgres_store.create_user(username="carol", email="c@example.org", password_hash="h", now=NOW)
    assert carol.id > postgres_store.user_by_name("bob").id
    note = postgres_store.add_comment("2503.00001", carol.id, body="x", body_html="x", render_version=1, now=NOW)
    assert note.id > max(c.id for c in first.comments_for("2503.00001"))
    back_store = open_store(f"sqlite:///{tmp_path}/back.db")
    assert copy(postgres_store, back_store).is_identical
    copied = {c.id: c for c in back_store.comments_for("2503.00001")}
    assert [copied[c.id] for c in first.comments_for("2503.00001")] == first.comments_for("2503.00001")
    assert copy(first, open_store(f"sqlite:///{tmp_path}/again.db")).target == there.source
    first.close()
    back_store.close()
