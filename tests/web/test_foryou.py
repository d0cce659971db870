"""/for-you and /updates through HTTP: the recommend job's order on a small hand-built
library shown with its reasons, dismissed and saved papers gone, and a follow-up that
appears on /updates after a new version of a saved paper is ingested from a loopback
arXiv API (the real ingest path); the private and shared Atom feeds."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from paperwire import config, ingest
from paperwire.library import foryou
from paperwire.sources import arxiv_api, fetchers
from paperwire.web.app import create_app
from tests.library.test_foryou import CANDIDATES, NOW, SAVED, add
from tests.sources.conftest import Reply, clock, fixture_bytes, upstream  # noqa: F401 (fixtures)
from tests.web.test_accounts import add_user, log_in, token_of


@pytest.fixture
def settings(sqlite_url, upstream, tmp_path):  # noqa: F811
    return config.load({}, database_url=sqlite_url, harvest_enabled="false", embed_enabled="false",
                       arxiv_api_url=upstream.url + "/api/query", request_interval_seconds="0",
                       model_cache_dir=str(tmp_path / "cache"))


@pytest.fixture
def client(settings, store):
    add_user(store, "ada")
    client = TestClient(create_app(settings, store=store), follow_redirects=False)
    log_in(client, "ada")
    return client


def shown(html: str) -> list[str]:
    return re.findall(r'<h2 class="title"><a href="/paper/([^"]+)">', html)


def test_for_you_shows_the_jobs_order_with_reasons_and_drops_what_is_dismissed(client, store):
    add(store, [SAVED, *CANDIDATES])
    assert "Save a paper" in client.get("/for-you").text
    token = token_of(client.get("/for-you"))
    client.post(f"/paper/{SAVED[0]}/save", data={"csrf_token": token})
    assert "being worked out" in client.get("/for-you").text  # nothing computed per page view
    foryou.refresh(store, now=NOW)
    page = client.get("/for-you").text
    assert shown(page) == [c[0] for c in CANDIDATES]
    assert page.count(f'close to <a href="/paper/{SAVED[0]}">{SAVED[1]}</a>') == len(CANDIDATES)
    dismissed = client.post(f"/paper/{CANDIDATES[0][0]}/dismiss", data={"csrf_token": token, "next": "/for-you"})
    assert dismissed.headers["location"] == "/for-you"
    client.post(f"/paper/{CANDIDATES[1][0]}/save", data={"csrf_token": token})
    assert shown(client.get("/for-you").text) == [c[0] for c in CANDIDATES[2:]]  # at once, before the job
    foryou.refresh(store, now=NOW)
    assert set(shown(client.get("/for-you").text)) <= {c[0] for c in CANDIDATES[2:]}
    api = client.get("/api/v1/library/recommendations").json()
    assert [r["paper"]["arxiv_id"] for r in api["recommendations"]] == shown(client.get("/for-you").text)


def test_a_new_version_of_a_saved_paper_appears_on_updates(client, store, settings, upstream):  # noqa: F811
    recorded = fixture_bytes("arxiv_api_by_id.xml")
    upstream.script(Reply(recorded))
    ingest.run(store, fetchers.arxiv(settings, arxiv_api.Query(ids=("2501.00005",))), source=arxiv_api.SOURCE)
    token = token_of(client.get("/updates"))
    client.post("/paper/2501.00005/save", data={"csrf_token": token})
    assert "No updates" in client.get("/updates").text
    version2 = recorded.replace(b"2501.00005v1", b"2501.00005v2").replace(
        b"<updated>2025-01-02T17:00:00Z</updated>", b"<updated>2025-02-01T09:00:00Z</updated>")
    upstream.script(Reply(version2))
    ingest.run(store, fetchers.arxiv(settings, arxiv_api.Query(ids=("2501.00005",))), source=arxiv_api.SOURCE)
    page = client.get("/updates").text
    assert re.search(r'<span class="tag">new</span> new version: v2', page) and "The Last Placeholder" in page
    assert "1 new" in page
    up_to = re.search(r'name="up_to" value="(\d+)"', page).group(1)
    assert client.post("/updates/seen", data={"csrf_token": token, "up_to": up_to}).status_code == 303
    page = client.get("/updates").text
    assert "new version: v2" in page and '<span class="tag">new</span>' not in page
    api = client.get("/api/v1/library/updates").json()["updates"]
    assert [(u["arxiv_id"], u["kind"], u["detail"], u["is_new"]) for u in api] == [
        ("2501.00005", "new-version", "v2", False)]
    # the private feed of updates, by its token
    made = client.post("/library/feed-token", data={"csrf_token": token, "action": "new"}).text
    feed = re.search(r"http://testserver(/updates/[\w-]+/feed\.atom)", made).group(1)
    client.cookies.clear()
    atom = client.get(feed)
    assert atom.headers["content-type"].startswith("application/atom+xml") and "The Last Placeholder" in atom.text
    assert client.get("/updates/not-a-token/feed.atom").status_code == 404


def test_a_shared_collection_has_an_atom_feed(client, store):
    add(store, [SAVED])
    token = token_of(client.get("/library"))
    client.post(f"/paper/{SAVED[0]}/save", data={"csrf_token": token})
    shared = client.post("/c/saved", data={"csrf_token": token, "action": "share"}).text
    link = re.search(r"http://testserver(/s/[\w-]+)</code>", shared).group(1)
    client.cookies.clear()
    atom = client.get(link + "/feed.atom")
    assert atom.status_code == 200 and SAVED[1] in atom.text
    assert atom.headers["cache-control"].startswith("public")
