"""Personal API tokens through HTTP: /settings/tokens (made, shown once, listed, revoked),
and the JSON API's bearer auth with scopes: a read token cannot vote or comment (403),
a revoked token or a disabled user's is refused (401), no cookie and no CSRF needed."""

from __future__ import annotations

import re

import pytest

from paperwire.accounts import token_hash
from paperwire.ratelimit import UPVOTE_PER_ACCOUNT
from tests.conftest import make_paper
from tests.web.test_accounts import add_user, log_in, token_of
from tests.web.test_error_shape import assert_json_error

ARXIV_ID = "2503.00001"


@pytest.fixture
def client(client, store):
    store.upsert_papers([make_paper(arxiv_id=ARXIV_ID)], source="test")
    add_user(store, "ada")
    add_user(store, "root1", is_admin=True)
    return client


def make_token(client, name: str = "laptop", scopes: tuple = ("read",)) -> str:
    """Make a token on /settings/tokens as the logged-in user; returns its value."""
    page = client.get("/settings/tokens")
    response = client.post("/settings/tokens", data={"csrf_token": token_of(page), "name": name,
                                                     "scope": list(scopes)})
    assert response.status_code == 200, response.text
    return re.search(r'<code class="token-value" id="new-token">(pw_[A-Za-z0-9_-]+)</code>', response.text).group(1)


def bearer(value: str) -> dict:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def tokens(client):
    """A read and a write token of ada's, and a client with no cookie at all."""
    log_in(client, "ada")
    read, write = make_token(client, "reader"), make_token(client, "writer", ("read", "write"))
    client.cookies.clear()
    return read, write


def test_the_page_sends_a_visitor_to_log_in(client):
    response = client.get("/settings/tokens")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/settings/tokens"


def test_a_token_is_shown_once_kept_hashed_and_listed(client, store):
    log_in(client, "ada")
    page = client.get("/settings/tokens")
    response = client.post("/settings/tokens", data={"csrf_token": token_of(page), "name": "My <laptop>",
                                                     "scope": ["read", "write"]})
    value = re.search(r'id="new-token">(pw_[^<]+)</code>', response.text).group(1)
    assert response.headers["cache-control"] == "no-store" and "My &lt;laptop&gt;" in response.text
    ada = store.user_by_name("ada")
    [kept] = store.api_tokens(ada.id)
    assert (kept.name, kept.scopes) == ("My <laptop>", "read write")
    assert store.api_token_user(token_hash(value), now=kept.created_at)[0] == ada  # found by its hash
    listing = client.get("/settings/tokens").text
    assert value not in listing and "read write" in listing and "never" not in listing  # just used above


@pytest.mark.parametrize("fields, words", [
    ({"name": "", "scope": ["read"]}, "give the token a name"),
    ({"name": "x" * 101, "scope": ["read"]}, "give the token a name"),
    ({"name": "tab\there", "scope": ["read"]}, "printable"),
    ({"name": "ok", "scope": []}, "choose the token&#39;s scopes"),
    ({"name": "ok", "scope": ["admin"]}, "choose the token&#39;s scopes"),
])
def test_a_token_the_rules_refuse_is_not_made(client, store, fields, words):
    log_in(client, "ada")
    response = client.post("/settings/tokens", data={"csrf_token": token_of(client.get("/settings/tokens")), **fields})
    assert response.status_code == 400 and words in response.text
    assert store.api_tokens(store.user_by_name("ada").id) == []


def test_making_a_token_needs_the_csrf_token(client, store):
    log_in(client, "ada")
    assert client.post("/settings/tokens", data={"name": "x", "scope": "read"}).status_code == 403
    assert store.api_tokens(store.user_by_name("ada").id) == []


def test_a_read_token_reads_but_cannot_vote_or_comment(client, store, tokens):
    read, _ = tokens
    me = client.get("/api/v1/me", headers=bearer(read))
    assert me.status_code == 200 and me.json() == {"ok": True, "username": "ada", "is_admin": False}
    for response in (client.post(f"/api/v1/papers/{ARXIV_ID}/upvote", headers=bearer(read)),
                     client.delete(f"/api/v1/papers/{ARXIV_ID}/upvote", headers=bearer(read)),
                     client.post(f"/api/v1/papers/{ARXIV_ID}/comments", headers=bearer(read), json={"body": "hi"})):
        assert_json_error(response, 403, "this needs 'write'")
        assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert store.upvote_count(ARXIV_ID) == 0 and store.comments_for(ARXIV_ID) == []


def test_a_write_token_upvotes_and_takes_it_back_without_cookie_or_csrf(client, store, tokens):
    _, write = tokens
    url = f"/api/v1/papers/{ARXIV_ID}/upvote"
    for _ in range(2):  # twice: still one
        response = client.post(url, headers=bearer(write))
        assert response.status_code == 200
        assert response.json() == {"ok": True, "arxiv_id": ARXIV_ID, "upvote_count": 1, "is_upvoted": True}
    assert not client.cookies
    assert client.delete(url, headers=bearer(write)).json()["upvote_count"] == 0
    assert client.post("/api/v1/papers/2503.09999/upvote", headers=bearer(write)).status_code == 404


def test_a_write_token_comments_and_the_list_shows_it_sanitised(client, store, tokens):
    _, write = tokens
    url = f"/api/v1/papers/{ARXIV_ID}/comments"
    response = client.post(url, headers=bearer(write), json={"body": "**yes** <script>alert(1)</script>"})
    assert response.status_code == 201, response.text
    posted = response.json()["comment"]
    assert posted["username"] == "ada" and "<strong>yes</strong>" in posted["body_html"]
    assert "<script" not in posted["body_html"]
    reply = client.post(url, headers=bearer(write), json={"body": "me too", "parent_id": posted["id"]}).json()
    listed = client.get(url).json()  # reading needs no token
    assert listed["comment_count"] == 2
    assert [c["id"] for c in listed["comments"]] == [posted["id"]]
    assert [r["id"] for r in listed["comments"][0]["replies"]] == [reply["comment"]["id"]]
    assert "me too" in client.get(f"/paper/{ARXIV_ID}").text


@pytest.mark.parametrize("body, words", [
    (b"not json", "not JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"text": "hi"}', 'needs "body"'),
    (b'{"body": "  "}', "the comment is empty"),
    (b'{"body": "hi", "parent_id": "1"}', "is not a comment id"),
    (b'{"body": "hi", "parent_id": true}', "is not a comment id"),
    (b'{"body": "hi", "parent_id": 999}', "no comment 999"),
])
def test_a_bad_comment_body_is_400_or_404_in_the_error_shape(client, store, tokens, body, words):
    _, write = tokens
    response = client.post(f"/api/v1/papers/{ARXIV_ID}/comments", content=body,
                           headers={**bearer(write), "Content-Type": "application/json"})
    assert_json_error(response, 404 if b"999" in body else 400, words)
    assert store.comments_for(ARXIV_ID) == []


@pytest.mark.parametrize("headers, words", [
    ({}, "this needs an API token"),
    ({"Authorization": "Basic YWRhOnB3"}, "not a paperwire token"),
    ({"Authorization": "Bearer pw_madeup"}, "unknown or revoked"),
    ({"Authorization": "Bearer"}, "not a paperwire token"),
])
def test_a_missing_or_unknown_token_is_401_with_a_challenge(client, headers, words):
    response = client.post(f"/api/v1/papers/{ARXIV_ID}/upvote", headers=headers)
    assert_json_error(response, 401, words)
    assert response.headers["www-authenticate"].startswith('Bearer realm="paperwire"')


def test_a_revoked_token_is_refused(client, store, tokens):
    read, _ = tokens
    log_in(client, "ada")
    page = client.get("/settings/tokens")
    token_id = re.search(r'action="/settings/tokens/(\d+)/revoke"', page.text).group(1)
    revoke = client.post(f"/settings/tokens/{token_id}/revoke", data={"csrf_token": token_of(page)})
    assert revoke.status_code == 303
    client.cookies.clear()
    statuses = {client.get("/api/v1/me", headers=bearer(value)).status_code for value in tokens}
    assert statuses == {200, 401}  # the newest (writer) was listed first and revoked; the reader still works


def test_only_the_owner_revokes_a_token(client, store, tokens):
    ada_token = store.api_tokens(store.user_by_name("ada").id)[0]
    log_in(client, "root1")
    page = client.get("/settings/tokens")
    response = client.post(f"/settings/tokens/{ada_token.id}/revoke", data={"csrf_token": token_of(page)})
    assert response.status_code == 404
    assert len(store.api_tokens(store.user_by_name("ada").id)) == 2


def test_a_disabled_users_tokens_are_refused(client, store, tokens):
    read, write = tokens
    log_in(client, "root1")
    page = client.get("/users")
    assert client.post("/users/ada/disable", data={"csrf_token": token_of(page)}).status_code == 303
    client.cookies.clear()
    for value in tokens:
        assert_json_error(client.get("/api/v1/me", headers=bearer(value)), 401, "unknown or revoked")


def test_a_session_cookie_on_the_api_needs_the_csrf_token_to_change_anything(client, store):
    log_in(client, "ada")
    url = f"/api/v1/papers/{ARXIV_ID}/upvote"
    assert client.get("/api/v1/me").json()["username"] == "ada"  # reading by session is fine
    assert_json_error(client.post(url), 403, "CSRF token")
    assert_json_error(client.post(url, headers={"Origin": "https://evil.example"}), 403, "not from this site")
    assert store.upvote_count(ARXIV_ID) == 0
    token = token_of(client.get("/settings/tokens"))
    assert client.post(url, headers={"X-CSRF-Token": token}).json()["upvote_count"] == 1


def test_api_upvotes_are_rate_limited_per_account(client, store, tokens):
    _, write = tokens
    for n in range(UPVOTE_PER_ACCOUNT.count):
        assert client.post(f"/api/v1/papers/{ARXIV_ID}/upvote", headers=bearer(write)).status_code == 200
    response = client.post(f"/api/v1/papers/{ARXIV_ID}/upvote", headers=bearer(write))
    assert_json_error(response, 429, "too many attempts")
    assert int(response.headers["Retry-After"]) >= 1


def test_the_library_api_takes_tokens_by_scope(client, store, tokens):
    """The library's endpoints ask the same check (web/auth.py): a read token lists and
    exports, only a write token saves, and neither needs a cookie or a CSRF token."""
    read, write = tokens
    made = client.post("/api/v1/library/collections", headers=bearer(write), json={"name": "Reading"})
    assert made.status_code == 201, made.text
    slug = made.json()["collection"]["slug"]
    refused = client.post(f"/api/v1/library/collections/{slug}/items", headers=bearer(read),
                          json={"arxiv_id": ARXIV_ID})
    assert_json_error(refused, 403, "this needs 'write'")
    saved = client.post(f"/api/v1/library/collections/{slug}/items", headers=bearer(write),
                        json={"arxiv_id": ARXIV_ID})
    assert saved.status_code == 200, saved.text
    listed = client.get(f"/api/v1/library/collections/{slug}", headers=bearer(read))
    assert [item["paper"]["arxiv_id"] for item in listed.json()["items"]] == [ARXIV_ID]
    exported = client.get(f"/api/v1/library/collections/{slug}/export.jsonl", headers=bearer(read))
    assert exported.status_code == 200 and ARXIV_ID in exported.text
    assert client.get("/api/v1/library/collections").status_code == 401  # no token, no cookie


def test_the_python_client_in_the_docs_saves_to_a_collection(client, store, tokens):
    """docs/api.md's `save_to_collection`, run as written with a write token."""
    from pathlib import Path

    _, write = tokens
    text = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
    namespace: dict = {}
    exec(compile(re.search(r"```python\n(.*?)```", text, re.DOTALL).group(1), "docs/api.md", "exec"), namespace)
    slug = namespace["save_to_collection"](client, write, "Diffusion with code", [ARXIV_ID])
    listed = client.get(f"/api/v1/library/collections/{slug}", headers=bearer(write)).json()
    assert listed["collection"]["name"] == "Diffusion with code"
    assert [item["paper"]["arxiv_id"] for item in listed["items"]] == [ARXIV_ID]


def test_the_digest_subscription_through_the_api(client, store, tokens):
    """Read with a read token, change with a write token (the same rules as /digest/settings),
    and no way to subscribe an address by token: that needs the confirmation mail."""
    from datetime import datetime, timezone

    from paperwire.digest import Subscription

    read, write = tokens
    state = client.get("/api/v1/digest/subscription", headers=bearer(read)).json()
    assert state["ok"] and state["is_subscribed"] is False and state["subscription"] is None
    assert_json_error(client.put("/api/v1/digest/subscription", headers=bearer(write), json={"frequency": "weekly"}),
                      404, "subscribe at /digest/settings")
    at = datetime(2026, 11, 30, tzinfo=timezone.utc)
    subscriber = store.subscribe(state["email"], now=at)
    store.save_subscription(Subscription(subscriber.id, created_at=at), now=at)
    store.confirm_subscriber(subscriber.id, now=at)
    assert_json_error(client.put("/api/v1/digest/subscription", headers=bearer(read), json={"frequency": "weekly"}),
                      403, "this needs 'write'")
    changed = client.put("/api/v1/digest/subscription", headers=bearer(write),
                         json={"frequency": "weekly", "weekday": 4, "includes": ["trending"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["subscription"] == {"frequency": "weekly", "send_time": "08:00", "timezone": "UTC",
                                              "weekday": 4, "paper_count": Subscription(0, at).paper_count,
                                              "includes": ["trending"]}
    assert client.get("/api/v1/digest/subscription", headers=bearer(read)).json() == changed.json()
    for body, words in (({"frequency": "hourly"}, "frequency"), ({"timezone": "Mars/Olympus"}, "time zone"),
                        ({"includes": ["gossip"]}, "cannot be included"), ({"paper_count": 0}, "papers per"),
                        ([1, 2], "JSON object"), ({"saved_searches_in_digest": ["x"]}, "saved-search ids")):
        assert_json_error(client.put("/api/v1/digest/subscription", headers=bearer(write), json=body), 400, words)
    assert client.get("/api/v1/digest/subscription", headers=bearer(read)).json() == changed.json()
