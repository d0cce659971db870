"""Password reset by mail through HTTP, with a real SMTP server (aiosmtpd) on loopback: the
mail arrives with a working link that works once; an unknown or disabled account gets the
same answer and no mail; the per-address limit answers 429 and the per-account limit
sends no more mail without saying so (docs/community.md, "Routes and forms")."""

from __future__ import annotations

import re
import time

import pytest
from starlette.testclient import TestClient

from paperwire import account_links, accounts
from paperwire.ratelimit import RESET_PER_ACCOUNT, RESET_PER_ADDRESS
from paperwire.web.app import create_app
from paperwire.web.sessions import now
from tests.digest.conftest import BASE_URL, mail_settings, smtp_server  # noqa: F401 (a fixture)
from tests.web.test_accounts import PASSWORD, add_user, log_in, signed_in_as, token_of
from tests.web.test_error_shape import assert_html_error
from tests.web.test_signup_values import CASES as SIGN_UP_CASES

# Names and addresses that sign-up refuses (control characters, bidi overrides, confusables,
# HTML, SQL): no account can hold them, so each must get the same answer as any unknown account.
REFUSED_AT_SIGN_UP = [value for field, value, (outcome, _) in SIGN_UP_CASES
                      if field in ("username", "email") and outcome == "refused"]

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def mailing(sqlite_url, store, smtp_server, tmp_path):  # noqa: F811
    _, port, recorder = smtp_server
    settings = mail_settings(port, database_url=sqlite_url, harvest_enabled="false",
                             model_cache_dir=str(tmp_path / "cache"))
    return TestClient(create_app(settings, store=store), follow_redirects=False), store, recorder


def ask(client, account: str):
    """Post the reset form as a visitor would, from the form page."""
    return client.post("/reset", data={"csrf_token": token_of(client.get("/reset")), "account": account})


def link_in(received) -> str:
    """The path of the reset link in a received mail's text part (and the same in its HTML)."""
    text = received.message.get_body(("plain",)).get_content()
    html = received.message.get_body(("html",)).get_content()
    url = re.search(rf"{re.escape(BASE_URL)}(/reset/[A-Za-z0-9_-]+)", text).group(1)
    assert f'href="{BASE_URL}{url}"' in html
    return url


def test_the_form_is_shown_once_mail_is_configured_and_the_administrator_page_before(mailing, client):
    mail_client, _, _ = mailing
    page = mail_client.get("/reset")
    assert page.status_code == 200 and 'action="/reset"' in page.text and 'name="csrf_token"' in page.text
    assert 'name="account"' in page.text
    without_mail = client.get("/reset")
    assert "paperwire user reset-link" in without_mail.text and 'action="/reset"' not in without_mail.text
    refused = client.post("/reset", data={"csrf_token": token_of(client.get("/login")), "account": "ada"})
    assert_html_error(refused, 404, "sends no mail")


def test_the_mail_arrives_with_a_link_that_works_once(mailing):
    client, store, recorder = mailing
    ada = add_user(store, "ada")
    log_in(client, "ada")
    visitor = TestClient(client.app, follow_redirects=False)
    response = ask(visitor, "Ada")
    assert response.status_code == 303 and response.headers["location"] == "/reset?sent"
    assert "If an account with that name or address exists" in visitor.get("/reset?sent").text
    [received] = recorder.received
    assert received.rcpt_tos == ["ada@example.org"]
    message = received.message
    assert message["Subject"] == "Reset your paperwire password" and "List-Unsubscribe" not in message
    assert "ada" in message.get_body(("plain",)).get_content()
    path = link_in(received)
    token = path.removeprefix("/reset/")
    assert store.reset_link_user(accounts.token_hash(token), now=now()).id == ada.id
    assert store.engine.read().rows("SELECT token_hash FROM reset_links") == [
        {"token_hash": accounts.token_hash(token)}]  # kept as its hash, never as itself

    form = visitor.get(path)
    assert form.status_code == 200 and "Choose a new password" in form.text
    done = visitor.post(path, data={"csrf_token": token_of(form), "new_password": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == "/login?reset"
    assert signed_in_as(client) is None  # every session of the account ended
    assert_html_error(visitor.get(path), 404, "has been used or has expired")
    again = visitor.post(path, data={"csrf_token": token_of(visitor.get("/login")), "new_password": "another passphrase"})
    assert_html_error(again, 404, "has been used or has expired")
    assert log_in(visitor, "ada", NEW_PASSWORD).status_code == 303
    assert log_in(TestClient(client.app, follow_redirects=False), "ada", PASSWORD).status_code == 400


def test_the_account_can_be_named_by_its_email_address(mailing):
    client, store, recorder = mailing
    add_user(store, "ada")
    assert ask(client, "  ada@EXAMPLE.org ").status_code == 303
    [received] = recorder.received
    assert received.rcpt_tos == ["ada@example.org"] and link_in(received)


@pytest.mark.parametrize("typed", list(dict.fromkeys(
    ["nobody", "nobody@example.org", "", "x" * 5000, "<script>", *REFUSED_AT_SIGN_UP])))
def test_an_unknown_account_gets_the_same_answer_and_no_mail(mailing, typed):
    client, store, recorder = mailing
    add_user(store, "ada")
    known = ask(client, "ada")
    unknown = ask(client, typed)
    assert (unknown.status_code, unknown.headers["location"]) == (known.status_code, known.headers["location"])
    assert client.get(unknown.headers["location"]).text == client.get(known.headers["location"]).text
    assert [r.rcpt_tos for r in recorder.received] == [["ada@example.org"]]
    assert account_links.mail_reset_link(store, typed, settings=client.app.state.settings,
                                         may_mail=lambda user: True, now=now()) == "no-account"


def test_a_disabled_account_gets_no_mail(mailing):
    client, store, recorder = mailing
    add_user(store, "bob")
    store.set_disabled("bob")
    response = ask(client, "bob")
    assert response.status_code == 303 and response.headers["location"] == "/reset?sent"
    assert recorder.received == []


def test_mail_to_one_account_stops_silently_and_one_address_gets_429(mailing):
    client, store, recorder = mailing
    add_user(store, "ada")
    for _ in range(RESET_PER_ACCOUNT.count + 2):
        response = ask(client, "ada")
        assert response.status_code == 303 and response.headers["location"] == "/reset?sent"
    assert len(recorder.received) == RESET_PER_ACCOUNT.count  # the same answer, no more mail
    for _ in range(RESET_PER_ADDRESS.count - RESET_PER_ACCOUNT.count - 2):
        assert ask(client, "nobody").status_code == 303
    refused = ask(client, "nobody")
    assert_html_error(refused, 429, "too many attempts")
    assert int(refused.headers["retry-after"]) > 0


def test_the_form_needs_a_csrf_token_and_a_get_changes_nothing(mailing):
    client, store, recorder = mailing
    add_user(store, "ada")
    client.get("/reset")
    assert_html_error(client.post("/reset", data={"account": "ada"}), 403, "")
    assert client.get("/reset?account=ada").status_code == 200
    assert recorder.received == []


def test_an_administrator_mails_a_reset_link_from_the_cli(mailing, sqlite_url):
    from click.testing import CliRunner

    from paperwire.cli import cli

    client, store, recorder = mailing
    add_user(store, "ada")
    port = client.app.state.settings.smtp_port
    env = {"PAPERWIRE_SMTP_HOST": "127.0.0.1", "PAPERWIRE_SMTP_PORT": str(port), "PAPERWIRE_SMTP_SECURITY": "none",
           "PAPERWIRE_SMTP_FROM": "paperwire <paperwire@example.org>", "PAPERWIRE_BASE_URL": BASE_URL}
    result = CliRunner().invoke(cli, ["--database-url", sqlite_url, "user", "reset-link", "ada", "--mail"], env=env)
    assert result.exit_code == 0, result.output
    assert "mailed a reset link to ada <ada@example.org>" in result.output
    [received] = recorder.received
    path = link_in(received)
    assert client.get(path).status_code == 200
    no_mail = CliRunner().invoke(cli, ["--database-url", sqlite_url, "user", "reset-link", "ada", "--mail"],
                                 env={"PAPERWIRE_SMTP_HOST": ""})
    assert no_mail.exit_code == 1 and "mail is not configured" in no_mail.output


def test_the_answer_goes_before_the_mail_so_its_timing_tells_nothing(sqlite_url, store, tmp_path):
    """Under a real server the visitor has the answer while the mail server still holds the
    mail: the lookup and the sending happen after it, for known and unknown accounts alike."""
    import asyncio
    import threading

    import httpx
    from aiosmtpd.controller import Controller

    from tests.browser.conftest import serve
    from tests.digest.conftest import Recorder, free_port

    class HeldRecorder(Recorder):
        gate = threading.Event()

        async def handle_DATA(self, server, session, envelope):
            await asyncio.to_thread(self.gate.wait, 10)
            return await super().handle_DATA(server, session, envelope)

    recorder = HeldRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    add_user(store, "ada")
    settings = mail_settings(controller.port, database_url=sqlite_url, harvest_enabled="false",
                             embed_enabled="false", model_cache_dir=str(tmp_path / "cache"))
    try:
        with serve(settings, store) as base_url, httpx.Client(base_url=base_url, timeout=5) as http:
            response = http.post("/reset", data={"csrf_token": token_of(http.get("/reset")), "account": "ada"})
            assert response.status_code == 303 and response.headers["location"] == "/reset?sent"
            assert recorder.received == []  # answered while the mail is still on its way
            recorder.gate.set()
            deadline = time.monotonic() + 10
            while not recorder.received and time.monotonic() < deadline:
                time.sleep(0.05)
            assert [r.rcpt_tos for r in recorder.received] == [["ada@example.org"]]
    finally:
        recorder.gate.set()
        controller.stop()
