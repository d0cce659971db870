"""The API docs page (/api/docs) in real Chromium: readable without script, at phone
width, in light and dark, with no axe-core violations."""

from __future__ import annotations

import pytest

from paperwire.web import openapi_library

from tests.browser.conftest import PHONE, axe_violations, screenshot

URL = "/api/docs"


def test_lists_the_endpoints_without_javascript(live_server, open_page):
    page = open_page(live_server + URL, javascript=False)
    assert page.locator("h1").first.is_visible()
    # one section per operation: the open GETs (papers, days, search, status, trending, authors),
    # the personal ones (me, upvotes, comments, the digest subscription) and
    # the library's (openapi_library.py)
    operations = sum(len(ops) for ops in openapi_library.document()["paths"].values())
    assert page.locator("section.endpoint").count() == operations == 7 + 7 + 12
    assert page.locator("a[href='/api/v1/openapi.json']").count() == 1


def test_phone_width_has_no_horizontal_scrolling(live_server, open_page):
    page = open_page(live_server + URL, phone=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, "phone-api-docs")
    assert width <= PHONE["width"], f"/api/docs is {width} px wide at {PHONE['width']} px"


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_no_accessibility_violations(live_server, open_page, dark):
    page = open_page(live_server + URL, dark=dark)
    screenshot(page, f"{'dark' if dark else 'light'}-api-docs")
    assert axe_violations(page) == []
