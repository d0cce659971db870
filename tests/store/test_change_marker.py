"""Store.change_marker on both engines: the same while nothing is written, another value
after any write (a paper, an upvote taken back, a comment hidden), whoever wrote it."""

from __future__ import annotations

from datetime import datetime, timezone

from paperwire.store import open_store
from tests.conftest import make_paper

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def test_the_marker_moves_with_every_write_and_only_then(store):
    store.upsert_papers([make_paper(arxiv_id="2601.00001")], source="test")
    user = store.create_user(username="ada", email="ada@example.org", password_hash="x", now=NOW).id
    before = store.change_marker()
    store.upvote_count("2601.00001")
    store.get_paper("2601.00001")
    assert store.change_marker() == before  # reads change nothing
    writes = [
        lambda: store.upvote(user, "2601.00001", now=NOW),
        lambda: store.unvote(user, "2601.00001"),  # a row gone: no sequence would show it
        lambda: store.upsert_papers([make_paper(arxiv_id="2601.00001", title="Edited", version=2)], source="test"),
    ]
    seen = [before]
    for write in writes:
        write()
        seen.append(store.change_marker())
        assert seen[-1] != seen[-2]


def test_another_connections_write_moves_the_marker(sqlite_url):
    reader, writer = open_store(sqlite_url), open_store(sqlite_url)  # as two processes would
    try:
        before = reader.change_marker()
        writer.upsert_papers([make_paper(arxiv_id="2601.00002")], source="test")
        assert reader.change_marker() != before
    finally:
        reader.close()
        writer.close()
