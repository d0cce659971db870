"""The account flows through HTTP: sign up, log in and out, passwords, reset links, disabling.

The real app on a real SQLite store. Users the test only needs to exist are made
with a cheap Argon2 hash (the stored hash carries its own parameters, so it still
verifies); each login then costs one full rehash, as a real upgrade would.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import argon2
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from paperwire import accounts, config
from paperwire.cli import cli
from paperwire.ratelimit import LOGIN_PER_ACCOUNT, SIGNUP_PER_ADDRESS
from paperwire.web.app import create_app
from tests.web.test_error_shape import assert_html_error

CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse battery"
NOW = datetime.now(timezone.utc)


def token_of(response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', response.text).group(1)


def add_user(store, name: str, *, password: str = PASSWORD, is_admin: bool = False):
    return store.create_user(username=name, email=f"{name}@example.org", is_admin=is_admin, now=NOW,
                             password_hash=accounts.hash_password(password, hasher=CHEAP))


def log_in(client, name: str, password: str = PASSWORD):
    token = token_of(client.get("/login"))
    return client.post("/login", data={"csrf_token": token, "username": name, "password": password})


def signed_in_as(client) -> str | None:
    match = re.search(r'<a href="/settings/password">([^<]+)</a>', client.get("/status").text)
    return match.group(1) if match else None


def session_cookie(client) -> str:
    return client.cookies["paperwire_session"]


@pytest.fixture
def app_for(sqlite_url, store):
    def make(**overrides):
        settings = config.load({}, database_url=sqlite_url, harvest_enabled="false", **overrides)
        return create_app(settings, store=store)
    return make


@pytest.fixture
def open_client(app_for):
    return TestClient(app_for(signup="open"), follow_redirects=False)


# --- sign up --------------------------------------------------------------------------

def test_an_open_sign_up_creates_the_account_and_logs_it_in_with_a_new_session(open_client, store):
    form = open_client.get("/signup")
    assert form.status_code == 200 and 'autocomplete="new-password"' in form.text
    anonymous = session_cookie(open_client)
    response = open_client.post("/signup", data={
        "csrf_token": token_of(form), "username": "Ada", "email": "ada@Example.ORG", "password": PASSWORD,
    })
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert session_cookie(open_client) != anonymous
    assert signed_in_as(open_client) == "ada"
    assert store.user_by_name("ada").email == "ada@example.org"


def test_a_sign_up_without_the_csrf_token_changes_nothing(open_client, store):
    open_client.get("/signup")
    response = open_client.post("/signup", data={"username": "ada", "email": "a@example.org", "password": PASSWORD})
    assert_html_error(response, 403, "no CSRF token")
    assert store.users() == []


def test_a_sign_up_from_another_site_is_refused(open_client, store):
    token = token_of(open_client.get("/signup"))
    response = open_client.post("/signup", headers={"Origin": "https://evil.example"}, data={
        "csrf_token": token, "username": "ada", "email": "a@example.org", "password": PASSWORD})
    assert_html_error(response, 403, "https://evil.example")
    assert store.users() == []


@pytest.mark.parametrize("fields, words", [
    (dict(username="a"), "use 2 to 32"),
    (dict(email="not-an-address"), "is not an email address"),
    (dict(password="short"), "use at least 8"),
    (dict(password="ada-is-my-password"), "contains the username"),
])
def test_a_sign_up_the_rules_refuse_shows_the_form_again_with_why(open_client, store, fields, words):
    token = token_of(open_client.get("/signup"))
    data = {"csrf_token": token, "username": "ada", "email": "ada@example.org", "password": PASSWORD, **fields}
    response = open_client.post("/signup", data=data)
    assert response.status_code == 400 and words in response.text.replace("&#39;", "'")
    assert store.users() == []


def test_a_taken_username_is_refused(open_client, store):
    add_user(store, "ada")
    token = token_of(open_client.get("/signup"))
    response = open_client.post("/signup", data={
        "csrf_token": token, "username": "ADA", "email": "other@example.org", "password": PASSWORD})
    assert response.status_code == 400 and "the username is taken" in response.text
    assert len(store.users()) == 1


def test_closed_sign_up_is_refused_on_get_and_post(app_for, store):
    client = TestClient(app_for(signup="closed"), follow_redirects=False)
    assert_html_error(client.get("/signup"), 403, "sign-up on this instance is closed")
    token = token_of(client.get("/login"))
    response = client.post("/signup", data={
        "csrf_token": token, "username": "ada", "email": "ada@example.org", "password": PASSWORD})
    assert_html_error(response, 403, "closed")
    assert store.users() == []


def test_invite_only_sign_up_takes_one_person_per_invite(app_for, store):
    client = TestClient(app_for(signup="invite"), follow_redirects=False)
    ada = add_user(store, "ada")
    invite = accounts.new_token(accounts.TokenKind.INVITE)
    store.create_invite(invite.hash, created_by=ada.id, now=NOW)
    assert_html_error(client.get("/signup"), 403, "needs an invite link")
    form = client.get(f"/signup?invite={invite.value}")
    assert form.status_code == 200 and invite.value in form.text
    data = {"csrf_token": token_of(form), "invite": invite.value, "username": "bob",
            "email": "bob@example.org", "password": PASSWORD}
    assert client.post("/signup", data=data).status_code == 303
    again = TestClient(client.app, follow_redirects=False)
    token = token_of(again.get("/login"))
    response = again.post("/signup", data={**data, "csrf_token": token, "username": "eve", "email": "eve@example.org"})
    assert_html_error(response, 403, "needs an invite link")
    assert [u.username for u in store.users()] == ["ada", "bob"]


def test_sign_ups_are_limited_per_address(open_client, store):
    token = token_of(open_client.get("/signup"))
    data = {"csrf_token": token, "username": "x", "email": "x@example.org", "password": PASSWORD}
    for _ in range(SIGNUP_PER_ADDRESS.count):
        assert open_client.post("/signup", data=data).status_code == 400  # refused by the rules
    response = open_client.post("/signup", data={**data, "username": "ada"})
    assert_html_error(response, 429, "too many attempts")
    assert int(response.headers["retry-after"]) > 0
    assert store.users() == []


# --- log in and out ---------------------------------------------------------------------

def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(open_client, store):
    add_user(store, "ada")
    wrong, unknown = log_in(open_client, "ada", "wrong password"), log_in(open_client, "nobody", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 400 and "wrong username or password" in response.text
    assert signed_in_as(open_client) is None and store.session_count(store.user_by_name("ada").id) == 0


def test_login_rotates_the_session_and_the_old_token_stops_working(open_client, store):
    ada = add_user(store, "ada")
    anonymous_token = token_of(open_client.get("/login"))
    anonymous = session_cookie(open_client)
    response = log_in(open_client, "ADA")
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert session_cookie(open_client) not in (anonymous, "")
    assert signed_in_as(open_client) == "ada"
    assert store.user_by_id(ada.id).last_login_at is not None
    # The cheap test hash was replaced by one with the site's parameters.
    assert not accounts.PASSWORD_HASHER.check_needs_rehash(store.user_by_id(ada.id).password_hash)
    assert_html_error(open_client.post("/logout", data={"csrf_token": anonymous_token}), 403, "not this session's")


def test_login_goes_back_to_a_local_next_page_only(open_client, store):
    add_user(store, "ada")
    form = open_client.get("/login?next=https://evil.example/")
    assert 'name="next" value="/"' in form.text
    form = open_client.get("/login?next=/settings/password")
    response = open_client.post("/login", data={"csrf_token": token_of(form), "username": "ada",
                                                "password": PASSWORD, "next": "/settings/password"})
    assert response.headers["location"] == "/settings/password"


def test_logout_ends_the_session_in_the_store(open_client, store):
    ada = add_user(store, "ada")
    log_in(open_client, "ada")
    page = open_client.get("/status")
    response = open_client.post("/logout", data={"csrf_token": token_of(page)})
    assert response.status_code == 303 and store.session_count(ada.id) == 0
    assert signed_in_as(open_client) is None


@pytest.mark.parametrize("path", ["/logout", "/users/ada/disable", "/login", "/signup", "/settings/password"])
def test_a_get_never_changes_state(open_client, store, path):
    admin = add_user(store, "root-admin", is_admin=True)
    add_user(store, "ada")
    log_in(open_client, "root-admin")
    response = open_client.get(path)
    assert response.status_code in (200, 405)
    assert store.session_count(admin.id) == 1 and not store.user_by_name("ada").is_disabled
    if path in ("/logout", "/users/ada/disable"):
        assert response.status_code == 405


def test_logins_are_limited_per_account(open_client, store):
    add_user(store, "ada")
    for _ in range(LOGIN_PER_ACCOUNT.count):
        assert log_in(open_client, "ada", "wrong password").status_code == 400
    response = log_in(open_client, "Ada")  # the right password, too late
    assert_html_error(response, 429, "too many attempts")
    assert int(response.headers["retry-after"]) > 0
    assert signed_in_as(open_client) is None


# --- passwords --------------------------------------------------------------------------

def test_changing_the_password_ends_the_other_sessions(open_client, store):
    ada = add_user(store, "ada")
    phone = TestClient(open_client.app, follow_redirects=False)
    log_in(phone, "ada")
    log_in(open_client, "ada")
    assert store.session_count(ada.id) == 2
    form = open_client.get("/settings/password")
    wrong = open_client.post("/settings/password", data={
        "csrf_token": token_of(form), "current_password": "nope", "new_password": "a new passphrase"})
    assert wrong.status_code == 400 and "the current password is wrong" in wrong.text
    response = open_client.post("/settings/password", data={
        "csrf_token": token_of(form), "current_password": PASSWORD, "new_password": "a new passphrase"})
    assert response.status_code == 303
    assert signed_in_as(open_client) == "ada" and signed_in_as(phone) is None
    assert accounts.verify_password(store.user_by_id(ada.id).password_hash, "a new passphrase").is_valid


def test_the_password_page_sends_a_visitor_to_log_in(open_client):
    response = open_client.get("/settings/password")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/settings/password"


def test_a_reset_link_from_the_cli_sets_a_new_password_once(open_client, store, sqlite_url):
    ada = add_user(store, "ada")
    log_in(open_client, "ada")
    result = CliRunner().invoke(cli, ["--database-url", sqlite_url, "user", "reset-link", "ada",
                                      "--base-url", "https://papers.example"])
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith("https://papers.example/reset/")
    path = link.removeprefix("https://papers.example")
    visitor = TestClient(open_client.app, follow_redirects=False)
    form = visitor.get(path)
    assert form.status_code == 200
    response = visitor.post(path, data={"csrf_token": token_of(form), "new_password": "reset passphrase"})
    assert response.status_code == 303 and response.headers["location"] == "/login?reset"
    assert signed_in_as(open_client) is None  # every session ended
    assert_html_error(visitor.get(path), 404, "has been used or has expired")
    assert log_in(visitor, "ada", "reset passphrase").status_code == 303
    assert store.session_count(ada.id) == 1


# --- admins -----------------------------------------------------------------------------

def test_an_admin_disables_a_user_who_is_then_logged_out_and_cannot_log_in(open_client, store):
    add_user(store, "root-admin", is_admin=True)
    bob = add_user(store, "bob")
    bobs = TestClient(open_client.app, follow_redirects=False)
    log_in(bobs, "bob")
    assert_html_error(bobs.post("/users/root-admin/disable", data={"csrf_token": token_of(bobs.get("/status"))}),
                      403, "only an administrator")
    log_in(open_client, "root-admin")
    page = open_client.get("/users")
    assert page.status_code == 200 and "Disable bob" in page.text
    response = open_client.post("/users/bob/disable", data={"csrf_token": token_of(page)})
    assert response.status_code == 303 and store.user_by_id(bob.id).is_disabled
    assert signed_in_as(bobs) is None
    refused = log_in(bobs, "bob")
    assert refused.status_code == 400 and "wrong username or password" in refused.text
    assert_html_error(TestClient(open_client.app).get("/users"), 401, "log in")


# --- the signing key and the CLI -----------------------------------------------------------

def test_the_generated_signing_key_is_kept_in_the_store_and_a_configured_one_is_not(app_for, store):
    first = app_for().state.secret_key
    assert len(first) >= accounts.SECRET_KEY_MIN_CHARS
    assert app_for().state.secret_key == first == store.get_checkpoint(accounts.SECRET_KEY_CHECKPOINT)
    configured = "c" * 40
    assert app_for(secret_key=configured).state.secret_key == configured
    assert store.get_checkpoint(accounts.SECRET_KEY_CHECKPOINT) == first


def test_the_cli_creates_an_admin_and_refuses_a_duplicate_or_a_weak_password(sqlite_url, store):
    runner = CliRunner()

    def create(*args, password=PASSWORD):
        return runner.invoke(cli, ["--database-url", sqlite_url, "user", "create", *args, "--password-stdin"],
                             input=password + "\n")

    result = create("Ada", "--email", "ada@example.org", "--admin")
    assert result.exit_code == 0, result.output
    assert "created administrator ada" in result.output and store.user_by_name("ada").is_admin
    duplicate = create("ada", "--email", "x@example.org")
    assert duplicate.exit_code == 1 and "the username is taken" in duplicate.output
    weak = create("bob", "--email", "bob@example.org", password="short")
    assert weak.exit_code == 1 and "use at least 8" in weak.output
    listed = runner.invoke(cli, ["--database-url", sqlite_url, "user", "list"])
    assert listed.exit_code == 0 and "ada\tadmin\tactive\tada@example.org" in listed.output
    disabled = runner.invoke(cli, ["--database-url", sqlite_url, "user", "disable", "ada"])
    assert disabled.exit_code == 0, disabled.output
    assert store.user_by_name("ada").is_disabled
    missing = runner.invoke(cli, ["--database-url", sqlite_url, "user", "disable", "nobody"])
    assert missing.exit_code == 1 and "there is no user 'nobody'" in missing.output
