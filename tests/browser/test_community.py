"""Sign up, submit, upvote and find the paper on /trending, in real Chromium with JavaScript
off (plain forms only), and no axe-core violations on the community pages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from paperwire import accounts, config
from paperwire.papers import Author
from paperwire.store import open_store
from tests.browser.conftest import PHONE, axe_violations, screenshot, serve
from tests.web.test_accounts import CHEAP
from tests.conftest import make_paper

ARXIV_ID = "2601.00042"
PASSWORD = "a long enough passphrase"
READERS = ("lin", "mo", "tok")


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
    for name in READERS:  # accounts to log in with (sign-up is limited per address)
        store.create_user(username=name, email=f"{name}@example.org", now=yesterday,
                          password_hash=accounts.hash_password(PASSWORD, hasher=CHEAP))
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


def log_in(page, base_url: str, name: str) -> None:
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name=name, exact=True).is_visible()


@pytest.mark.parametrize("javascript, name", [(True, "lin"), (False, "mo")], ids=["js", "nojs"])
def test_comment_and_reply_on_a_phone_with_and_without_javascript(community_server, open_page, javascript, name):
    page = open_page(community_server + "/login", phone=True, javascript=javascript)
    log_in(page, community_server, name)
    page.goto(community_server + f"/paper/{ARXIV_ID}")
    page.get_by_label("Add a comment").fill(f"Comment by {name}: *neat* <script>alert(1)</script>")
    page.get_by_role("button", name="Post comment").click()
    page.wait_for_load_state()
    mine = page.locator("article.comment", has_text=f"Comment by {name}")
    assert f"/paper/{ARXIV_ID}#comment-" in page.url and mine.locator("em").inner_text() == "neat"
    assert "<script>alert(1)</script>" in mine.inner_text()  # shown as text, never run

    thread = page.locator("ol.comments > li", has=mine)
    thread.locator("details.reply summary").click()
    thread.get_by_label("Your reply").fill(f"Reply by {name}")
    thread.get_by_role("button", name="Reply", exact=True).click()
    page.wait_for_load_state()
    thread = page.locator("ol.comments > li", has_text=f"Comment by {name}")
    assert thread.locator("ol.replies article.comment", has_text=f"Reply by {name}").is_visible()
    screenshot(page, f"community-comments-phone-{'js' if javascript else 'nojs'}")
    if javascript:  # measuring and axe-core run scripts in the page, which JavaScript off forbids
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the paper page is {width} px wide at {PHONE['width']} px"
        assert axe_violations(page) == []


def test_the_token_page_makes_a_token_on_a_phone_without_violations(community_server, open_page):
    page = open_page(community_server + "/login", phone=True)
    log_in(page, community_server, "tok")
    page.goto(community_server + "/settings/tokens")
    assert axe_violations(page) == []
    page.get_by_label("Name").fill("my laptop")
    page.get_by_label("write (upvote, comment)").check()
    page.get_by_role("button", name="Make token").click()
    page.wait_for_load_state()
    assert page.locator("#new-token").inner_text().startswith("pw_")
    assert "read write" in page.locator("table").inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, "community-tokens-phone")
    assert width <= PHONE["width"], f"/settings/tokens is {width} px wide at {PHONE['width']} px"
    assert axe_violations(page) == []
