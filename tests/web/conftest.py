"""Fixtures for the web tests: settings, a real SQLite store and an in-process client.

`store` is SQLite alone here: the web layer needs one real store, and
tests/store/ already holds both engines to the same behaviour.
"""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from paperwire import config
from paperwire.store import open_store
from paperwire.web.app import create_app


@pytest.fixture
def settings(sqlite_url):
    return config.load({}, database_url=sqlite_url, harvest_enabled="false")


@pytest.fixture
def store(sqlite_url):
    s = open_store(sqlite_url)
    yield s
    s.close()


@pytest.fixture
def client(settings, store):
    """A client on the app, without its lifespan (so no background harvest)."""
    return TestClient(create_app(settings, store=store), follow_redirects=False)


def listed_ids(html: str) -> list[str]:
    """The arXiv ids of the paper cards on a page, in order."""
    return re.findall(r'<h3 class="title"><a href="/paper/([^"]+)">', html)
