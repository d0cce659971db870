"""Signed, expiring tokens for the links in mail: confirm a subscription, unsubscribe in one click.

A token carries a subject (the subscriber id) and an expiry, and is signed with
HMAC-SHA256 under a key derived from `PAPERWIRE_SECRET_KEY`. The purpose is not
written into the token but mixed into the signature, so a confirmation token
cannot unsubscribe and an unsubscribe token cannot confirm. This module only
signs and checks; what a valid token does (confirm, unsubscribe) belongs to the
subscription routes, and the clock to the caller (`now=`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime, timedelta, timezone

from paperwire.config import ConfigError

PURPOSES = ("confirm", "unsubscribe")
# A confirmation link is acted on within minutes or not at all; a week covers a
# mail that sat in a spam folder over a holiday.
CONFIRM_TTL_DAYS = 7
# An unsubscribe link must keep working from old mail in the inbox: RFC 8058
# sets no lifetime, and a dead link pushes readers to the spam button instead.
UNSUBSCRIBE_TTL_DAYS = 365
TTL_DAYS = {"confirm": CONFIRM_TTL_DAYS, "unsubscribe": UNSUBSCRIBE_TTL_DAYS}
# 16 bytes of secret is the least for a 128-bit HMAC key (RFC 2104 section 3
# asks for at least the output length; 32 bytes from token_urlsafe is the advice).
MIN_KEY_BYTES = 16
_VERSION = "1"
# Domain separation: the same secret may also key CSRF tokens or sessions, so
# tokens here are signed under a key derived for this use alone.
_KEY_LABEL = b"paperwire digest link tokens v1"


class InvalidToken(ValueError):
    """A token that is malformed, forged, for another purpose or expired; `reason` says which."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def sign(purpose: str, subject: str, *, secret_key: str, now: datetime) -> str:
    """A URL-safe token for `purpose` about `subject`, valid for that purpose's TTL from `now`."""
    expires_at = now + timedelta(days=TTL_DAYS[_checked_purpose(purpose)])
    expiry = str(int(expires_at.timestamp()))
    body = f"{_VERSION}.{expiry}.{_b64(subject.encode())}"
    return f"{body}.{_b64(_mac(secret_key, purpose, body))}"


def verify(token: str, *, purpose: str, secret_key: str, now: datetime) -> str:
    """The subject of a valid, unexpired `purpose` token; raises InvalidToken otherwise.

    The signature is checked before anything in the token is trusted, with a
    constant-time comparison (hmac.compare_digest) so its timing leaks nothing;
    bytes, because compare_digest refuses non-ASCII str and a link may hold anything.
    """
    _checked_purpose(purpose)
    body, _, signature = (token or "").rpartition(".")
    parts = body.split(".")
    if len(parts) != 3 or parts[0] != _VERSION:
        raise InvalidToken("malformed", "this link is not one paperwire made; copy the whole link from the mail")
    expected = _b64(_mac(secret_key, purpose, body)).encode()
    if not hmac.compare_digest(expected, signature.encode()):
        raise InvalidToken("forged", f"this link's signature does not match (not a valid {purpose} link)")
    expires_at = datetime.fromtimestamp(int(parts[1]), timezone.utc)
    if now >= expires_at:
        raise InvalidToken("expired", f"this {purpose} link expired on {expires_at:%Y-%m-%d}; ask for a new one")
    return _unb64(parts[2]).decode()


def _mac(secret_key: str, purpose: str, body: str) -> bytes:
    key = hmac.new(_key_bytes(secret_key), _KEY_LABEL, hashlib.sha256).digest()
    return hmac.new(key, f"{purpose}\0{body}".encode(), hashlib.sha256).digest()


def _key_bytes(secret_key: str) -> bytes:
    key = secret_key.encode()
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"PAPERWIRE_SECRET_KEY is {'not set' if not key else 'too short'}; links in mail need at least "
            f"{MIN_KEY_BYTES} bytes: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return key


def _checked_purpose(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"token purpose {purpose!r} is not one of {PURPOSES}")
    return purpose


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        # Unreachable for a token we signed: the signature already matched.
        raise InvalidToken("malformed", "this link is damaged; copy the whole link from the mail") from None
