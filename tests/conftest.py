"""Shared fixtures: paper builders and a real store per test.

`store` is parametrized over the engines, so a store test written once runs on
each; the PostgreSQL engine joins the list in tests/store_backends.py.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from paperwire.papers import Author, Paper, Version
from paperwire.store import open_store

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=timezone.utc)


def make_paper(**overrides) -> Paper:
    """A valid paper; pass any field to override it."""
    fields = dict(
        arxiv_id="2503.00001",
        version=1,
        title="A Placeholder Title",
        abstract="We study placeholders.",
        authors=(Author("Ada Lovelace", ("Analytical Engines Ltd",)), Author("Alan Turing")),
        primary_category="cs.LG",
        categories=("cs.LG", "cs.AI"),
        published_at=datetime(2025, 3, 1, 18, 0, tzinfo=timezone.utc),
        updated_at=datetime(2025, 3, 1, 18, 0, tzinfo=timezone.utc),
        versions=(Version(1, datetime(2025, 3, 1, 18, 0, tzinfo=timezone.utc)),),
        source="test",
    )
    fields.update(overrides)
    return Paper(**fields)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/paperwire.db"


@pytest.fixture
def store(sqlite_url):
    s = open_store(sqlite_url)
    yield s
    s.close()
