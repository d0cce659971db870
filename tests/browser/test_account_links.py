"""Password reset by mail and /settings/invites in real Chromium at phone width (390 px), with
JavaScript on and off, and no axe-core violations (axe runs scripts, so with JavaScript on).
Mail goes to aiosmtpd on loopback; the reset link is followed from the mail received."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

import pytest

from paperwire import accounts
from paperwire.store import open_store
from tests.browser.conftest import PHONE, axe_violations, screenshot, serve
from tests.digest.conftest import BASE_URL, Recorder, free_port, mail_settings
from tests.web.test_accounts import CHEAP

PASSWORD = "a long enough passphrase"
MAIL_WAIT_SECONDS = 10
MODES = pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory):
    """A running invite-only paperwire that mails through aiosmtpd, with members "resetjs",
    "resetnojs", "invitejs" and "invitenojs"."""
    from aiosmtpd.controller import Controller

    folder = tmp_path_factory.mktemp("account-links")
    url = f"sqlite:///{folder}/paperwire.db"
    store = open_store(url)
    for name in ("resetjs", "resetnojs", "invitejs", "invitenojs"):
        store.create_user(username=name, email=f"{name}@example.org", now=datetime.now(timezone.utc),
                          password_hash=accounts.hash_password(PASSWORD, hasher=CHEAP))
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings = mail_settings(controller.port, database_url=url, harvest_enabled="false", embed_enabled="false",
                             model_cache_dir=str(folder / "cache"), signup="invite")
    with serve(settings, store) as base_url:
        yield base_url, store, recorder
    controller.stop()
    store.close()


def _mail_to(recorder, address: str):
    """The one mail to `address`: it is sent after the answer has gone, so wait for it."""
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while time.monotonic() < deadline:
        found = [r for r in recorder.received if r.rcpt_tos == [address]]
        if found:
            time.sleep(0.2)  # time for a second copy, which must not come
            [received] = [r for r in recorder.received if r.rcpt_tos == [address]]
            return received
        time.sleep(0.05)
    raise AssertionError(f"no mail to {address} within {MAIL_WAIT_SECONDS} s")


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide at {PHONE['width']} px"


def _log_in(page, base_url: str, name: str, password: str = PASSWORD) -> None:
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


@MODES
def test_a_forgotten_password_is_reset_through_the_mailed_link(mail_server, open_page, javascript):
    base_url, _, recorder = mail_server
    name = "resetjs" if javascript else "resetnojs"
    page = open_page(base_url + "/login", phone=True, javascript=javascript)
    page.get_by_role("link", name="Forgot your password?").click()
    page.wait_for_load_state()
    if javascript:
        _fits(page)
        assert axe_violations(page) == []
    page.get_by_label("Username or email address").fill(f"{name}@example.org")
    page.get_by_role("button", name="Send me a link").click()
    page.wait_for_load_state()
    assert "a link to choose a new password is on its way" in page.get_by_role("status").inner_text()
    screenshot(page, f"reset-sent-phone-{'js' if javascript else 'nojs'}")
    received = _mail_to(recorder, f"{name}@example.org")
    text = received.message.get_body(("plain",)).get_content()
    path = re.search(rf"{re.escape(BASE_URL)}(/reset/\S+)", text).group(1)

    page.goto(base_url + path)
    if javascript:
        _fits(page)
        assert axe_violations(page) == []
    page.get_by_label("New password").fill("the new passphrase here")
    page.get_by_role("button", name="Set password").click()
    page.wait_for_load_state()
    assert page.url.endswith("/login?reset")
    _log_in(page, base_url, name, "the new passphrase here")
    assert page.get_by_role("link", name=name, exact=True).is_visible()


@MODES
def test_a_member_makes_and_revokes_an_invite_on_a_phone(mail_server, open_page, javascript):
    base_url, store, _ = mail_server
    name = "invitejs" if javascript else "invitenojs"
    page = open_page(base_url + "/login", phone=True, javascript=javascript)
    _log_in(page, base_url, name)
    page.get_by_role("link", name="Invites").click()
    page.wait_for_load_state()
    assert page.url.endswith("/settings/invites")
    page.get_by_role("button", name="Make an invite link").click()
    page.wait_for_load_state()
    link = page.locator("#new-invite").inner_text()
    assert "/signup?invite=" in link and "open until" in page.locator("table").inner_text()
    screenshot(page, f"invites-phone-{'js' if javascript else 'nojs'}")
    if javascript:
        _fits(page)
        assert axe_violations(page) == []
    page.get_by_role("button", name=re.compile("^Revoke")).click()
    page.wait_for_load_state()
    assert "You have made no invites yet" in page.locator("main").inner_text()
    assert store.invites(created_by=store.user_by_name(name).id) == []
