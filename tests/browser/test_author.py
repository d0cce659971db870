"""An author with more papers than one page, in real Chromium: the pager with JavaScript
on and off, at phone width, and no axe-core violations in light and dark."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from paperwire import config
from paperwire.papers import Author
from paperwire.store import open_store
from paperwire.web.community import AUTHOR_PAGE_SIZE
from tests.browser.conftest import PHONE, axe_violations, screenshot, serve
from tests.conftest import make_paper

PAPER_COUNT = AUTHOR_PAGE_SIZE + 10
AUTHOR_PATH = "/author/Ada%20Lovelace"


@pytest.fixture(scope="module")
def author_server(tmp_path_factory):
    """A running paperwire whose one author has ten papers more than one page holds."""
    folder = tmp_path_factory.mktemp("author")
    url = f"sqlite:///{folder}/paperwire.db"
    store = open_store(url)
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    store.upsert_papers([make_paper(arxiv_id=f"2501.{n:05d}", title=f"Analytical engine notes {n}",
                                    published_at=start + timedelta(days=n), authors=(Author("Ada Lovelace"),))
                         for n in range(PAPER_COUNT)], source="test")
    settings = config.load({}, database_url=url, harvest_enabled="false", embed_enabled="false",
                           model_cache_dir=str(folder / "cache"))
    with serve(settings, store) as base_url:
        yield base_url
    store.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_the_pager_leads_to_the_older_papers_and_back(author_server, open_page, javascript):
    page = open_page(author_server + AUTHOR_PATH, javascript=javascript)
    assert page.locator("ol.author-papers > li").count() == AUTHOR_PAGE_SIZE
    assert page.locator("nav.pager").count() == 2  # above and below the papers
    page.get_by_role("navigation", name="Pages below the papers").get_by_role("link", name="Next page").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"{AUTHOR_PATH}?page=2")
    titles = page.locator("ol.author-papers h2.title").all_inner_texts()
    assert len(titles) == PAPER_COUNT - AUTHOR_PAGE_SIZE and titles[-1] == "Analytical engine notes 0"
    page.get_by_role("navigation", name="Pages above the papers").get_by_role("link", name="Previous page").click()
    page.wait_for_load_state()
    assert page.locator("ol.author-papers h2.title").first.inner_text() == f"Analytical engine notes {PAPER_COUNT - 1}"


def test_phone_width_has_no_horizontal_scrolling(author_server, open_page):
    page = open_page(author_server + AUTHOR_PATH, phone=True)
    screenshot(page, "phone-author-paged")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_no_accessibility_violations(author_server, open_page, dark):
    page = open_page(author_server + AUTHOR_PATH + "?page=2", dark=dark)
    screenshot(page, f"{'dark' if dark else 'light'}-author-paged")
    assert axe_violations(page) == []
