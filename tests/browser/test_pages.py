"""Every page in real Chromium: readable with JavaScript on and off, at desktop and
phone width, in light and dark, with no axe-core violations."""

from __future__ import annotations

import pytest

from tests.browser.conftest import DAY, PHONE, axe_violations, screenshot

PAGES = {
    "latest": "/",
    "day": f"/day/{DAY.isoformat()}",
    "paper": "/paper/2503.00001",
    "search": "/search?q=long+documents",
    "search-empty": "/search",
    "status": "/status",
    "not-found": "/paper/2503.99999",
    # the community's pages (a visitor's view; test_community.py signs in)
    "trending": "/trending?window=month",
    "author": "/author/Author%201-0",
    "submit": "/submit",
    "signup": "/signup",
    "login": "/login",
    "tokens": "/settings/tokens",  # a visitor is sent to log in
}


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_page_reads_with_and_without_javascript(live_server, open_page, name, javascript):
    page = open_page(live_server + PAGES[name], javascript=javascript)
    assert page.locator("h1").first.is_visible()
    assert page.locator("header.site").is_visible()
    if name in ("latest", "day", "search"):
        assert page.locator("h3.title a").count() > 0  # paper cards, with links
    if name == "paper":
        assert "scaling" in page.locator("h1").inner_text()


@pytest.mark.parametrize("name", PAGES)
def test_phone_width_has_no_horizontal_scrolling(live_server, open_page, name):
    page = open_page(live_server + PAGES[name], phone=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, f"phone-{name}")
    assert width <= PHONE["width"], f"{name} is {width} px wide at {PHONE['width']} px"


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_no_accessibility_violations(live_server, open_page, name, dark):
    page = open_page(live_server + PAGES[name], dark=dark)
    screenshot(page, f"{'dark' if dark else 'light'}-{name}")
    assert axe_violations(page) == []


def test_search_form_submits_without_javascript(live_server, open_page):
    page = open_page(live_server + "/search", javascript=False)
    page.locator("input[name=q]").first.fill("attention")
    page.locator("input[name=q]").first.press("Enter")
    page.wait_for_load_state()
    assert "q=attention" in page.url
    assert page.locator("h3.title a").count() > 0
