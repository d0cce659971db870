"""Shared fixtures: paper builders and a real store per test.

`store` is parametrized over the engines, so a store test written once runs on
each. PostgreSQL is the server PAPERWIRE_TEST_DATABASE_URL names, or else one
started for the session by `pgserver` (a PostgreSQL 16 with pgvector from PyPI;
it runs as root too, under a user of its own). Each test worker migrates one
database; a PostgreSQL store test runs in a transaction rolled back at its end
(`postgres_store`), and a test that needs committed data (several processes,
another connection) gets a fresh copy of the migrated database
(`postgres_database`). Tests marked `slow` run only when asked (`--run-slow`,
PAPERWIRE_TEST_SLOW=1) or on CI (CI set in the environment).
"""

from __future__ import annotations

import os
import tempfile
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from paperwire.papers import Author, Paper, Version
from paperwire.store import Store, open_store
from paperwire.store.postgres import PostgresEngine

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
def cache_settings(tmp_path, sqlite_url, model_cache, embedder):
    """Settings on `sqlite_url` whose cache folder (PAPERWIRE_CACHE_DIR) is in tmp_path and
    holds the model graph the session built (`embedder` builds it once, whichever test
    comes first), so nothing is built or written elsewhere."""
    from paperwire import config

    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "models").symlink_to(model_cache)
    return config.load({}, database_url=sqlite_url, model_cache_dir=str(tmp_path / "cache"),
                       harvest_enabled="false")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/paperwire.db"


TEST_DATABASE_URL = "PAPERWIRE_TEST_DATABASE_URL"
SLOW_ENV = "PAPERWIRE_TEST_SLOW"


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help=f"also run tests marked slow (or set {SLOW_ENV}=1)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "concurrency: several processes on one PostgreSQL"
    )


def pytest_collection_modifyitems(config, items):
    """Skip `slow` tests unless asked for: --run-slow, PAPERWIRE_TEST_SLOW=1, `-m slow`,
    or CI set in the environment (CI services set CI=true), so CI runs everything."""
    if _run_slow(config):
        return
    skip = pytest.mark.skip(reason=f"slow: run with --run-slow or {SLOW_ENV}=1 (CI runs it)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def _run_slow(config) -> bool:
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    asked = os.environ.get(SLOW_ENV, "").strip() == "1" or "slow" in (config.getoption("markexpr") or "")
    return ci or asked or config.getoption("--run-slow")


@dataclass(frozen=True)
class PostgresServer:
    """A PostgreSQL server with pgvector for this test session, and `template`, this test
    worker's migrated, empty database that test databases are copies of."""

    admin_url: str
    template: str

    def database_url(self, name: str) -> str:
        return urlunsplit(urlsplit(self.admin_url)._replace(path=f"/{name}"))

    def create_database(self, name: str, *, template: str | None = None) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
            # Tests need no durability; commits that skip the WAL flush keep the suite fast.
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """This session's server: PAPERWIRE_TEST_DATABASE_URL's (the user must be allowed to
    create databases), or one started by `pgserver`. The template is migrated once."""
    admin_url = os.environ.get(TEST_DATABASE_URL) or _start_pgserver()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    server = PostgresServer(admin_url, f"paperwire_template_{worker}")
    server.drop_database(server.template)
    open_store(server.create_database(server.template)).close()  # migrate; no connection stays open
    return server


@pytest.fixture(scope="session")
def postgres_url(postgres_server) -> str:
    """This worker's migrated test database, which `postgres_store` tests share and never
    commit to: what a test finds there committed is only the migrations."""
    name = f"paperwire_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    postgres_server.drop_database(name)
    return postgres_server.create_database(name, template=postgres_server.template)


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
    return server.get_uri("postgres")


@pytest.fixture
def postgres_store(postgres_url):
    """A PostgreSQL store whose every write is rolled back after the test (warehouse's
    `database` fixture): the store runs on one connection inside a transaction, and its
    own transactions become savepoints. Sequences are not rolled back: ids and seqs do
    not start at 1. For a test that needs several connections or processes to see its
    data, use `postgres_database` instead."""
    conn = psycopg.connect(postgres_url, autocommit=True)
    try:
        with conn.transaction(force_rollback=True):
            yield Store(PostgresEngine.open(postgres_url, connect=lambda: conn))
    finally:
        conn.close()


@pytest.fixture
def postgres_database(postgres_server) -> str:
    """The URL of a migrated, empty database of this test's own, where writes commit
    (for several processes or connections); dropped after the test."""
    name = f"paperwire_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create_database(name, template=postgres_server.template)
    yield url
    postgres_server.drop_database(name)


@pytest.fixture
def postgres_database_store(postgres_database):
    """A store on `postgres_database`."""
    s = open_store(postgres_database)
    yield s
    s.close()


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
