"""Users, sessions, invites, reset links and the claimed signing key, on both engines."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from paperwire.accounts import SESSION_IDLE_TIMEOUT, SESSION_LIFETIME
from paperwire.store import NotFound
from paperwire.store.accounts import SESSION_TOUCH_SECONDS, UserExists

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def add_user(store, name="ada", **overrides):
    fields = dict(username=name, email=f"{name}@example.org", password_hash=f"hash-{name}", now=NOW)
    return store.create_user(**{**fields, **overrides})


def test_a_user_is_kept_and_found_by_name_and_id(store):
    ada = add_user(store, is_admin=True)
    assert store.user_by_name("ada") == ada == store.user_by_id(ada.id)
    assert (ada.email, ada.password_hash, ada.is_admin, ada.is_disabled) == ("ada@example.org", "hash-ada", True, False)
    assert ada.created_at == ada.password_changed_at == NOW and ada.last_login_at is None
    assert store.user_by_name("bob") is None
    assert "hash" not in repr(ada) and "example.org" not in repr(ada)


@pytest.mark.parametrize("second", [dict(name="ada", email="other@example.org"), dict(name="bob", email="ada@example.org")])
def test_a_taken_username_or_email_is_refused_saying_which(store, second):
    add_user(store)
    with pytest.raises(UserExists, match="username" if second["name"] == "ada" else "email"):
        add_user(store, second["name"], email=second["email"])
    assert [u.username for u in store.users()] == ["ada"]


def test_a_session_finds_its_user_until_it_expires_or_is_deleted(store):
    ada = add_user(store)
    store.create_session("s1", ada.id, now=NOW, user_agent="x" * 500)
    assert store.session_user("s1", now=NOW) == ada
    assert store.session_user("nope", now=NOW) is None
    # Idle: seen again within the timeout keeps it; not seen for longer ends it.
    later = NOW + SESSION_IDLE_TIMEOUT - timedelta(seconds=1)
    assert store.session_user("s1", now=later) == ada
    assert store.session_user("s1", now=later + SESSION_IDLE_TIMEOUT - timedelta(seconds=1)) == ada
    assert store.session_user("s1", now=NOW + SESSION_LIFETIME) is None  # absolute lifetime
    assert store.session_count(ada.id) == 0  # the expired one was deleted
    store.create_session("s2", ada.id, now=NOW)
    store.delete_session("s2")
    assert store.session_user("s2", now=NOW) is None


def test_an_idle_session_expires(store):
    ada = add_user(store)
    store.create_session("s1", ada.id, now=NOW)
    assert store.session_user("s1", now=NOW + timedelta(seconds=SESSION_TOUCH_SECONDS - 1)) == ada
    assert store.session_user("s1", now=NOW + SESSION_IDLE_TIMEOUT) is None


def test_disabling_a_user_ends_their_sessions_and_hides_them_from_sessions(store):
    ada, bob = add_user(store), add_user(store, "bob")
    store.create_session("a", ada.id, now=NOW)
    store.create_session("b", bob.id, now=NOW)
    assert store.set_disabled("ada").is_disabled
    assert store.session_user("a", now=NOW) is None and store.session_count(ada.id) == 0
    assert store.session_user("b", now=NOW) == bob
    with pytest.raises(NotFound, match="'eve'"):
        store.set_disabled("eve")


def test_a_password_change_keeps_only_the_current_session(store):
    ada = add_user(store)
    for name in ("here", "phone", "laptop"):
        store.create_session(name, ada.id, now=NOW)
    store.change_password(ada.id, "new-hash", now=NOW + timedelta(hours=1), keep_session_hash="here")
    assert store.session_user("here", now=NOW) is not None
    assert store.session_user("phone", now=NOW) is None and store.session_count(ada.id) == 1
    changed = store.user_by_id(ada.id)
    assert (changed.password_hash, changed.password_changed_at) == ("new-hash", NOW + timedelta(hours=1))


def test_a_login_is_recorded_with_an_optional_rehash(store):
    ada = add_user(store)
    store.record_login(ada.id, now=NOW)
    assert store.user_by_id(ada.id).last_login_at == NOW and store.user_by_id(ada.id).password_hash == "hash-ada"
    store.record_login(ada.id, now=NOW, password_hash="rehashed")
    assert store.user_by_id(ada.id).password_hash == "rehashed"


def test_an_invite_signs_up_one_user_once_and_expires(store):
    ada = add_user(store)
    store.create_invite("inv", created_by=ada.id, now=NOW)
    assert store.is_invite_valid("inv", now=NOW) and not store.is_invite_valid("other", now=NOW)
    bob = add_user(store, "bob", invite_hash="inv")
    assert not store.is_invite_valid("inv", now=NOW)
    with pytest.raises(NotFound, match="invite"):
        add_user(store, "eve", invite_hash="inv")
    store.create_invite("old", created_by=ada.id, now=NOW - timedelta(days=15))
    with pytest.raises(NotFound):
        add_user(store, "eve", invite_hash="old")
    assert [u.username for u in store.users()] == ["ada", "bob"] and bob.id != ada.id


def test_invites_are_listed_by_maker_newest_first_with_who_used_them(store):
    ada, root = add_user(store), add_user(store, "root1", is_admin=True)
    store.create_invite("a1", created_by=ada.id, now=NOW - timedelta(days=20))
    store.create_invite("a2", created_by=ada.id, now=NOW - timedelta(days=2))
    store.create_invite("a3", created_by=ada.id, now=NOW - timedelta(days=1))
    store.create_invite("r1", created_by=root.id, now=NOW)
    add_user(store, "bob", invite_hash="a2", now=NOW - timedelta(hours=1))
    mine = store.invites(created_by=ada.id)
    assert [(i.created_at, i.used_by_name, i.state(NOW)) for i in mine] == [
        (NOW - timedelta(days=1), None, "open"), (NOW - timedelta(days=2), "bob", "used"),
        (NOW - timedelta(days=20), None, "expired")]
    assert mine[1].used_at == NOW - timedelta(hours=1) and mine[0].expires_at == NOW + timedelta(days=13)
    assert {i.created_by_name for i in mine} == {"ada"}
    assert [i.created_by_name for i in store.invites()] == ["root1", "ada", "ada", "ada"]


def test_only_an_unused_invite_is_revoked_and_only_by_its_maker_unless_admin(store):
    ada, eve = add_user(store), add_user(store, "eve")
    for name in ("open", "used", "other"):
        store.create_invite(name, created_by=ada.id, now=NOW)
    add_user(store, "bob", invite_hash="used")
    ids = {i.used_by_name or n: i.id for n, i in zip(("x", "y", "z"), store.invites())}
    used_id = ids["bob"]
    open_ids = sorted(i for name, i in ids.items() if name != "bob")
    assert not store.revoke_invite(open_ids[0], created_by=eve.id)  # not hers
    assert store.revoke_invite(open_ids[0], created_by=ada.id)
    assert not store.revoke_invite(open_ids[0], created_by=ada.id)  # once
    assert not store.revoke_invite(used_id, created_by=ada.id) and not store.revoke_invite(used_id)
    assert store.revoke_invite(open_ids[1])  # an administrator's: anyone's
    assert [i.used_by_name for i in store.invites()] == ["bob"]
    with pytest.raises(NotFound, match="invite"):
        add_user(store, "carl", invite_hash="open")  # a revoked link signs nobody up


def test_a_reset_link_sets_the_password_once_and_ends_sessions(store):
    ada = add_user(store)
    store.create_session("s", ada.id, now=NOW)
    store.create_reset_link("r", ada.id, now=NOW)
    assert store.reset_link_user("r", now=NOW + timedelta(minutes=59)) == ada
    assert store.reset_link_user("r", now=NOW + timedelta(hours=1)) is None  # one hour
    assert store.use_reset_link("r", "new", now=NOW + timedelta(minutes=1)).password_hash == "new"
    assert store.session_count(ada.id) == 0
    assert store.use_reset_link("r", "again", now=NOW + timedelta(minutes=2)) is None
    assert store.user_by_id(ada.id).password_hash == "new"


def test_a_checkpoint_is_claimed_by_the_first_claimant_only(store):
    assert store.claim_checkpoint("secret_key", "first") == "first"
    assert store.claim_checkpoint("secret_key", "second") == "first"
    assert store.get_checkpoint("secret_key") == "first"
