"""One error shape per layer: `{"ok": false, "error", "status"}` under /api/, an HTML page elsewhere."""

from __future__ import annotations

import sqlite3

import pytest
from starlette.testclient import TestClient

from paperwire.store.sqlite import path_from_url
from paperwire.web.app import MAX_REQUEST_BYTES, create_app
from tests.conftest import make_paper

CASES = [
    # path, status, words the message has
    ("/nothing-here", 404, "there is nothing at /nothing-here"),
    ("/day/2025-13-01", 404, "is not a day; use YYYY-MM-DD"),
    ("/day/2025-03-01?page=x", 400, "is not a page number"),
    ("/day/2025-03-01?page=2", 404, "has 1 page(s) of papers, not 2"),
    ("/paper/2503.99999", 404, "no paper '2503.99999' in the store"),
    ("/paper/nonsense", 404, "is not an arXiv id"),
    ("/static/missing.css", 404, "there is nothing at /static/missing.css"),
]
API_CASES = [
    ("/api/nothing-here", 404, "there is nothing at /api/nothing-here"),
    ("/api/days/2025-13-01", 404, "is not a day; use YYYY-MM-DD"),
    ("/api/days/2025-03-01?page=0", 400, "is not a page number"),
    ("/api/days/2025-03-01?page=2", 404, "has 1 page(s) of papers, not 2"),
    ("/api/papers/2503.99999", 404, "no paper '2503.99999' in the store"),
    ("/api/papers/nonsense", 404, "is not an arXiv id"),
]


@pytest.fixture
def client(client, store):
    store.upsert_papers([make_paper()], source="test")
    return client


def assert_json_error(response, status: int, words: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"ok", "error", "status"}
    assert body["ok"] is False and body["status"] == status
    assert words in body["error"]


def assert_html_error(response, status: int, words: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert f'<p class="code">{status}</p>' in response.text
    assert words.replace("'", "&#39;") in response.text


@pytest.mark.parametrize("path, status, words", API_CASES)
def test_api_errors_are_json(client, path, status, words):
    assert_json_error(client.get(path), status, words)


@pytest.mark.parametrize("path, status, words", CASES)
def test_page_errors_are_html(client, path, status, words):
    assert_html_error(client.get(path), status, words)


def test_wrong_method(client):
    assert_json_error(client.post("/api/status"), 405, "Method Not Allowed")
    response = client.post("/status")
    assert_html_error(response, 405, "Method Not Allowed")
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}


def test_body_over_the_limit(client):
    body = b"x" * (MAX_REQUEST_BYTES + 1)
    assert_json_error(client.post("/api/status", content=body), 413, "over the limit")
    assert_html_error(client.post("/", content=body), 413, "over the limit")


def test_server_error_hides_the_details(settings, store):
    with sqlite3.connect(path_from_url(store.url)) as db:
        db.execute("DROP TABLE job_runs")
    client = TestClient(create_app(settings, store=store), raise_server_exceptions=False)
    assert_json_error(client.get("/api/status"), 500, "something went wrong on the server")
    response = client.get("/status")
    assert_html_error(response, 500, "something went wrong on the server")
    assert "job_runs" not in response.text
