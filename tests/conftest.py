"""Shared fixtures: paper builders and a real store per test.

`store` is parametrized over the engines, so a store test written once runs on
each. PostgreSQL is the server PAPERWIRE_TEST_DATABASE_URL names (its tables are
emptied before every test), or else one started for the session by `pgserver`
(a PostgreSQL 16 with pgvector from PyPI; it runs as root too, under a user of
its own). One database per session; each test starts from empty tables.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from datetime import datetime, timezone

import psycopg
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


def paper_of(fields) -> Paper:
    """A search test paper (tests/search/conftest.py's PaperFields) as the store holds it,
    under the id 2501.000NN where NN is its paper_id."""
    published_at = datetime(fields.day.year, fields.day.month, fields.day.day, tzinfo=timezone.utc)
    return make_paper(
        arxiv_id=f"2501.{fields.paper_id:05d}", title=fields.title, abstract=fields.abstract,
        authors=tuple(Author(name) for name in fields.authors), categories=fields.categories,
        primary_category=fields.categories[0], versions=(), published_at=published_at,
        code_url="https://github.com/example/code" if fields.has_code else None,
    )


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def embedder(model_cache):
    """The real model from the installed packages, its graph built once per test session."""
    from paperwire.search.embed import Embedder

    return Embedder.load(model_cache, threads=1)


@pytest.fixture
def cache_settings(tmp_path, sqlite_url, model_cache):
    """Settings on `sqlite_url` whose cache folder (PAPERWIRE_CACHE_DIR) is in tmp_path and
    holds the model graph the session built, so nothing is built or written elsewhere."""
    from paperwire import config

    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "models").symlink_to(model_cache)
    return config.load({}, database_url=sqlite_url, model_cache_dir=str(tmp_path / "cache"),
                       harvest_enabled="false")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/paperwire.db"


TEST_DATABASE_URL = "PAPERWIRE_TEST_DATABASE_URL"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "concurrency: several processes on one PostgreSQL (a few seconds; in the default run)"
    )


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A migrated PostgreSQL database with pgvector, for the whole session."""
    url = os.environ.get(TEST_DATABASE_URL) or _start_pgserver()
    open_store(url).close()  # migrate once, so tests only pay for emptying tables
    return url


def _start_pgserver() -> str:
    try:
        with warnings.catch_warnings():  # platformdirs warns that XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError:
        pytest.fail(f"PostgreSQL tests need pgserver (pip install -e '.[test]') or {TEST_DATABASE_URL}")
    # Not under pytest's basetemp: pytest makes that 0700, and the server runs as
    # another user when we are root. The server and its folder go at exit.
    server = pgserver.get_server(tempfile.mkdtemp(prefix="paperwire-pg-"), cleanup_mode="delete")
    database = f"paperwire_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
        # Tests need no durability; commits that skip the WAL flush keep the suite fast.
        conn.execute(f'ALTER DATABASE "{database}" SET synchronous_commit = off')
    return server.get_uri(database)


@pytest.fixture
def postgres_store(postgres_url):
    """A PostgreSQL store whose tables are empty."""
    empty_postgres(postgres_url)
    s = open_store(postgres_url)
    yield s
    s.close()


def empty_postgres(url: str) -> None:
    """Empty every paperwire table (not schema_migrations) and restart their sequences.

    DELETE, not TRUNCATE: on a few rows it takes 7 ms instead of 40-100 ms. Every
    foreign key cascades, so the order of the tables does not matter.
    """
    with psycopg.connect(url) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename <> 'schema_migrations'"
        )]
        for table in tables:
            conn.execute(f"DELETE FROM {table}")
        conn.execute(
            "SELECT setval(format('%I.%I', schemaname, sequencename), 1, false) FROM pg_sequences"
            " WHERE schemaname = current_schema()"
        )


@pytest.fixture(params=["sqlite", "postgres"])
def store(request):
    """A fresh, empty store on each engine."""
    fixture = "postgres_store" if request.param == "postgres" else "_sqlite_store"
    return request.getfixturevalue(fixture)


@pytest.fixture
def _sqlite_store(sqlite_url):
    s = open_store(sqlite_url)
    yield s
    s.close()
