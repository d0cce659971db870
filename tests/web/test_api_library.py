"""The library's JSON API: every route answers in the one error shape when nobody is
signed in or a write lacks its CSRF token, and collections, items, dismissals, import and
export work for a signed-in user; the OpenAPI document lists each of them."""

from __future__ import annotations

import json
import re

import pytest

from paperwire.web import openapi_library
from tests.conftest import make_paper
from tests.web.test_accounts import add_user, log_in, token_of
from tests.web.test_error_shape import assert_json_error

P = "/api/v1/library"
ROUTES = [("get", f"{P}/collections"), ("post", f"{P}/collections"), ("get", f"{P}/collections/saved"),
          ("post", f"{P}/collections/saved/items"), ("delete", f"{P}/collections/saved/items/2503.00001"),
          ("get", f"{P}/collections/saved/export.bib"), ("post", f"{P}/dismissals"),
          ("delete", f"{P}/dismissals/2503.00001"), ("post", f"{P}/import"), ("get", f"{P}/import/1"),
          ("get", f"{P}/recommendations"), ("get", f"{P}/updates")]


@pytest.fixture
def client(client, store):
    store.upsert_papers([make_paper(arxiv_id="2503.00001", title="Folding Proteins")], source="test")
    add_user(store, "ada")
    return client


def headers(client) -> dict:
    return {"X-CSRF-Token": token_of(client.get("/library")), "Accept": "application/json"}


@pytest.mark.parametrize("method, path", ROUTES)
def test_every_route_needs_a_user_and_answers_in_the_error_shape(client, method, path):
    assert_json_error(client.request(method, path), 401, "needs an API token")


@pytest.mark.parametrize("method, path", ROUTES)
def test_every_route_is_in_the_openapi_document(method, path):
    document = openapi_library.document()
    templates = {p: ops for p, ops in document["paths"].items() if p.startswith(P)}
    assert set(templates) == set(openapi_library.PATHS)
    assert any(method in ops and _fits(template, path) for template, ops in templates.items())


def _fits(template: str, path: str) -> bool:
    return re.fullmatch(re.sub(r"\\\{[a-z_]+\\\}", r"[^/]+(?:/[^/]+)?", re.escape(template)), path) is not None


def test_collections_items_dismissals_and_exports(client, store):
    log_in(client, "ada")
    h = headers(client)
    made = client.post(f"{P}/collections", content=json.dumps({"name": "To read"}), headers=h)
    assert made.status_code == 201 and made.json()["collection"]["slug"] == "to-read"
    assert_json_error(client.post(f"{P}/collections", content=b"[1]", headers=h), 400, "JSON object")
    assert_json_error(client.post(f"{P}/collections", content=b"{", headers=h), 400, "not valid JSON")
    assert_json_error(client.post(f"{P}/collections", content=json.dumps({"name": 3}), headers=h), 400, "`name`")
    saved = client.post(f"{P}/collections/to-read/items", headers=h,
                        content=json.dumps({"arxiv_id": "arXiv:2503.00001v2", "note": "good"}))
    assert saved.json() == {"ok": True, "arxiv_id": "2503.00001", "is_saved": True, "collections": ["to-read"],
                            "is_dismissed": False}
    assert_json_error(client.post(f"{P}/collections/to-read/items", headers=h,
                                  content=json.dumps({"arxiv_id": "2503.09999"})), 404, "2503.09999")
    assert_json_error(client.post(f"{P}/collections/nope/items", headers=h,
                                  content=json.dumps({"arxiv_id": "2503.00001"})), 404, "no such collection")
    got = client.get(f"{P}/collections/to-read").json()
    assert [(i["paper"]["arxiv_id"], i["note"]) for i in got["items"]] == [("2503.00001", "good")]
    assert [c["slug"] for c in client.get(f"{P}/collections").json()["collections"]] == ["to-read"]
    assert "Folding Proteins" in client.get(f"{P}/collections/to-read/export.bib").text
    assert_json_error(client.get(f"{P}/collections/to-read/export.pdf"), 404, ".bib")
    removed = client.delete(f"{P}/collections/to-read/items/2503.00001", headers=h)
    assert removed.json()["is_saved"] is False
    assert client.post(f"{P}/dismissals", headers=h, content=json.dumps({"arxiv_id": "2503.00001"})).json()[
        "is_dismissed"] is True
    assert client.delete(f"{P}/dismissals/2503.00001", headers=h).json()["is_dismissed"] is False


def test_import_answers_the_report(client, store):
    log_in(client, "ada")
    h = headers(client)
    response = client.post(f"{P}/import", headers=h, files={"file": ("ids.txt", b"2503.00001\nnonsense\n")})
    assert response.status_code == 201
    body = response.json()
    assert [m["arxiv_id"] for m in body["report"]["matched"]] == ["2503.00001"]
    assert body["report"]["malformed"][0]["key"] == "line 2" and body["report"]["collection"] == "saved"
    again = client.get(f"{P}/import/{body['import_id']}").json()
    assert again["report"] == body["report"]
    assert_json_error(client.post(f"{P}/import", headers=h, files={"other": ("x", b"")}), 400, "`file`")
    assert_json_error(client.get(f"{P}/import/999"), 404, "no import")
