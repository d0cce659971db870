"""Reading a day in real Chromium: the topic map and its links, abstracts that open without
JavaScript, the keyboard (skip link, Tab to the BibTeX box, j / k / /), the phone layout,
and axe-core on the pages this adds or changes, light and dark.

A server of its own (`reading_server`): a day with more than a page of papers whose
abstracts are long enough to fold, so the top pager and the <details> are there.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from paperwire import config
from paperwire.papers import Author
from paperwire.store import open_store
from tests.browser.conftest import DAY, PHONE, axe_violations, screenshot, serve
from tests.conftest import make_paper

PAPER_COUNT = 60  # more than feed.PAGE_SIZE: two pages
SUBJECTS = ("protein folding enzyme", "galaxy redshift telescope", "qubit entanglement photon")
DAY_PATH = f"/day/{DAY.isoformat()}"


def _papers():
    published = datetime(DAY.year, DAY.month, DAY.day, tzinfo=timezone.utc)
    return [
        make_paper(
            arxiv_id=f"2503.{n:05d}", published_at=published + timedelta(minutes=n),
            title=f"On {SUBJECTS[n % 3].split()[0]} $\\mathcal{{O}}(n^{n % 5 + 2})$ number {n}",
            abstract=(f"We study {SUBJECTS[n % 3]} at length. " * 10) + f"The end of abstract {n}.",
            authors=tuple(Author(f"Author {n}-{k}") for k in range(5)),
            categories=("cs.LG", "stat.ML"),
        )
        for n in range(1, PAPER_COUNT + 1)
    ]


@pytest.fixture(scope="module")
def reading_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reading")
    url = f"sqlite:///{folder}/paperwire.db"
    store = open_store(url)
    store.upsert_papers(_papers(), source="test")
    settings = config.load({}, database_url=url, harvest_enabled="false", embed_enabled="false",
                           model_cache_dir=str(folder / "cache"))
    with serve(settings, store) as base_url:
        yield base_url
    store.close()


def test_the_month_map_works_without_javascript(reading_server, open_page):
    page = open_page(reading_server + "/month/2025-03/map", javascript=False)
    screenshot(page, "map-month")
    assert page.locator("svg.topic-map").is_visible()
    assert page.locator("svg.topic-map a").count() == page.locator(".topic-list li a").count() == PAPER_COUNT
    assert page.locator("h1").inner_text() == "Topics of March 2025"
    page.locator(".crumbs a", has_text="2025-W09").click()  # to the week's map, no script needed
    page.wait_for_url("**/week/2025-W09/map")
    # axe-core runs as a script, so it checks the month map in test_no_accessibility_violations


def test_the_month_map_fits_a_phone(reading_server, open_page):
    page = open_page(reading_server + "/month/2025-03/map", phone=True)
    screenshot(page, "phone-map-month")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
    svg = page.locator("svg.topic-map").bounding_box()
    assert svg["width"] <= PHONE["width"] and svg["height"] > 100  # scaled down, still drawn
    first = page.locator(".topic-list li a").first
    first.scroll_into_view_if_needed()
    target = first.get_attribute("href")
    first.click()  # the list under the map, for readers who would rather tap a title
    page.wait_for_url("**" + target)


def test_topic_map_points_link_to_their_papers(reading_server, open_page):
    page = open_page(reading_server + DAY_PATH + "/map")
    screenshot(page, "map-day")
    svg = page.locator("svg.topic-map")
    assert svg.is_visible()
    assert page.locator("svg.topic-map a").count() == PAPER_COUNT
    assert page.locator(".topic-list li a").count() == PAPER_COUNT
    labels = page.locator("svg.topic-map .label text")
    assert labels.count() == page.locator(".topic-list h3").count() >= 2
    boxes = [labels.nth(i).bounding_box() for i in range(labels.count())]
    for i, a in enumerate(boxes):  # every pair of labels apart on screen
        for b in boxes[i + 1:]:
            assert (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                    or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"]), (a, b)
    # Click a dot where it shows (dots of near papers may overlap): the link under it opens.
    box = page.locator("svg.topic-map a circle").last.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    target = page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('a').getAttribute('href')", [x, y])
    assert target.startswith("/paper/2503.")
    page.mouse.click(x, y)
    page.wait_for_url("**" + target)
    assert page.locator("h1").is_visible()


def test_abstract_opens_without_javascript(reading_server, open_page):
    page = open_page(reading_server + DAY_PATH, javascript=False)
    first = page.locator("article.paper details.abstract").first
    full = first.locator("p")
    assert not full.is_visible() and first.locator(".lead").is_visible()
    first.locator("summary").click()
    assert full.is_visible() and "The end of abstract" in full.inner_text()
    assert not first.locator(".lead").is_visible()
    assert first.locator("summary").inner_text().strip().startswith("less")


def test_skip_link_is_the_first_tab_stop_and_skips_to_the_papers(reading_server, open_page):
    page = open_page(reading_server + DAY_PATH)
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert skip.is_visible() and skip.bounding_box()["y"] >= 0
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the next stop is inside the page's content, past the header
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")


def test_pager_above_the_papers_is_a_few_tabs_from_the_top(reading_server, open_page):
    page = open_page(reading_server + DAY_PATH)
    for count in range(1, 30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('rel')") == "next":
            break
    else:
        pytest.fail("no 'Next page' link in the first 30 Tab stops")
    assert page.locator("nav.pager").count() == 2
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # focus is visible


def test_j_and_k_move_between_papers_and_slash_searches(reading_server, open_page):
    page = open_page(reading_server + DAY_PATH)
    titles = page.locator("article.paper .title a")
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.href") == titles.nth(0).evaluate("a => a.href")
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.href") == titles.nth(2).evaluate("a => a.href")
    page.keyboard.press("k")
    assert page.evaluate("document.activeElement.href") == titles.nth(1).evaluate("a => a.href")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "site-search-q"
    page.keyboard.type("j")  # typing in the box is typing, not a shortcut
    assert page.locator("#site-search-q").input_value() == "j"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_bibtex_box_is_reached_by_keyboard(reading_server, open_page, javascript):
    page = open_page(reading_server + "/paper/2503.00001", javascript=javascript)
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "bibtex":
            break
    else:
        pytest.fail("the BibTeX box is not in the first 60 Tab stops")
    assert page.locator("#bibtex").input_value().startswith("@misc{")
    copy = page.locator("button.copy")
    assert copy.is_visible() == javascript  # the copy button needs the script
    if javascript:
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "copy"


def test_phone_shows_three_papers_a_screen(reading_server, open_page):
    page = open_page(reading_server + DAY_PATH, phone=True)
    screenshot(page, "phone-reading-day")
    tops = page.eval_on_selector_all(
        "article.paper", "cards => cards.map(c => [c.getBoundingClientRect().top, c.getBoundingClientRect().bottom])")
    first_top = tops[0][0]
    per_screen = sum(1 for top, bottom in tops if bottom <= first_top + PHONE["height"])
    assert per_screen >= 3, f"{per_screen} papers in a screen from the first paper at 390 px"
    in_first_screen = sum(1 for top, bottom in tops if bottom <= PHONE["height"])
    assert in_first_screen >= 2, f"{in_first_screen} whole papers in the first screen"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_script_runs_under_the_csp(reading_server, browser):
    """No CSP violation or script error on a page that loads reading.js."""
    context = browser.new_context()
    errors = []
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(reading_server + "/paper/2503.00001")
    assert page.locator("button.copy").is_visible()
    context.close()
    assert errors == []


PAGES = {
    "day": DAY_PATH, "day-page-2": DAY_PATH + "?page=2", "paper": "/paper/2503.00002",
    "day-map": DAY_PATH + "/map", "week-map": "/week/2025-W09/map", "month-map": "/month/2025-03/map",
    "status": "/status",
}


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_no_accessibility_violations(reading_server, open_page, name, dark):
    page = open_page(reading_server + PAGES[name], dark=dark)
    if name == "day":
        page.locator("details.abstract summary").first.click()  # an open abstract too
    screenshot(page, f"reading-{'dark' if dark else 'light'}-{name}")
    assert axe_violations(page) == []


def test_search_filters_fold_on_a_phone_only(reading_server, open_page):
    desktop = open_page(reading_server + "/search?q=galaxy", javascript=False)
    assert desktop.locator("select[name=mode]").is_visible()
    assert not desktop.locator("details.search-filters summary").is_visible()
    phone = open_page(reading_server + "/search?q=galaxy", phone=True, javascript=False)
    assert not phone.locator("select[name=mode]").is_visible()
    phone.locator("details.search-filters summary").click()
    assert phone.locator("select[name=mode]").is_visible()
    filtered = open_page(reading_server + "/search?q=galaxy&sort=newest", phone=True, javascript=False)
    assert filtered.locator("select[name=mode]").is_visible()  # filters in use stay open


def test_category_tag_finds_the_category(reading_server, open_page):
    page = open_page(reading_server + DAY_PATH, javascript=False)
    page.locator("article.paper a.tag", has_text="stat.ML").first.click()
    page.wait_for_load_state()
    assert page.url.endswith(DAY_PATH + "?cat=stat.ML")  # the day, filtered by the tag
    cards = page.locator("article.paper").all()
    assert cards and all("stat.ML" in card.locator("a.tag").all_inner_texts() for card in cards)
    page.goto(reading_server + "/paper/2503.00002")  # elsewhere, the category's newest papers
    page.locator("a.tag", has_text="stat.ML").first.click()
    page.wait_for_load_state()
    assert "cat%3Astat.ML" in page.url
    assert page.locator("h3.title a").count() > 0
