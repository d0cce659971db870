"""Sign up, submit, upvote and find the paper on /trending, in real Chromium with JavaScript
off (plain forms only), and no axe-core violations on the community pages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from paperwire import config
from paperwire.papers import Author
from paperwire.store import open_store
from tests.browser.conftest import axe_violations, screenshot, serve
from tests.conftest import make_paper

ARXIV_ID = "2601.00042"
PASSWORD = "a long enough passphrase"


@pytest.fixture(scope="module")
def community_server(tmp_path_factory):
    """A running paperwire, open to sign-ups, with one paper published yesterday."""
    folder = tmp_path_factory.mktemp("community")
    url = f"sqlite:///{folder}/paperwire.db"
    store = open_store(url)
    yesterday = datetime.now(timezone.utc) - timedelta(days=1)
    store.upsert_papers([make_paper(arxiv_id=ARXIV_ID, title="Attention, Briefly", published_at=yesterday,
                                    updated_at=yesterday, authors=(Author("Grace Hopper"), Author("Ada Lovelace")))],
                        source="test")
    settings = config.load({}, database_url=url, harvest_enabled="false", embed_enabled="false",
                           model_cache_dir=str(folder / "cache"), signup="open")
    with serve(settings, store) as base_url:
        yield base_url
    store.close()


def test_sign_up_submit_upvote_and_see_it_trending_without_javascript(community_server, open_page):
    page = open_page(community_server + "/signup", javascript=False)
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Email").fill("grace@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="grace", exact=True).is_visible()

    page.goto(community_server + "/submit")
    page.get_by_label("arXiv id or URL").fill(f"https://arxiv.org/abs/{ARXIV_ID}")
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_load_state()
    assert page.url.endswith("/submit") and "submitted by grace" in page.locator("main").inner_text()

    page.locator("form.upvote button").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/submit")
    assert page.locator("form.upvote button").first.get_attribute("aria-pressed") == "true"
    assert "▲ 1 here" in page.locator("form.upvote button").first.inner_text()

    page.goto(community_server + "/trending?window=day")
    assert page.locator("h2.title a").first.inner_text() == "Attention, Briefly"
    assert "1 upvote in 1 hour" in page.locator(".why").first.inner_text()
    screenshot(page, "community-trending")


@pytest.mark.parametrize("path", ["/signup", "/login", "/reset", "/submit", "/trending", "/trending?window=month",
                                  "/author/Grace%20Hopper", f"/paper/{ARXIV_ID}"])
def test_community_pages_have_no_accessibility_violations(community_server, open_page, path):
    page = open_page(community_server + path)
    screenshot(page, "community-" + path.strip("/").replace("/", "-").replace("?", "-").replace("%20", "-"))
    assert axe_violations(page) == []
