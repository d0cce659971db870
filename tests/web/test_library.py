"""The library through HTTP: save and unsave with plain forms and with fetch, notes,
"not interested", collections (create, rename, share by link, unshare, delete), a shared
collection without notes, exports, and the defences (log-in, CSRF, POST only, limits)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone

import pytest

from paperwire.feed import DailyEntry
from paperwire.library import imports
from paperwire.ratelimit import Rate, RateLimiter
from paperwire.store.library import MAX_NOTE_CHARS
from paperwire.web.pages import static_url
from tests.conftest import make_paper
from tests.web.test_accounts import add_user, log_in, token_of
from tests.web.test_error_shape import assert_html_error

DAY = date(2025, 3, 1)
IDS = ("2503.00001", "2503.00002")


@pytest.fixture
def client(client, store):
    store.upsert_papers([make_paper(arxiv_id=IDS[0], title="Folding Proteins"),
                         make_paper(arxiv_id=IDS[1], title="Graphs & <Networks>")], source="test")
    store.upsert_daily_entries([DailyEntry(day=DAY, arxiv_id=IDS[0], upvote_count=3)])
    add_user(store, "ada")
    add_user(store, "bob")
    return client


def save_form(html: str, arxiv_id: str) -> tuple[str, dict]:
    form = re.search(rf'<form class="save" method="post" action="(/paper/{re.escape(arxiv_id)}/\w+)">(.*?)</form>',
                     html, re.S)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2)))
    return form.group(1), fields


def token(client) -> str:
    return token_of(client.get("/library"))


def test_a_visitor_has_no_save_button_and_no_library(client):
    assert 'class="save"' not in client.get(f"/day/{DAY}").text
    for path in ("/library", "/for-you", "/updates", "/c/saved"):
        assert_html_error(client.get(path), 401, "you need to log in")
    assert_html_error(client.post(f"/paper/{IDS[0]}/save", data={}), 403, "no CSRF token")


@pytest.mark.parametrize("page", [f"/day/{DAY}", f"/paper/{IDS[0]}", "/search?q=folding", "/trending"])
def test_save_buttons_on_the_listing_pages(client, store, page):
    log_in(client, "ada")
    if page == "/trending":  # a paper published and upvoted just now is on it
        store.upsert_papers([make_paper(arxiv_id=IDS[0], title="Folding Proteins", published_at=datetime.now(
            timezone.utc))], source="now")
        store.upvote(store.user_by_name("ada").id, IDS[0], now=datetime.now(timezone.utc))
    html = client.get(page).text
    action, fields = save_form(html, IDS[0])
    assert action == f"/paper/{IDS[0]}/save" and fields["csrf_token"]


def test_saving_with_a_plain_form_comes_back_and_unsaving_takes_it_out(client, store):
    log_in(client, "ada")
    action, fields = save_form(client.get(f"/day/{DAY}").text, IDS[0])
    response = client.post(action, data=fields)
    assert response.status_code == 303 and response.headers["location"] == f"/day/{DAY}"
    ada = store.user_by_name("ada")
    assert [c.name for c in store.collections(ada.id)] == ["Saved"] and store.saved_ids(ada.id) == [IDS[0]]
    action, fields = save_form(client.get(f"/day/{DAY}").text, IDS[0])
    assert action == f"/paper/{IDS[0]}/unsave"
    assert 'aria-pressed="true"' in client.get(f"/paper/{IDS[0]}").text
    assert client.post(action, data=fields).status_code == 303
    assert store.saved_ids(ada.id) == []


def test_saving_with_fetch_answers_json(client, store):
    log_in(client, "ada")
    headers = {"Accept": "application/json", "X-CSRF-Token": token(client)}
    answer = client.post(f"/paper/{IDS[1]}/save", headers=headers).json()
    assert answer == {"ok": True, "arxiv_id": IDS[1], "is_saved": True, "collections": ["saved"],
                      "is_dismissed": False}
    answer = client.post(f"/paper/{IDS[1]}v1/unsave", headers=headers).json()  # a versioned id is the paper
    assert answer["is_saved"] is False and answer["collections"] == []
    dismissed = client.post(f"/paper/{IDS[1]}/dismiss", headers=headers).json()
    assert dismissed["is_dismissed"] is True
    assert client.post(f"/paper/{IDS[1]}/undismiss", headers=headers).json()["is_dismissed"] is False


def test_defences_csrf_post_only_unknown_papers_notes_and_the_rate_limit(client, store):
    log_in(client, "ada")
    assert_html_error(client.post(f"/paper/{IDS[0]}/save", data={"csrf_token": "forged"}), 403, "CSRF token")
    assert client.get(f"/paper/{IDS[0]}/save").status_code in (404, 405)  # never a change on GET
    assert store.saved_ids(store.user_by_name("ada").id) == []
    csrf = token(client)
    assert_html_error(client.post("/paper/2503.09999/save", data={"csrf_token": csrf}), 404, "2503.09999")
    too_long = client.post(f"/paper/{IDS[0]}/save", data={"csrf_token": csrf, "note": "x" * (MAX_NOTE_CHARS + 1)})
    assert_html_error(too_long, 400, "at most 10,000 characters")
    # The account's bucket, made small here so that the machine's speed (the bucket
    # refills as time passes) cannot change the outcome.
    client.app.state.rate_limits.upvote_account = RateLimiter(Rate(2, 3600))
    headers = {"Accept": "application/json", "X-CSRF-Token": csrf}
    answers = [client.post(f"/paper/{IDS[0]}/save", headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[-1].headers["retry-after"]) > 1000


def test_the_save_script_comes_only_to_signed_in_pages(client):
    script = f'<script src="{static_url("library.js")}" defer></script>'
    assert script not in client.get("/status").text
    log_in(client, "ada")
    html = client.get("/status").text
    assert script in html and re.findall(r"<script[^>]*>(.*?)</script>", html, re.S) == ["", "", ""]  # reading.js, vote.js, library.js: all from files, none inline


def test_collections_notes_sharing_and_exports(client, store):
    log_in(client, "ada")
    csrf = token(client)
    response = client.post("/c", data={"csrf_token": csrf, "name": "  Reading <list> "})
    assert response.status_code == 303 and response.headers["location"] == "/c/reading-list"
    client.post(f"/paper/{IDS[1]}/save", data={"csrf_token": csrf, "collection": "reading-list",
                                               "note": "read <b>twice</b>"})
    client.post(f"/paper/{IDS[0]}/save", data={"csrf_token": csrf, "collection": "reading-list"})
    page = client.get("/c/reading-list").text
    assert "Reading &lt;list&gt;" in page and "Graphs &amp; &lt;Networks&gt;" in page
    assert "read &lt;b&gt;twice&lt;/b&gt;" in page  # the note, escaped
    assert_html_error(client.post(f"/paper/{IDS[0]}/save", data={"csrf_token": csrf, "collection": "nope"}),
                      404, "no such collection")
    # exports, most recently saved first
    bib = client.get("/c/reading-list.bib")
    assert bib.headers["content-type"].startswith("application/x-bibtex")
    assert bib.text.index("Folding Proteins") < bib.text.index("Graphs")
    assert [item["id"] for item in json.loads(client.get("/c/reading-list.json").text)] == [IDS[0], IDS[1]]
    lines = client.get("/c/reading-list.jsonl").text.splitlines()
    assert [json.loads(line)["arxiv_id"] for line in lines] == [IDS[0], IDS[1]]
    entries, malformed = imports.read(bib.content, filename="x.bib")
    assert {e.arxiv_id for e in entries} == set(IDS) and not malformed  # reads back
    assert client.get("/c/reading-list.pdf").status_code == 404
    # share: the link is shown once, opens the collection read-only and without notes
    shared = client.post("/c/reading-list", data={"csrf_token": csrf, "action": "share"})
    assert shared.status_code == 200
    link = re.search(r'<code class="share-link">http://testserver(/s/[\w-]+)</code>', shared.text).group(1)
    page = client.get(link).text
    assert "Graphs &amp; &lt;Networks&gt;" in page and "twice" not in page
    assert client.get(link + ".bib").status_code == 200
    assert "read &lt;b&gt;twice" not in client.get(link).text
    client.cookies.clear()
    assert client.get(link).status_code == 200  # no log-in needed
    log_in(client, "bob")
    assert_html_error(client.get("/c/reading-list"), 404, "no such collection")  # not bob's
    client.cookies.clear()
    log_in(client, "ada")
    csrf = token(client)
    client.post("/c/reading-list", data={"csrf_token": csrf, "action": "unshare"})
    assert_html_error(client.get(link), 404, "no such collection")
    # rename keeps the slug; delete takes the items with it
    client.post("/c/reading-list", data={"csrf_token": csrf, "action": "rename", "name": "Later"})
    assert "<h1>Later</h1>" in client.get("/c/reading-list").text
    assert_html_error(client.post("/c/reading-list", data={"csrf_token": csrf, "action": "explode"}),
                      400, "not known")
    deleted = client.post("/c/reading-list", data={"csrf_token": csrf, "action": "delete"})
    assert deleted.headers["location"] == "/library"
    assert store.saved_ids(store.user_by_name("ada").id) == []
    assert_html_error(client.post("/c", data={"csrf_token": csrf, "name": "   "}), 400, "needs a name")


def test_the_library_page_lists_collections_and_makes_feed_links(client, store):
    log_in(client, "ada")
    assert "Nothing saved yet" in client.get("/library").text
    csrf = token(client)
    client.post(f"/paper/{IDS[0]}/save", data={"csrf_token": csrf})
    client.post(f"/paper/{IDS[1]}/dismiss", data={"csrf_token": csrf})
    page = client.get("/library").text
    assert '<a href="/c/saved">Saved</a>' in page and "1 paper marked" in page
    made = client.post("/library/feed-token", data={"csrf_token": csrf, "action": "new"})
    feed = re.search(r"http://testserver(/for-you/[\w-]+/feed\.atom)", made.text).group(1)
    assert client.get(feed).headers["cache-control"].startswith("private")
    client.post("/library/feed-token", data={"csrf_token": csrf, "action": "revoke"})
    assert client.get(feed).status_code == 404
