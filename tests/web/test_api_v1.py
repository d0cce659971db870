"""The JSON API v1: the routes, paging and its limits, the OpenAPI document and its
docs page, CORS, and the unversioned routes as aliases."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from paperwire import config
from paperwire.feed import DailyEntry
from paperwire.papers import to_dict
from paperwire.search.service import SearchService
from paperwire.web import openapi
from paperwire.web.app import ROUTES, create_app
from tests.conftest import make_paper
from paperwire.web.pages import SEARCH_PAGE_SIZE
from tests.web.conftest import listed_ids
from tests.web.test_error_shape import assert_json_error

PAPER_COUNT = 7


@pytest.fixture
def seeded(store):
    store.upsert_papers([
        make_paper(arxiv_id=f"2503.000{n:02d}", title=f"Attention study {n}",
                   published_at=datetime(2025, 3, 1, n, tzinfo=timezone.utc))
        for n in range(1, PAPER_COUNT + 1)
    ], source="test")
    return store


@pytest.fixture
def client(settings, seeded, tmp_path):
    return TestClient(create_app(settings, store=seeded, search=SearchService(tmp_path / "i")))


def pages(client, url: str, query: dict, size: int) -> list[list[str]]:
    """Every page of a list, `size` papers a page, until the API answers 404."""
    found, page = [], 1
    while True:
        response = client.get(url, params={**query, "page": page, "page_size": size})
        if response.status_code == 404:
            return found
        body = response.json()
        assert body["page"] == page and body["page_size"] == size
        papers = [item["paper"] for item in body.get("items", [])] or [hit["paper"] for hit in body.get("hits", [])]
        found.append([p["arxiv_id"] for p in papers])
        page += 1


@pytest.mark.parametrize("url, query", [
    ("/api/v1/days/2025-03-01", {}), ("/api/v1/search", {"q": "attention", "sort": "newest"}),
])
@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_paging_lists_each_paper_once(client, url, query, size):
    everything = client.get(url, params={**query, "page_size": openapi.MAX_PAGE_SIZE}).json()
    listed = [item["paper"]["arxiv_id"] for item in everything.get("items", [])] or \
             [hit["paper"]["arxiv_id"] for hit in everything.get("hits", [])]
    assert len(listed) == PAPER_COUNT
    found = pages(client, url, query, size)
    assert [len(page) for page in found[:-1]] == [size] * (len(found) - 1)
    assert [i for page in found for i in page] == listed


def test_the_default_page_sizes_are_the_pages(client):
    assert client.get("/api/v1/days/2025-03-01").json()["page_size"] == openapi.DAY_PAGE_SIZE
    assert client.get("/api/v1/search?q=attention").json()["page_size"] == openapi.SEARCH_PAGE_SIZE


@pytest.mark.parametrize("size, words", [
    (str(openapi.MAX_PAGE_SIZE + 1), f"page_size 101 is over the limit of {openapi.MAX_PAGE_SIZE} papers"),
    ("100000", "is over the limit"),
    ("0", "page_size '0' is not a number of papers; use 1 to 100"),
    ("ten", "page_size 'ten' is not a number of papers"),
])
@pytest.mark.parametrize("path", ["/api/v1/days/2025-03-01", "/api/v1/search?q=attention"])
def test_page_size_over_the_limit_is_refused_in_the_error_shape(client, path, size, words):
    sep = "&" if "?" in path else "?"
    assert_json_error(client.get(f"{path}{sep}page_size={size}"), 400, words)


@pytest.mark.parametrize("path, status, words", [
    ("/api/v1/papers/2503.99999", 404, "no paper '2503.99999' in the store"),
    ("/api/v1/papers/nonsense/similar", 404, "is not an arXiv id"),
    ("/api/v1/days/latest?page=9", 404, "has 1 page(s) of papers, not 9"),
    ("/api/v1/search?q=attention&page=9", 404, "fewer than page 9"),
    ("/api/v1/search?mode=psychic", 400, "mode 'psychic' is not known"),
    ("/api/v1/nothing", 404, "there is nothing at /api/v1/nothing"),
])
def test_v1_errors_have_the_one_shape(client, path, status, words):
    assert_json_error(client.get(path), status, words)


@pytest.mark.parametrize("old, new", [
    ("/api/days/2025-03-01", "/api/v1/days/2025-03-01"),
    ("/api/papers/2503.00001", "/api/v1/papers/2503.00001"),
    ("/api/papers/2503.00001/similar", "/api/v1/papers/2503.00001/similar"),
    ("/api/search?q=attention", "/api/v1/search?q=attention"),
])
def test_unversioned_routes_answer_as_v1(client, old, new):
    before, now = client.get(old).json(), client.get(new).json()
    now.pop("page_size", None), before.pop("page_size", None)
    for body in (before, now):
        body.pop("pending_count", None)
    assert before == now


def test_the_document_describes_every_v1_route(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    served = {r.path.replace(":path", "") for r in ROUTES if isinstance(r, Route) and r.path.startswith("/api/v1/")}
    assert set(document["paths"]) == served - {"/api/v1/openapi.json"}
    methods = {}
    for r in ROUTES:
        if isinstance(r, Route) and r.path.startswith("/api/v1/"):
            methods.setdefault(r.path.replace(":path", ""), set()).update(m.lower() for m in r.methods - {"HEAD"})
    for path, operations in document["paths"].items():
        assert set(operations) == methods[path], path
        for operation in operations.values():
            responses = operation["responses"]
            assert responses["404" if "{" in path else "500"]["content"]["application/json"]["schema"] == \
                {"$ref": "#/components/schemas/Error"}
            for parameter in operation["parameters"]:
                assert parameter["description"] and parameter["schema"], (path, parameter["name"])


@pytest.mark.parametrize("schema, fields", [
    ("Paper", lambda: set(to_dict(make_paper()))),
    ("DailyEntry", lambda: {f.name for f in dataclasses.fields(DailyEntry)}),
])
def test_the_schemas_name_every_field_the_api_sends(schema, fields):
    assert set(openapi.SCHEMAS[schema]["properties"]) == fields()


def test_the_docs_page_lists_the_document(client):
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.headers["content-type"] == "text/html; charset=utf-8"
    # Server-rendered: no script beyond the one every page has (base.html's).
    assert response.text.count("<script") == client.get("/status").text.count("<script")
    for path, operations in openapi.PATHS.items():
        for method in operations:
            assert f"<code>{method.upper()} {path}</code>" in response.text
    for name in openapi.SCHEMAS:
        assert f'id="schema-{name}"' in response.text
    assert "1 to 100; default 20" in response.text  # page_size of search, from the schema


def cors_client(sqlite_url, store, tmp_path, origins: str) -> TestClient:
    settings = config.load({}, database_url=sqlite_url, harvest_enabled="false", cors_origins=origins)
    return TestClient(create_app(settings, store=store, search=SearchService(tmp_path / "i")))


def test_cors_is_off_by_default(client):
    response = client.get("/api/v1/status", headers={"Origin": "https://app.example.org"})
    assert response.status_code == 200 and "access-control-allow-origin" not in response.headers
    preflight = client.options("/api/v1/status", headers={
        "Origin": "https://app.example.org", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_the_origins_named(sqlite_url, seeded, tmp_path):
    client = cors_client(sqlite_url, seeded, tmp_path, "https://app.example.org http://localhost:3000")
    allowed = client.get("/api/v1/status", headers={"Origin": "https://app.example.org"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.org"
    assert "etag" in allowed.headers["access-control-expose-headers"].lower()
    feed = client.get("/feed.json", headers={"Origin": "http://localhost:3000"})
    assert feed.headers["access-control-allow-origin"] == "http://localhost:3000"
    other = client.get("/api/v1/status", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    preflight = client.options("/api/v1/search", headers={
        "Origin": "https://app.example.org", "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200 and "GET" in preflight.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in preflight.headers


def test_cors_for_everyone(sqlite_url, seeded, tmp_path):
    client = cors_client(sqlite_url, seeded, tmp_path, "*")
    assert client.get("/api/v1/status", headers={"Origin": "https://a.example"}).headers[
        "access-control-allow-origin"] == "*"


def test_the_python_client_in_the_docs_pages_through_a_search(client, seeded):
    """docs/api.md's client, run as written (its functions; a TestClient is an httpx.Client),
    over more papers than its page of 100."""
    seeded.upsert_papers([
        make_paper(arxiv_id=f"2502.{n:05d}", title=f"Attention again {n}",
                   published_at=datetime(2025, 2, 1, n % 24, n % 60, tzinfo=timezone.utc)) for n in range(1, 96)
    ], source="test")
    text = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.DOTALL).group(1)
    namespace: dict = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)  # __name__ is not "__main__": defines only
    found = [h["paper"]["arxiv_id"] for h in namespace["search_all"](client, "attention")]
    expected = [h["paper"]["arxiv_id"] for page in (1, 2, 3) for h in client.get("/api/v1/search", params={
        "q": "attention", "page_size": 40, "page": page}).json()["hits"]]
    assert found == expected and len(set(found)) == PAPER_COUNT + 95


@pytest.mark.parametrize("page, size", [(1, SEARCH_PAGE_SIZE), (2, 3), (3, 3)])
def test_the_api_and_the_search_page_run_one_search(client, page, size):
    """pages.run_search serves both; the API only chooses its page size."""
    api_ids = [h["paper"]["arxiv_id"] for h in client.get(
        "/api/v1/search", params={"q": "attention", "page": page, "page_size": size}).json()["hits"]]
    everything = listed_ids(client.get("/search", params={"q": "attention"}).text)
    assert api_ids == everything[(page - 1) * size:page * size] != []
