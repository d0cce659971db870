"""Accounts: Argon2id hashing, the account rules, secrets at rest, scopes, sign-up, the key."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import argon2
import pytest

from paperwire import accounts, config
from paperwire.accounts import (
    AccountError, Scope, SignupPolicy, TokenKind, check_password, grants, hash_password, new_token,
    normalise_email, normalise_username, parse_scopes, resolve_secret_key, signup_refusal, token_hash,
    token_matches, verify_password,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
# Most tests hash with the cheapest parameters so the suite stays fast; the real
# parameters get their own tests below.
CHEAP = argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)


def test_default_hash_is_argon2id_with_rfc9106_parameters():
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    check = verify_password(stored, "correct horse battery staple")
    assert check.is_valid and not check.needs_rehash
    assert not verify_password(stored, "correct horse battery stapl").is_valid


def test_each_hash_has_its_own_salt():
    assert hash_password("same password", hasher=CHEAP) != hash_password("same password", hasher=CHEAP)


def test_older_parameters_ask_for_a_rehash():
    old = hash_password("correct horse battery staple", hasher=CHEAP)
    check = verify_password(old, "correct horse battery staple")
    assert check.is_valid and check.needs_rehash
    assert verify_password(old, "wrong", hasher=CHEAP) == accounts.PasswordCheck(is_valid=False)


def test_unicode_is_normalised_before_hashing():
    composed, decomposed = "caf\u00e9 au lait", "cafe\u0301 au lait"
    assert verify_password(hash_password(composed, hasher=CHEAP), decomposed, hasher=CHEAP).is_valid


@pytest.mark.parametrize("stored", [None, "", "not a hash", "$argon2id$v=19$m=8,t=1,p=1$broken"])
def test_no_user_or_a_broken_hash_is_invalid_not_an_error(stored):
    assert verify_password(stored, "whatever password", hasher=CHEAP) == accounts.PasswordCheck(False)


def test_an_unknown_user_still_costs_one_full_hash():
    """The dummy hash has the hasher's own parameters, so a missing account takes as long."""
    accounts._dummy_hash.cache_clear()
    verify_password(None, "x" * 10, hasher=CHEAP)
    dummy = accounts._dummy_hash(CHEAP)
    assert argon2.extract_parameters(dummy) == argon2.profiles.CHEAPEST


@pytest.mark.parametrize("password, username, email, words", [
    ("short", "", "", "has 5 characters; use at least 8"),
    ("x" * 1025, "", "", "has 1025 characters; use at most 1024"),
    ("aaaaaaaaaa", "", "", "repeats one character"),
    ("ada-lovelace-1815", "Ada-Lovelace", "", "contains the username"),
    ("my countess1815!", "", "countess1815@example.org", "contains the email address"),
])
def test_passwords_refused_say_why(password, username, email, words):
    assert words in check_password(password, username=username, email=email)


@pytest.mark.parametrize("password", ["8 chars!", "correct horse battery staple", "пароль-длинный", "xy" * 512])
def test_passwords_accepted(password):
    assert check_password(password, username="ada", email="ada@example.org") is None


@pytest.mark.parametrize("raw, name", [
    ("Ada", "ada"), ("  ada_l  ", "ada_l"), ("a-1", "a-1"), ("x9", "x9"), ("a" * 32, "a" * 32),
])
def test_usernames_are_lower_case_and_trimmed(raw, name):
    assert normalise_username(raw) == name


@pytest.mark.parametrize("raw, words", [
    ("a", "has 1 character; use 2 to 32"),
    ("a" * 33, "has 33 characters"),
    ("ada lovelace", "may only have letters"),
    ("-ada", "must start and end with a letter or digit"),
    ("ada_", "must start and end"),
    ("adä", "may only have letters"),
    ("<script>", "may only have letters"),
    ("Admin", "is reserved"),
])
def test_usernames_refused_say_why(raw, words):
    with pytest.raises(AccountError, match=re.escape(words)):
        normalise_username(raw)


@pytest.mark.parametrize("raw, email", [
    ("Ada@Example.ORG", "Ada@example.org"),  # the local part keeps its case (RFC 5321 2.4)
    (" ada+papers@lab.example.ac.uk ", "ada+papers@lab.example.ac.uk"),
])
def test_emails_keep_their_local_part(raw, email):
    assert normalise_email(raw) == email


@pytest.mark.parametrize("raw", ["ada", "ada@", "@example.org", "ada@example", "a b@example.org",
                                 "ada@@example.org", "ada@example.", "x" * 250 + "@example.org"])
def test_emails_refused(raw):
    with pytest.raises(AccountError, match="email address"):
        normalise_email(raw)


@pytest.mark.parametrize("kind", list(TokenKind))
def test_new_tokens_are_random_and_stored_only_as_their_hash(kind):
    issued = [new_token(kind) for _ in range(50)]
    assert len({t.value for t in issued}) == 50
    for token in issued:
        assert token.kind is kind
        assert re.fullmatch(r"[0-9a-f]{64}", token.hash) and token.hash == token_hash(token.value)
        assert token_matches(token.value, token.hash)
        assert not token_matches(token.value + "x", token.hash)
        assert token.value not in repr(token)  # a token in a log line is a leaked token
        body = token.value.removeprefix("pw_")
        assert len(body) >= 43  # 32 bytes of base64url


def test_api_tokens_carry_a_recognisable_prefix():
    assert new_token(TokenKind.API).value.startswith("pw_")
    assert not new_token(TokenKind.SESSION).value.startswith("pw_")


@pytest.mark.parametrize("kind, age, expired", [
    (TokenKind.RESET, timedelta(minutes=59), False),
    (TokenKind.RESET, timedelta(hours=1), True),
    (TokenKind.INVITE, timedelta(days=13, hours=23), False),
    (TokenKind.INVITE, timedelta(days=14), True),
    (TokenKind.SESSION, timedelta(days=30), True),
    (TokenKind.API, timedelta(days=3650), False),  # until revoked
])
def test_token_lifetimes(kind, age, expired):
    assert accounts.is_expired(kind, NOW - age, NOW) is expired


@pytest.mark.parametrize("created_days_ago, seen_days_ago, live", [
    (1, 0, True), (29, 0, True), (30, 0, False), (10, 6, True), (10, 7, False),
])
def test_sessions_have_an_absolute_and_an_idle_limit(created_days_ago, seen_days_ago, live):
    created_at, seen_at = NOW - timedelta(days=created_days_ago), NOW - timedelta(days=seen_days_ago)
    assert accounts.is_session_live(created_at, seen_at, NOW) is live


@pytest.mark.parametrize("raw, scopes", [
    ("read", {Scope.READ}), ("write", {Scope.WRITE}), ("read write", {Scope.READ, Scope.WRITE}),
    (" Read,WRITE ", {Scope.READ, Scope.WRITE}),
])
def test_parse_scopes(raw, scopes):
    assert parse_scopes(raw) == scopes


@pytest.mark.parametrize("raw", ["", "admin", "read admin", " , "])
def test_unknown_scopes_are_refused(raw):
    with pytest.raises(AccountError, match="use read or write"):
        parse_scopes(raw)


@pytest.mark.parametrize("scopes, needed, allowed", [
    ({Scope.READ}, Scope.READ, True), ({Scope.READ}, Scope.WRITE, False),
    ({Scope.WRITE}, Scope.READ, True), ({Scope.WRITE}, Scope.WRITE, True),
])
def test_write_implies_read(scopes, needed, allowed):
    assert grants(frozenset(scopes), needed) is allowed


@pytest.mark.parametrize("policy, has_invite, words", [
    (SignupPolicy.OPEN, False, None), (SignupPolicy.OPEN, True, None),
    (SignupPolicy.INVITE, True, None), (SignupPolicy.INVITE, False, "needs an invite link"),
    (SignupPolicy.CLOSED, True, "is closed"), (SignupPolicy.CLOSED, False, "is closed"),
])
def test_signup_policy(policy, has_invite, words):
    refusal = signup_refusal(policy, has_valid_invite=has_invite)
    assert refusal is None if words is None else words in refusal


def test_signup_setting_defaults_to_invite_and_is_validated():
    assert config.load({}).signup_policy is SignupPolicy.INVITE
    assert config.load({"PAPERWIRE_SIGNUP": "Open"}).signup_policy is SignupPolicy.OPEN
    with pytest.raises(config.ConfigError, match="PAPERWIRE_SIGNUP='public' is not a sign-up policy"):
        config.load({"PAPERWIRE_SIGNUP": "public"})


def test_secret_key_setting_must_be_long_and_stays_out_of_repr():
    with pytest.raises(config.ConfigError, match="PAPERWIRE_SECRET_KEY has 6 characters; use at least 32"):
        config.load({"PAPERWIRE_SECRET_KEY": "hunter"})
    key = "k" * 40
    assert key not in repr(config.load({"PAPERWIRE_SECRET_KEY": key}))
    assert config.load({}).secret_key == ""


def test_resolve_secret_key():
    configured = "c" * 40
    assert resolve_secret_key(configured, "stored-key") == (configured, False)  # configured wins, never saved
    assert resolve_secret_key("", "stored-key") == ("stored-key", False)
    key, save = resolve_secret_key("", None)
    assert save and len(key) >= accounts.SECRET_KEY_MIN_CHARS
    assert resolve_secret_key("", None)[0] != key


def test_derived_keys_differ_by_purpose():
    assert accounts.derive_key("k" * 40, "csrf") != accounts.derive_key("k" * 40, "other")
    assert accounts.derive_key("k" * 40, "csrf") == accounts.derive_key("k" * 40, "csrf")
    assert len(accounts.derive_key("k" * 40, "csrf")) == 32
