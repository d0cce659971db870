"""Upvoting through HTTP: a plain form on the daily page and the paper page that posts and
comes back, once per user, undoable, and shown apart from Hugging Face's count."""

from __future__ import annotations

import re
from datetime import date

import pytest
from starlette.testclient import TestClient

from paperwire.feed import DailyEntry
from paperwire.ratelimit import UPVOTE_PER_ACCOUNT
from tests.conftest import make_paper
from tests.web.test_accounts import add_user, log_in, token_of
from tests.web.test_error_shape import assert_html_error

DAY = date(2025, 3, 1)
ARXIV_ID = "2503.00001"


@pytest.fixture
def client(client, store):
    store.upsert_papers([make_paper(arxiv_id=ARXIV_ID)], source="test")
    store.upsert_daily_entries([DailyEntry(day=DAY, arxiv_id=ARXIV_ID, upvote_count=38)])
    add_user(store, "ada")
    return client


def upvote_form(html: str) -> tuple[str, dict]:
    """The action and fields of the first upvote form on a page."""
    form = re.search(r'<form class="upvote" method="post" action="([^"]+)">(.*?)</form>', html, re.S)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2)))
    return form.group(1), fields


def local_count(html: str) -> int:
    return int(re.search(r"▲ (\d+) here", html).group(1))


def test_a_visitor_sees_both_counts_and_a_link_to_log_in(client):
    page = client.get(f"/day/{DAY}").text
    assert local_count(page) == 0 and '<a class="upvote" href="/login?next=/day/2025-03-01"' in page
    assert '<span class="count">38</span>' in page  # Hugging Face's, unchanged
    paper_page = client.get(f"/paper/{ARXIV_ID}").text
    assert local_count(paper_page) == 0 and "38 on Hugging Face" in paper_page


def test_upvoting_from_the_daily_page_comes_back_to_it_and_counts_once(client, store):
    log_in(client, "ada")
    action, fields = upvote_form(client.get(f"/day/{DAY}?page=1").text)
    assert action == f"/paper/{ARXIV_ID}/upvote" and fields["next"] == f"/day/{DAY}?page=1"
    response = client.post(action, data=fields)
    assert response.status_code == 303 and response.headers["location"] == f"/day/{DAY}?page=1"
    assert client.post(action, data=fields).status_code == 303  # twice: still one
    assert store.upvote_count(ARXIV_ID) == 1
    page = client.get(f"/day/{DAY}").text
    assert local_count(page) == 1 and 'aria-pressed="true"' in page
    assert '<span class="count">38</span>' in page  # never added together
    assert store.daily_entries(DAY)[0].upvote_count == 38


def test_an_upvote_is_taken_back_from_the_paper_page(client, store):
    log_in(client, "ada")
    action, fields = upvote_form(client.get(f"/paper/{ARXIV_ID}").text)
    client.post(action, data=fields)
    action, fields = upvote_form(client.get(f"/paper/{ARXIV_ID}").text)
    assert action == f"/paper/{ARXIV_ID}/unvote"
    response = client.post(action, data=fields)
    assert response.headers["location"] == f"/paper/{ARXIV_ID}"
    assert store.upvote_count(ARXIV_ID) == 0 and local_count(client.get(f"/paper/{ARXIV_ID}").text) == 0


def test_a_script_gets_the_new_count_as_json(client):
    log_in(client, "ada")
    _, fields = upvote_form(client.get(f"/paper/{ARXIV_ID}").text)
    response = client.post(f"/paper/{ARXIV_ID}/upvote", headers={"Accept": "application/json",
                                                                  "X-CSRF-Token": fields["csrf_token"]})
    assert response.json() == {"ok": True, "upvote_count": 1, "is_upvoted": True}


def test_an_upvote_needs_a_login_a_token_a_post_and_a_known_paper(client, store):
    visitor = TestClient(client.app, follow_redirects=False)
    token = token_of(visitor.get("/login"))
    assert_html_error(visitor.post(f"/paper/{ARXIV_ID}/upvote", data={"csrf_token": token}), 401, "log in")
    log_in(client, "ada")
    assert_html_error(client.post(f"/paper/{ARXIV_ID}/upvote", data={}), 403, "no CSRF token")
    assert client.get(f"/paper/{ARXIV_ID}/upvote").status_code in (404, 405)  # a GET changes nothing
    _, fields = upvote_form(client.get(f"/paper/{ARXIV_ID}").text)
    assert_html_error(client.post("/paper/2503.99999/upvote", data=fields), 404, "2503.99999")
    assert store.upvote_count(ARXIV_ID) == 0 and store.upvote_count("2503.99999") == 0


def test_upvotes_are_limited_per_account(client, store):
    log_in(client, "ada")
    action, fields = upvote_form(client.get(f"/paper/{ARXIV_ID}").text)
    # The bucket refills one a second, so a slow machine gets a few more than the burst in;
    # twice the burst always runs it dry.
    statuses = []
    while len(statuses) < 2 * UPVOTE_PER_ACCOUNT.count and 429 not in statuses:
        response = client.post(action, data=fields)
        statuses.append(response.status_code)
    assert statuses[:UPVOTE_PER_ACCOUNT.count] == [303] * UPVOTE_PER_ACCOUNT.count
    assert_html_error(response, 429, "too many attempts")
    assert int(response.headers["retry-after"]) > 0
