"""The digest pages in real Chromium: the subscribe box with JavaScript on (the browser's time
zone arrives) and off (UTC), the settings page at phone width, and no axe-core violations
on the new pages. Mail goes to aiosmtpd on loopback."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from paperwire import accounts
from paperwire.digest import tokens
from paperwire.store import open_store
from tests.browser.conftest import PHONE, axe_violations, screenshot, serve
from tests.conftest import make_paper
from tests.digest.conftest import SECRET_KEY, Recorder, free_port, mail_settings

PASSWORD = "a long enough passphrase"


@pytest.fixture(scope="module")
def digest_server(tmp_path_factory):
    """A running paperwire with mail to aiosmtpd, a paper, and an admin "ada"."""
    from aiosmtpd.controller import Controller

    folder = tmp_path_factory.mktemp("digests")
    url = f"sqlite:///{folder}/paperwire.db"
    store = open_store(url)
    now = datetime.now(timezone.utc)
    store.upsert_papers([make_paper(arxiv_id="2612.00042", title="Attention, Briefly", published_at=now)],
                        source="test")
    store.create_user(username="ada", email="ada@example.org", is_admin=True, now=now,
                      password_hash=accounts.hash_password(PASSWORD))
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings = mail_settings(controller.port, database_url=url, harvest_enabled="false", embed_enabled="false",
                             model_cache_dir=str(folder / "cache"))
    with serve(settings, store) as base_url:
        yield base_url, store, recorder
    controller.stop()
    store.close()


def _subscribe(browser, base_url: str, email: str, *, javascript: bool):
    context = browser.new_context(java_script_enabled=javascript, timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.goto(base_url + "/trending")
    page.get_by_label("Get trending papers in your inbox").fill(email)
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_load_state()
    return context, page


def test_without_javascript_the_box_posts_utc(digest_server, open_page):
    # The form without JavaScript; its POST (zone UTC) is in tests/web/test_digests.py.
    base_url, _, _ = digest_server
    page = open_page(base_url + "/trending", javascript=False, phone=True)
    form = page.locator("form.digest-subscribe")
    assert form.get_attribute("method") == "post" and form.get_attribute("action") == "/digest/subscribe"
    assert form.locator("input[data-timezone]").input_value() == "UTC"
    assert form.locator("input[name=csrf_token]").input_value()
    assert page.get_by_label("Get trending papers in your inbox").is_visible()
    screenshot(page, "digest-box-nojs-phone")  # axe-core needs JavaScript: the JS-on test runs it


def _logged_in(browser, base_url: str, *, phone: bool = False):
    context = browser.new_context(viewport=PHONE if phone else {"width": 1280, "height": 900}, is_mobile=phone,
                                  has_touch=phone)
    page = context.new_page()
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    return context, page


def test_settings_at_phone_width(digest_server, browser):
    base_url, store, _ = digest_server
    context, page = _logged_in(browser, base_url, phone=True)
    try:
        page.goto(base_url + "/digest/settings")
        if page.get_by_role("button", name="Send me the digest").count():
            page.get_by_role("button", name="Send me the digest").click()
            page.wait_for_load_state()
        user = store.user_by_name("ada")
        store.confirm_subscriber(store.subscriber_of_user(user.id).id, now=datetime.now(timezone.utc))
        page.goto(base_url + "/digest/settings")
        page.get_by_label("Weekly", exact=True).check()
        page.get_by_label("Papers per digest").fill("7")
        page.get_by_role("button", name="Save", exact=True).click()
        page.wait_for_load_state()
        subscription = store.subscription(store.subscriber_of_user(user.id).id)
        assert (subscription.frequency, subscription.paper_count) == ("weekly", 7)
        width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1], f"horizontal scroll at 390 px: {width}"
        screenshot(page, "digest-settings-phone")
        assert axe_violations(page) == []
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/digest/settings", "/digest/preview", "/admin/digests"])
def test_signed_in_digest_pages_have_no_accessibility_violations(digest_server, browser, path):
    base_url, _, _ = digest_server
    context, page = _logged_in(browser, base_url)
    try:
        page.goto(base_url + path)
        screenshot(page, "digest-" + path.strip("/").replace("/", "-"))
        assert axe_violations(page) == []
    finally:
        context.close()


@pytest.mark.parametrize("purpose", ["confirm", "unsubscribe"])
def test_link_pages_have_no_accessibility_violations(digest_server, open_page, purpose):
    base_url, store, _ = digest_server
    subscriber = store.subscribe("linked@example.org", now=datetime.now(timezone.utc) - timedelta(days=1))
    token = tokens.sign(purpose, str(subscriber.id), secret_key=SECRET_KEY, now=datetime.now(timezone.utc))
    page = open_page(f"{base_url}/digest/{purpose}?token={token}", phone=True)
    assert page.get_by_role("button", name=purpose.capitalize()).is_visible()
    screenshot(page, f"digest-{purpose}-phone")
    assert axe_violations(page) == []


def test_the_subscribe_box_sends_the_browsers_time_zone(digest_server, browser):
    base_url, store, recorder = digest_server
    email = "reader-js@example.org"
    context, page = _subscribe(browser, base_url, email, javascript=True)
    try:
        assert page.get_by_role("heading", name="Check your inbox").is_visible()
        subscriber = store.subscriber_by_email(email)
        assert store.subscription(subscriber.id).timezone == "Asia/Tokyo"
        assert any(r.rcpt_tos == [email] for r in recorder.received)
        screenshot(page, "digest-subscribed")
        assert axe_violations(page) == []
    finally:
        context.close()
