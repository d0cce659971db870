"""`/settings/invites` through HTTP: a member makes an invite link (shown once, kept hashed),
someone signs up with it, the list says who used it and which expired, an unused one is
revoked; an admin sees and revokes everyone's; open and closed instances say why there is
nothing to do; CSRF, a GET that tries to change state, and the per-member limit."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from paperwire import accounts
from paperwire.ratelimit import INVITE_PER_ACCOUNT
from paperwire.web.sessions import now
from tests.web.test_accounts import app_for  # noqa: F401 (a fixture)
from tests.web.test_accounts import PASSWORD, add_user, log_in, signed_in_as, token_of
from tests.web.test_error_shape import assert_html_error


@pytest.fixture
def member(app_for, store):
    """A client signed in as "ada" on an invite-only instance."""
    client = TestClient(app_for(signup="invite", base_url="https://papers.example"), follow_redirects=False)
    add_user(store, "ada")
    log_in(client, "ada")
    return client


def make(client):
    return client.post("/settings/invites", data={"csrf_token": token_of(client.get("/settings/invites"))})


def link_of(response) -> str:
    return re.search(r'<code class="token-value" id="new-invite">([^<]+)</code>', response.text).group(1)


def revoke_buttons(page) -> list[str]:
    return re.findall(r'action="/settings/invites/(\d+)/revoke"', page.text)


def test_a_member_makes_a_link_shown_once_that_signs_someone_up(member, store):
    page = member.get("/settings/invites")
    assert page.status_code == 200 and "You have made no invites yet" in page.text
    assert '<a href="/settings/invites">Invites</a>' in page.text  # in the account menu
    made = make(member)
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    link = link_of(made)
    assert link.startswith("https://papers.example/signup?invite=")
    value = link.split("invite=")[1]
    assert store.engine.read().rows("SELECT token_hash FROM invites") == [{"token_hash": accounts.token_hash(value)}]
    assert value not in member.get("/settings/invites").text  # shown only in the answer that made it
    assert "open until" in member.get("/settings/invites").text

    newcomer = TestClient(member.app, follow_redirects=False)
    form = newcomer.get(f"/signup?invite={value}")
    signed_up = newcomer.post("/signup", data={"csrf_token": token_of(form), "invite": value, "username": "bob",
                                               "email": "bob@example.org", "password": PASSWORD})
    assert signed_up.status_code == 303 and signed_in_as(newcomer) == "bob"
    listed = member.get("/settings/invites")
    assert "used by bob" in listed.text and revoke_buttons(listed) == []  # a used invite is not revoked


def test_an_unused_invite_is_revoked_and_then_signs_nobody_up(member, store):
    value = link_of(make(member)).split("invite=")[1]
    [invite_id] = revoke_buttons(member.get("/settings/invites"))
    page = member.get("/settings/invites")
    response = member.post(f"/settings/invites/{invite_id}/revoke", data={"csrf_token": token_of(page)})
    assert response.status_code == 303 and response.headers["location"] == "/settings/invites"
    assert store.invites() == []
    assert_html_error(TestClient(member.app).get(f"/signup?invite={value}"), 403, "needs an invite link")
    again = member.post(f"/settings/invites/{invite_id}/revoke", data={"csrf_token": token_of(page)})
    assert_html_error(again, 404, "no such unused invite")
    assert_html_error(member.post("/settings/invites/x1/revoke", data={"csrf_token": token_of(page)}), 404, "not an invite id")


def test_an_expired_invite_is_listed_as_expired(member, store):
    ada = store.user_by_name("ada")
    store.create_invite("old", created_by=ada.id, now=now() - accounts.INVITE_LIFETIME - timedelta(minutes=1))
    page = member.get("/settings/invites")
    assert "expired" in page.text and len(revoke_buttons(page)) == 1


def test_a_member_sees_and_revokes_only_their_own_and_an_admin_all(member, app_for, store):
    make(member)
    [adas] = revoke_buttons(member.get("/settings/invites"))
    eve = TestClient(member.app, follow_redirects=False)
    add_user(store, "eve")
    log_in(eve, "eve")
    assert revoke_buttons(eve.get("/settings/invites")) == []
    refused = eve.post(f"/settings/invites/{adas}/revoke", data={"csrf_token": token_of(eve.get("/settings/invites"))})
    assert_html_error(refused, 404, "no such unused invite")
    make(eve)
    root = TestClient(member.app, follow_redirects=False)
    add_user(store, "root1", is_admin=True)
    log_in(root, "root1")
    page = root.get("/settings/invites")
    assert "Every invite" in page.text and len(revoke_buttons(page)) == 2
    assert "<td>ada</td>" in page.text and "<td>eve</td>" in page.text
    done = root.post(f"/settings/invites/{adas}/revoke", data={"csrf_token": token_of(page)})
    assert done.status_code == 303 and [i.created_by_name for i in store.invites()] == ["eve"]


@pytest.mark.parametrize("policy, words", [("open", "Sign-up on this instance is open"),
                                           ("closed", "Sign-up on this instance is closed")])
def test_open_and_closed_instances_say_why_there_is_nothing_to_do(app_for, store, policy, words):
    client = TestClient(app_for(signup=policy), follow_redirects=False)
    add_user(store, "ada")
    log_in(client, "ada")
    page = client.get("/settings/invites")
    assert page.status_code == 200 and words in page.text and 'action="/settings/invites"' not in page.text
    assert '<a href="/settings/invites">' not in page.text  # not in the account menu either
    assert_html_error(client.post("/settings/invites", data={"csrf_token": token_of(page)}), 409, words)
    assert store.invites() == []


def test_a_visitor_is_sent_to_log_in_and_cannot_post(app_for):
    client = TestClient(app_for(signup="invite"), follow_redirects=False)
    page = client.get("/settings/invites")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/settings/invites"
    assert_html_error(client.post("/settings/invites", data={"csrf_token": token_of(client.get("/login"))}),
                      401, "log in")


def test_making_needs_a_csrf_token_and_a_get_makes_nothing(member, store):
    assert_html_error(member.post("/settings/invites", data={}), 403, "")
    assert_html_error(member.post("/settings/invites", data={"csrf_token": "forged"}), 403, "")
    assert member.get("/settings/invites?create=1").status_code == 200
    assert store.invites() == []


def test_making_invites_is_limited_per_member(member, store):
    for _ in range(INVITE_PER_ACCOUNT.count):
        assert make(member).status_code == 200
    refused = make(member)
    assert_html_error(refused, 429, "too many attempts")
    assert int(refused.headers["retry-after"]) > 0
    assert len(store.invites()) == INVITE_PER_ACCOUNT.count
