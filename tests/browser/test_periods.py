"""Week and month pages, the category filter, thumbnails and voting without a reload, in real
Chromium: JavaScript on and off, phone width, light and dark, axe-core with no violations."""

from __future__ import annotations

import io
import time
from datetime import date, datetime, timedelta, timezone

import pytest
from PIL import Image
from playwright.sync_api import expect

from paperwire import config, thumbnails
from paperwire.feed import DailyEntry
from paperwire.store import open_store
from tests.browser.conftest import axe_violations, screenshot, serve
from tests.conftest import make_paper

MONDAY = date(2025, 3, 3)  # 2025-W10
PASSWORD = "a long enough passphrase"


@pytest.fixture(scope="module")
def period_server(tmp_path_factory):
    """A running paperwire, open to sign-ups: 70 papers over a week in cs.CL and cs.CV, two
    on the Monday's list, one of them with a kept thumbnail."""
    folder = tmp_path_factory.mktemp("periods")
    url = f"sqlite:///{folder}/paperwire.db"
    store = open_store(url)
    papers = []
    for n in range(70):
        day = MONDAY + timedelta(days=n % 7)
        categories = ("cs.CL",) if n % 2 else ("cs.CV", "cs.LG")
        papers.append(make_paper(arxiv_id=f"2503.{n:05d}", title=f"Paper {n} on {categories[0]}",
                                 categories=categories, primary_category=categories[0],
                                 published_at=datetime(day.year, day.month, day.day, 1 + n % 20, tzinfo=timezone.utc)))
    store.upsert_papers(papers, source="test")
    store.upsert_daily_entries([
        DailyEntry(day=MONDAY, arxiv_id="2503.00007", upvote_count=40, thumbnail_url="https://cdn.example/7.png"),
        DailyEntry(day=MONDAY, arxiv_id="2503.00014", upvote_count=12),
    ])
    cache = folder / "cache"
    picture = io.BytesIO()
    Image.new("RGB", (600, 400), (40, 90, 160)).save(picture, format="PNG")
    kept = thumbnails.path_for(cache, "2503.00007")
    kept.parent.mkdir(parents=True)
    kept.write_bytes(thumbnails.normalise(picture.getvalue()))
    settings = config.load({}, database_url=url, harvest_enabled="false", embed_enabled="false",
                           model_cache_dir=str(cache), signup="open")
    with serve(settings, store) as base_url:
        yield base_url
    store.close()


def _card_categories(page) -> list[set[str]]:
    return [set(card.locator("a.tag").all_inner_texts()) for card in page.locator("article.paper").all()]


@pytest.mark.parametrize("path", ["/week/2025-W10", "/month/2025-03", "/week/2025-W10?cat=cs.CL&sort=trending",
                                  "/day/2025-03-03?cat=cs.CV"])
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_period_pages_have_no_accessibility_violations(period_server, open_page, path, dark):
    page = open_page(period_server + path, dark=dark)
    assert page.locator("article.paper").count() > 0
    name = path.strip("/").replace("/", "-").replace("?", "-").replace("&", "-").replace("=", "-")
    screenshot(page, f"period-{name}-{'dark' if dark else 'light'}")
    assert axe_violations(page) == []


@pytest.mark.parametrize("path", ["/week/2025-W10", "/month/2025-03"])
def test_period_pages_fit_a_phone(period_server, open_page, path):
    page = open_page(period_server + path, phone=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not page.locator("img.thumbnail").first.is_visible()  # left out at phone width
    assert axe_violations(page) == []
    screenshot(page, "period-phone-" + path.strip("/").replace("/", "-"))


def test_the_category_filter_works_without_javascript_and_stays_across_pages(period_server, open_page):
    page = open_page(period_server + "/week/2025-W10", javascript=False)
    assert page.locator("article.paper").count() == 50
    page.get_by_label("Category").select_option("cs.CV")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state()
    assert page.url.endswith("/week/2025-W10?cat=cs.CV")
    assert "35 papers in cs.CV" in page.locator(".summary").inner_text()
    assert all("cs.CV" in tags for tags in _card_categories(page))
    # A tag on a card filters the same week by that category.
    page.locator("article.paper a.tag", has_text="cs.LG").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/week/2025-W10?cat=cs.LG")
    page.goto(period_server + "/month/2025-03?cat=cs.CL")
    assert page.locator("article.paper").count() == 35
    page.get_by_role("link", name="Trending first").click()
    page.wait_for_load_state()
    assert "cat=cs.CL" in page.url and "sort=trending" in page.url


def test_thumbnails_are_shown_from_this_site(period_server, open_page):
    page = open_page(period_server + "/day/2025-03-03")
    image = page.locator("article.paper img.thumbnail")
    assert image.count() == 1
    image.scroll_into_view_if_needed()
    assert image.get_attribute("src") == "/thumbnail/2503.00007.webp"
    # Polled from here: wait_for_function would evaluate a string in the page, which the CSP forbids.
    deadline = time.monotonic() + 10
    while page.evaluate("document.querySelector('img.thumbnail').naturalWidth") != 480:
        assert time.monotonic() < deadline, "the thumbnail did not load"
        time.sleep(0.05)


def _sign_up(page, base_url: str, name: str) -> None:
    page.goto(base_url + "/signup")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Email").fill(f"{name}@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_load_state()


def test_voting_with_javascript_updates_in_place_without_a_reload(period_server, open_page):
    page = open_page(period_server + "/signup")
    _sign_up(page, period_server, "ada")
    page.goto(period_server + "/week/2025-W10")
    page.evaluate("window.notReloaded = true")
    button = page.locator("article.paper").nth(1).locator("form.upvote button")
    assert button.inner_text().startswith("▲ 0 here")
    with page.expect_response(lambda r: r.url.endswith("/upvote") and r.request.method == "POST") as answer:
        button.click()
    assert answer.value.headers["content-type"] == "application/json"
    expect(button).to_have_attribute("aria-pressed", "true")
    assert button.inner_text().startswith("▲ 1 here")
    assert page.evaluate("window.notReloaded") is True
    assert page.url.endswith("/week/2025-W10")
    with page.expect_response(lambda r: r.url.endswith("/unvote")):
        button.click()
    expect(button).to_have_attribute("aria-pressed", "false")
    assert button.inner_text().startswith("▲ 0 here") and page.evaluate("window.notReloaded") is True
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    page.reload()  # the vote was stored, not only drawn
    assert page.locator("article.paper").nth(1).locator("form.upvote button").inner_text().startswith("▲ 1 here")
    assert axe_violations(page) == []


def test_voting_without_javascript_posts_the_form_and_comes_back(period_server, open_page):
    page = open_page(period_server + "/signup", javascript=False)
    _sign_up(page, period_server, "grace")
    page.goto(period_server + "/day/2025-03-03?cat=cs.CL")
    before = page.locator("article.paper").first.locator("form.upvote button").inner_text()
    page.locator("article.paper").first.locator("form.upvote button").click()
    page.wait_for_load_state()
    assert page.url.endswith("/day/2025-03-03?cat=cs.CL")
    after = page.locator("article.paper").first.locator("form.upvote button")
    assert after.get_attribute("aria-pressed") == "true"
    assert int(after.inner_text().split()[1]) == int(before.split()[1]) + 1
