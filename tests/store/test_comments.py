"""Comments, API tokens and the sweep of expired account rows, on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from paperwire.accounts import INVITE_KEPT_FOR, INVITE_LIFETIME, RESET_LINK_LIFETIME, SESSION_IDLE_TIMEOUT, SESSION_LIFETIME
from paperwire.store import NotFound
from tests.store.test_accounts import NOW, add_user

PAPER = "2503.00001"


def post(store, user, text="hello", *, parent_id=None, arxiv_id=PAPER, at=NOW):
    return store.add_comment(arxiv_id, user.id, body=text, body_html=f"<p>{text}</p>", render_version=1,
                             now=at, parent_id=parent_id)


def test_a_comment_and_its_replies_are_kept_in_order_with_their_author(store):
    ada, bob = add_user(store, "ada"), add_user(store, "bob")
    first = post(store, ada, "first")
    reply = post(store, bob, "a reply", parent_id=first.id, at=NOW + timedelta(minutes=1))
    post(store, bob, "elsewhere", arxiv_id="2503.00002")
    found = store.comments_for(PAPER)
    assert [(c.id, c.username, c.parent_id, c.body) for c in found] == [
        (first.id, "ada", None, "first"), (reply.id, "bob", first.id, "a reply")]
    assert first.created_at == NOW and first.edited_at is None and not first.is_deleted and not first.is_hidden
    assert store.comment(reply.id) == reply


@pytest.mark.parametrize("where", ["unknown", "other paper", "a reply"])
def test_a_reply_needs_a_live_top_level_parent_on_the_same_paper(store, where):
    ada = add_user(store)
    top = post(store, ada)
    parent = {"unknown": top.id + 1000, "other paper": post(store, ada, arxiv_id="2503.00009").id,
              "a reply": post(store, ada, parent_id=top.id).id}[where]
    with pytest.raises(NotFound, match="to reply to"):
        post(store, ada, parent_id=parent)


def test_editing_replaces_the_text_and_notes_when(store):
    ada = add_user(store)
    comment = post(store, ada, "old")
    later = NOW + timedelta(hours=1)
    edited = store.edit_comment(comment.id, body="new", body_html="<p>new</p>", render_version=2, now=later)
    assert (edited.body, edited.body_html, edited.render_version, edited.edited_at) == ("new", "<p>new</p>", 2, later)
    with pytest.raises(NotFound):
        store.edit_comment(comment.id + 1000, body="x", body_html="x", render_version=1, now=later)


def test_a_deleted_comment_with_replies_keeps_its_place_and_goes_with_its_last_reply(store):
    ada, bob = add_user(store, "ada"), add_user(store, "bob")
    top = post(store, ada, "secret words")
    reply = post(store, bob, parent_id=top.id)
    assert store.delete_comment(top.id, now=NOW)
    kept = store.comment(top.id)
    assert kept.is_deleted and kept.body == "" and kept.body_html == ""
    assert not store.delete_comment(top.id, now=NOW)  # once
    with pytest.raises(NotFound):
        post(store, bob, parent_id=top.id)  # no new replies under a deleted comment
    assert store.delete_comment(reply.id, now=NOW)
    assert store.comments_for(PAPER) == []  # the empty "[deleted]" parent went with its last reply


def test_a_comment_without_replies_is_removed(store):
    ada = add_user(store)
    comment = post(store, ada)
    assert store.delete_comment(comment.id, now=NOW) and store.comment(comment.id) is None


def test_an_admin_hides_and_shows_a_comment_and_counts_leave_out_hidden_and_deleted(store):
    ada, admin = add_user(store, "ada"), add_user(store, "root1", is_admin=True)
    shown, hidden = post(store, ada, "one"), post(store, ada, "two")
    top = post(store, ada, "three")
    post(store, ada, "reply", parent_id=top.id)
    post(store, ada, "other", arxiv_id="2503.00002")
    store.delete_comment(top.id, now=NOW)
    after = store.set_comment_hidden(hidden.id, hidden_by=admin.id, now=NOW)
    assert after.is_hidden and after.hidden_by == admin.id
    assert store.comment_counts([PAPER, "2503.00002", "2503.00003"]) == {PAPER: 2, "2503.00002": 1}
    again = store.set_comment_hidden(hidden.id, hidden_by=None, now=NOW)
    assert not again.is_hidden and again.hidden_by is None
    assert store.comment_counts([PAPER])[PAPER] == 3 and shown.id != hidden.id
    with pytest.raises(NotFound):
        store.set_comment_hidden(top.id + 1000, hidden_by=admin.id, now=NOW)


# --- API tokens -------------------------------------------------------------------------

def test_a_token_finds_its_user_until_revoked_and_notes_its_use(store):
    ada, bob = add_user(store, "ada"), add_user(store, "bob")
    token = store.create_api_token(ada.id, name="laptop", token_hash="h1", scopes="read", now=NOW)
    assert (token.name, token.scopes, token.created_at, token.last_used_at) == ("laptop", "read", NOW, None)
    user, found = store.api_token_user("h1", now=NOW + timedelta(minutes=1))
    assert user == ada and found.id == token.id
    assert store.api_tokens(ada.id)[0].last_used_at == NOW + timedelta(minutes=1)
    assert store.api_token_user("nope", now=NOW) is None
    assert not store.revoke_api_token(bob.id, token.id, now=NOW)  # not bob's
    assert store.revoke_api_token(ada.id, token.id, now=NOW)
    assert store.api_token_user("h1", now=NOW) is None and store.api_tokens(ada.id) == []
    assert not store.revoke_api_token(ada.id, token.id, now=NOW)  # once


def test_disabling_a_user_ends_their_sessions_and_revokes_their_tokens(store):
    ada = add_user(store)
    store.create_session("s1", ada.id, now=NOW)
    store.create_api_token(ada.id, name="ci", token_hash="h1", scopes="read write", now=NOW)
    store.set_disabled("ada", now=NOW)
    assert store.session_count(ada.id) == 0 and store.api_token_user("h1", now=NOW) is None
    store.set_disabled("ada", False)
    assert store.api_token_user("h1", now=NOW) is None  # enabling brings no token back


def test_a_disabled_users_token_is_refused_even_before_it_is_revoked(store):
    ada = add_user(store)
    store.create_api_token(ada.id, name="ci", token_hash="h1", scopes="read", now=NOW)
    with store.engine.write() as db:  # the flag alone, as a disable half done would leave it
        db.execute("UPDATE users SET is_disabled = ? WHERE id = ?", (True, ada.id))
    assert store.api_token_user("h1", now=NOW) is None


# --- the sweep --------------------------------------------------------------------------

def test_the_sweep_deletes_only_what_can_no_longer_be_used(store):
    ada = add_user(store)
    store.create_session("live", ada.id, now=NOW - timedelta(days=1))
    store.create_session("old", ada.id, now=NOW - SESSION_LIFETIME - timedelta(seconds=1))
    store.create_session("idle", ada.id, now=NOW - SESSION_IDLE_TIMEOUT - timedelta(seconds=1))
    store.create_reset_link("fresh", ada.id, now=NOW - timedelta(minutes=5))
    store.create_reset_link("stale", ada.id, now=NOW - RESET_LINK_LIFETIME - timedelta(seconds=1))
    store.create_reset_link("used", ada.id, now=NOW - timedelta(minutes=5))
    store.use_reset_link("used", "new-hash", now=NOW - timedelta(minutes=4))  # also ends every session
    store.create_session("live", ada.id, now=NOW - timedelta(days=1))
    store.create_session("old", ada.id, now=NOW - SESSION_LIFETIME - timedelta(seconds=1))
    store.create_invite("open", created_by=ada.id, now=NOW - timedelta(days=1))
    store.create_invite("expired", created_by=ada.id, now=NOW - INVITE_LIFETIME - timedelta(seconds=1))
    store.create_invite("taken", created_by=ada.id, now=NOW - timedelta(days=1))
    add_user(store, "bob", invite_hash="taken", now=NOW)
    swept = store.sweep_expired(now=NOW)
    # Used and expired invites stay listed for their maker INVITE_KEPT_FOR (/settings/invites).
    assert (swept.session_count, swept.reset_link_count, swept.invite_count) == (1, 2, 0)
    assert store.session_count(ada.id) == 1 and store.session_user("live", now=NOW) == store.user_by_id(ada.id)
    assert store.reset_link_user("fresh", now=NOW) is not None
    assert store.is_invite_valid("open", now=NOW)
    assert not store.is_invite_valid("expired", now=NOW) and not store.is_invite_valid("taken", now=NOW)
    assert store.sweep_expired(now=NOW).total_count == 0  # nothing left to do
    assert store.sweep_expired(now=NOW + INVITE_KEPT_FOR - timedelta(seconds=2)).invite_count == 0
    assert store.sweep_expired(now=NOW + INVITE_KEPT_FOR).invite_count == 2  # "expired" and "taken"
    assert [i.state(NOW) for i in store.invites()] == ["open"]
