"""Submitting through HTTP: the form on /submit, an unknown paper fetched from a loopback
arXiv API serving the recorded answer, "submitted by" on the list and the paper page."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from starlette.testclient import TestClient

from paperwire import config
from paperwire.web.app import create_app
from tests.sources.conftest import Reply, clock, fixture_bytes, upstream  # noqa: F401 (fixtures)
from tests.web.test_accounts import add_user, log_in, token_of
from tests.web.test_error_shape import assert_html_error

# The recorded paper was first published on 2 January 2025: a window this wide takes it.
WIDE_WINDOW_DAYS = 100_000


@pytest.fixture
def app_with(sqlite_url, store, upstream, tmp_path):  # noqa: F811 (the imported fixture)
    def make(window_days: int):
        settings = config.load(
            {}, database_url=sqlite_url, harvest_enabled="false", arxiv_api_url=upstream.url + "/api/query",
            request_interval_seconds="0", model_cache_dir=str(tmp_path / "cache"),
            submit_window_days=str(window_days),
        )
        add_user(store, "ada")
        return TestClient(create_app(settings, store=store), follow_redirects=False)
    return make


def post_submit(client, text: str):
    return client.post("/submit", data={"csrf_token": token_of(client.get("/submit")), "paper": text})


def test_a_signed_in_reader_submits_an_unknown_paper_by_url(app_with, upstream, store):  # noqa: F811
    client = app_with(WIDE_WINDOW_DAYS)
    log_in(client, "ada")
    upstream.script(Reply(fixture_bytes("arxiv_api_by_id.xml")))
    response = post_submit(client, "https://arxiv.org/abs/2501.00005v1")
    assert response.status_code == 303 and response.headers["location"] == "/submit"
    assert upstream.params()[0]["id_list"] == "2501.00005"
    page = client.get("/submit").text
    assert "The Last Placeholder" in page and "submitted by ada" in page
    assert "submitted by ada" in client.get("/paper/2501.00005").text
    again = post_submit(client, "2501.00005")
    assert again.status_code == 400 and "on today&#39;s list already" in again.text
    assert len(upstream.requests) == 1


def test_an_old_paper_is_refused_with_the_window(app_with, upstream, store):  # noqa: F811
    client = app_with(14)
    log_in(client, "ada")
    upstream.script(Reply(fixture_bytes("arxiv_api_by_id.xml")))
    response = post_submit(client, "2501.00005")
    assert response.status_code == 400 and "more than 14 days ago" in response.text
    assert "Nobody has submitted a paper today yet" in response.text


def test_submitting_needs_a_login_and_a_token(app_with, upstream, store):  # noqa: F811
    client = app_with(WIDE_WINDOW_DAYS)
    page = client.get("/submit")
    assert page.status_code == 200 and '<a href="/login?next=/submit">Log in</a>' in page.text
    token = token_of(client.get("/login"))
    assert_html_error(client.post("/submit", data={"csrf_token": token, "paper": "2501.00005"}), 401, "log in")
    log_in(client, "ada")
    assert_html_error(client.post("/submit", data={"paper": "2501.00005"}), 403, "no CSRF token")
    assert upstream.requests == [] and store.submissions(datetime.now(timezone.utc).date()) == []
