"""The mails' HTML parts in real Chromium: nothing fetched from anywhere, readable in light and dark.

Debian's Chromium through Playwright, as tests/browser drives it, on a thread of
its own: Playwright's sync API allows one instance per thread, and tests/browser's
session-wide one may be open on the main thread. Screenshots go to
test-artifacts/ with the other browser tests'.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from paperwire.digest import Candidate, Subscriber, Subscription, build, mail
from paperwire.papers import Author
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, axe_violations, screenshot
from tests.conftest import make_paper
from tests.digest.conftest import BASE_URL, NOW, SECRET_KEY

pytestmark = pytest.mark.slow

SENDER = mail.parse_from("paperwire digests <digest@paperwire.example.org>")
RECIPIENT = mail.parse_address("reader@example.org")
# What each scheme's page background must compute to: the inline light colour, and
# the dark one from the template's prefers-color-scheme block.
BACKGROUNDS = {"light": "rgb(244, 245, 247)", "dark": "rgb(17, 20, 24)"}


def _digest_html() -> str:
    papers = [
        make_paper(arxiv_id=f"2612.{n:05d}", title=f"Paper {n}: sparse $\\mathcal{{O}}(n \\log n)$ attention "
                   "for very long documents", abstract="We study long documents. " * 30,
                   authors=tuple(Author(f"Author {n}-{k}") for k in range(2 + n)),
                   code_url="https://github.com/example/code" if n % 2 else None)
        for n in range(1, 5)
    ]
    reasons = ["saved-search", "trending", "follow-up", "for-you"]
    candidates = [Candidate(paper, reason, "long documents" if reason == "saved-search" else "")
                  for paper, reason in zip(papers, reasons)]
    subscriber = Subscriber(42, RECIPIENT.addr_spec, confirmed_at=NOW - timedelta(days=9))
    digest = build(subscriber, Subscription(42, created_at=NOW - timedelta(days=9)), period="2026-12-02",
                   candidates=candidates, received=(), sent_periods=(), base_url=BASE_URL)
    message = mail.digest_message(digest, recipient=RECIPIENT, sender=SENDER, base_url=BASE_URL,
                                  secret_key=SECRET_KEY, now=NOW)
    return message.rendered.html


def _confirm_html() -> str:
    message = mail.confirmation_message(7, recipient=RECIPIENT, sender=SENDER, base_url=BASE_URL,
                                        secret_key=SECRET_KEY, now=NOW)
    return message.rendered.html


MAILS = {"digest": _digest_html, "confirm": _confirm_html}


@pytest.fixture(scope="module")
def in_chromium():
    """in_chromium(check) runs check(browser) on the browser's own thread and returns its result."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    thread = ThreadPoolExecutor(max_workers=1)
    playwright = thread.submit(lambda: sync_playwright().start()).result()
    browser = thread.submit(playwright.chromium.launch, executable_path=CHROMIUM, args=CHROMIUM_ARGS).result()
    yield lambda check: thread.submit(check, browser).result()
    thread.submit(browser.close).result()
    thread.submit(playwright.stop).result()
    thread.shutdown()


@pytest.mark.parametrize("kind", MAILS)
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_mail_html_fetches_nothing_and_reads_in_light_and_dark(in_chromium, kind, scheme, viewport):
    size = DESKTOP if viewport == "desktop" else PHONE
    seen = in_chromium(lambda browser: _look(browser, MAILS[kind](), scheme=scheme, size=size,
                                             name=f"mail-{kind}-{scheme}-{viewport}"))
    assert seen["requests"] == []
    assert seen["background"] == BACKGROUNDS[scheme]
    assert seen["width"] <= size["width"]
    assert seen["headings"] == 1 and seen["links"] >= 1
    assert seen["violations"] == []


def _look(browser, html: str, *, scheme: str, size: dict, name: str) -> dict:
    context = browser.new_context(viewport=size, color_scheme=scheme)
    requests: list[str] = []
    try:
        # Anything the page asks for is recorded and refused, so nothing leaves the machine either way.
        context.route("**/*", lambda route: (requests.append(route.request.url), route.abort()))
        page = context.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.set_content(html, wait_until="load")
        page.wait_for_timeout(200)  # late requests (fonts, lazy images) would show up by now
        screenshot(page, name)
        return {
            "requests": requests,
            "background": page.evaluate("getComputedStyle(document.body).backgroundColor"),
            "width": page.evaluate("document.documentElement.scrollWidth"),
            "headings": page.locator("h1").count(), "links": page.locator("a[href]").count(),
            "violations": axe_violations(page),
        }
    finally:
        context.close()


@pytest.mark.parametrize("kind", MAILS)
def test_mail_html_names_no_external_resource(kind):
    """What Chromium could not fetch because it was refused: no resource references at all."""
    html = MAILS[kind]().lower()
    for marker in ("<img", "<link", "<script", "<iframe", "@import", "url(", "src=", "<object", "<embed"):
        assert marker not in html, marker
