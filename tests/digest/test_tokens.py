"""Signed link tokens: round trip, purpose binding, forgery, expiry."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta, timezone

import pytest

from paperwire.config import ConfigError
from paperwire.digest import tokens

KEY = "k" * 32
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("purpose", tokens.PURPOSES)
@pytest.mark.parametrize("subject", ["42", "reader@example.org", "ünï.côdé"])
def test_a_token_verifies_for_its_purpose_and_is_url_safe(purpose, subject):
    token = tokens.sign(purpose, subject, secret_key=KEY, now=NOW)
    assert re.fullmatch(r"[A-Za-z0-9_.\-]+", token)
    assert tokens.verify(token, purpose=purpose, secret_key=KEY, now=NOW) == subject


@pytest.mark.parametrize("made_for, used_for", list(itertools.permutations(tokens.PURPOSES, 2)))
def test_a_token_for_one_purpose_is_refused_for_the_other(made_for, used_for):
    token = tokens.sign(made_for, "42", secret_key=KEY, now=NOW)
    with pytest.raises(tokens.InvalidToken) as raised:
        tokens.verify(token, purpose=used_for, secret_key=KEY, now=NOW)
    assert raised.value.reason == "forged"


def _tampered(token: str) -> list[str]:
    version, expiry, subject, signature = token.split(".")
    other_subject = tokens._b64(b"43")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    return [
        f"{version}.{expiry}.{other_subject}.{signature}",          # someone else's id
        f"{version}.{int(expiry) + 10**7}.{subject}.{signature}",   # a later expiry
        f"{version}.{expiry}.{subject}.{flipped}",                  # a guessed signature
        f"{version}.{expiry}.{subject}.",                           # none at all
        f"{version}.{expiry}.{subject}.{signature}x",
    ]


def test_any_change_to_a_token_is_refused_as_forged():
    token = tokens.sign("unsubscribe", "42", secret_key=KEY, now=NOW)
    for forged in _tampered(token):
        with pytest.raises(tokens.InvalidToken) as raised:
            tokens.verify(forged, purpose="unsubscribe", secret_key=KEY, now=NOW)
        assert raised.value.reason == "forged", forged


def test_a_token_signed_with_another_key_is_refused():
    token = tokens.sign("unsubscribe", "42", secret_key="another-key-0123456789", now=NOW)
    with pytest.raises(tokens.InvalidToken, match="signature does not match"):
        tokens.verify(token, purpose="unsubscribe", secret_key=KEY, now=NOW)


@pytest.mark.parametrize("purpose, days", [("confirm", tokens.CONFIRM_TTL_DAYS),
                                           ("unsubscribe", tokens.UNSUBSCRIBE_TTL_DAYS)])
def test_a_token_expires_after_its_purposes_lifetime(purpose, days):
    token = tokens.sign(purpose, "42", secret_key=KEY, now=NOW)
    expires_at = NOW + timedelta(days=days)
    assert tokens.verify(token, purpose=purpose, secret_key=KEY, now=expires_at - timedelta(seconds=1)) == "42"
    for late in (expires_at, expires_at + timedelta(days=400)):
        with pytest.raises(tokens.InvalidToken) as raised:
            tokens.verify(token, purpose=purpose, secret_key=KEY, now=late)
        assert raised.value.reason == "expired" and expires_at.strftime("%Y-%m-%d") in str(raised.value)


@pytest.mark.parametrize("junk", ["", "x", "1.2.3", "2.1827748800.NDI.abc", "....", "1.x.y.z.w", "é.é.é.é",
                                  "1.1827748800.NDI.\u00ff\u00fe", None])
def test_malformed_or_foreign_tokens_are_refused_without_crashing(junk):
    with pytest.raises(tokens.InvalidToken) as raised:
        tokens.verify(junk, purpose="confirm", secret_key=KEY, now=NOW)
    assert raised.value.reason in ("malformed", "forged")


@pytest.mark.parametrize("key", ["", "short"])
def test_signing_without_a_usable_key_names_the_setting(key):
    with pytest.raises(ConfigError, match="PAPERWIRE_SECRET_KEY is (not set|too short)"):
        tokens.sign("confirm", "42", secret_key=key, now=NOW)


def test_an_unknown_purpose_is_a_programming_error():
    with pytest.raises(ValueError, match="token purpose 'login'"):
        tokens.sign("login", "42", secret_key=KEY, now=NOW)
