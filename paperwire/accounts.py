"""Accounts without storage: passwords, names, secrets, token scopes and the sign-up policy.

This module owns the rules and the cryptography of accounts: how a password is
hashed (Argon2id) and checked, what a valid username, email and password are,
how a secret (a session id, an API token, an invite or reset link) is made and
kept at rest (only its SHA-256), what an API token's scopes allow, who may sign
up, and where the signing key comes from. It stores nothing: the tables that hold
users, sessions, tokens and invites are the store's (docs/community.md), and the
web layer (web/csrf.py, the routes) decides when each of these is called.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# Argon2id with RFC 9106 section 4's second recommended option (t=3 passes, p=4 lanes,
# m=64 MiB), for machines that cannot spare 2 GiB per hash; it is argon2-cffi's
# RFC_9106_LOW_MEMORY profile and above OWASP's floor (m=19 MiB, t=2, p=1; Password
# Storage Cheat Sheet). One hash costs about 0.1-0.7 s and 64 MiB, which the login and
# sign-up rate limits (ratelimit.py) keep an attacker from multiplying.
PASSWORD_HASHER = argon2.PasswordHasher.from_parameters(argon2.profiles.RFC_9106_LOW_MEMORY)

PASSWORD_MIN_CHARS = 8  # NIST SP 800-63B 5.1.1.2 and OWASP: at least 8, no composition rules
# NIST asks to allow at least 64; the cap only bounds the work one request can ask of us.
PASSWORD_MAX_CHARS = 1024
USERNAME_MIN_CHARS = 2
USERNAME_MAX_CHARS = 32
EMAIL_MAX_CHARS = 254  # RFC 5321 4.5.3.1: a path is at most 256 octets including "<" and ">"
# Names that would read as a page of the site in /user/<name> or as staff in a comment.
RESERVED_USERNAMES = frozenset({
    "admin", "administrator", "api", "login", "logout", "me", "new", "paperwire", "root",
    "settings", "signup", "staff", "static", "support", "system",
})
_USERNAME = re.compile(r"[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf"})  # Unicode control and format characters

SECRET_BYTES = 32  # 256 bits: no online or offline guessing (OWASP Session Management: >= 64 bits)
API_TOKEN_PREFIX = "pw_"  # lets secret scanners and people recognise a leaked token
SESSION_LIFETIME = timedelta(days=30)
SESSION_IDLE_TIMEOUT = timedelta(days=7)  # OWASP Session Management: idle and absolute timeouts
RESET_LINK_LIFETIME = timedelta(hours=1)  # OWASP Forgot Password Cheat Sheet: short-lived, single use
INVITE_LIFETIME = timedelta(days=14)
# A used or expired invite stays listed this long on its maker's /settings/invites (who
# used it, or that it lapsed), then the sweep deletes it.
INVITE_KEPT_FOR = timedelta(days=30)
SECRET_KEY_MIN_CHARS = 32


class AccountError(ValueError):
    """A username, email, password, scope or setting we cannot accept; the message says why."""


# --- passwords ---------------------------------------------------------------------

@dataclass(frozen=True)
class PasswordCheck:
    """The outcome of checking a password: right or wrong, and whether to store a new hash."""

    is_valid: bool
    needs_rehash: bool = False


def hash_password(password: str, *, hasher: argon2.PasswordHasher = PASSWORD_HASHER) -> str:
    """The Argon2id hash of `password` (PHC string with its parameters and salt), to store."""
    return hasher.hash(_normalise(password))


def verify_password(
    password_hash: str | None, password: str, *, hasher: argon2.PasswordHasher = PASSWORD_HASHER,
) -> PasswordCheck:
    """Whether `password` matches `password_hash`, and whether the hash's parameters are
    older than `hasher`'s (then store `hash_password(password)` after a successful login).

    With `password_hash=None` (no such user, or a disabled one) it still spends a full
    hash on a dummy and answers invalid, so the time taken does not tell an attacker
    which accounts exist (OWASP Authentication Cheat Sheet, "Authentication responses").
    """
    stored = password_hash if password_hash is not None else _dummy_hash(hasher)
    try:
        hasher.verify(stored, _normalise(password))
    except (VerifyMismatchError, InvalidHashError, VerificationError):
        return PasswordCheck(is_valid=False)
    if password_hash is None:
        return PasswordCheck(is_valid=False)
    return PasswordCheck(is_valid=True, needs_rehash=hasher.check_needs_rehash(stored))


@functools.lru_cache(maxsize=4)
def _dummy_hash(hasher: argon2.PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(SECRET_BYTES))


def _normalise(password: str) -> str:
    # NIST SP 800-63B 5.1.1.2: normalise Unicode (NFKC) before hashing, so the same
    # password typed on two keyboards that compose accents differently still matches.
    return unicodedata.normalize("NFKC", password)


def check_password(password: str, *, username: str = "", email: str = "") -> str | None:
    """Why `password` cannot be used, or None when it can. Rules are NIST SP 800-63B's:
    length alone, no composition rules, and nothing guessable from the account itself."""
    length = len(_normalise(password))
    if length < PASSWORD_MIN_CHARS:
        return f"the password has {length} characters; use at least {PASSWORD_MIN_CHARS}"
    if length > PASSWORD_MAX_CHARS:
        return f"the password has {length} characters; use at most {PASSWORD_MAX_CHARS}"
    if len(set(password)) == 1:
        return "the password repeats one character; use a passphrase of a few words"
    lowered = password.casefold()
    if username and username.casefold() in lowered:
        return "the password contains the username; choose one that does not"
    if email and email.casefold().split("@")[0] in lowered and len(email.split("@")[0]) >= 3:
        return "the password contains the email address; choose one that does not"
    return None


# --- usernames and email addresses --------------------------------------------------

def normalise_username(raw: str) -> str:
    """The canonical username (trimmed, lower case); raises AccountError saying what is
    wrong. Usernames are unique in this form, so "Ada" and "ada" are one account."""
    name = raw.strip().lower()
    if not USERNAME_MIN_CHARS <= len(name) <= USERNAME_MAX_CHARS:
        raise AccountError(
            f"username {raw!r} has {len(name)} character{'' if len(name) == 1 else 's'}; "
            f"use {USERNAME_MIN_CHARS} to {USERNAME_MAX_CHARS}"
        )
    if not _USERNAME.fullmatch(name):
        raise AccountError(
            f"username {raw!r} may only have letters a-z, digits, '-' and '_', "
            "and must start and end with a letter or digit"
        )
    if name in RESERVED_USERNAMES:
        raise AccountError(f"username {raw!r} is reserved; choose another")
    return name


def normalise_email(raw: str) -> str:
    """The email address trimmed, its domain in lower case (RFC 5321 2.4: only the domain
    is case-insensitive); raises AccountError. Whether it works is for a confirmation mail."""
    email = raw.strip()
    if any(unicodedata.category(c) in _INVISIBLE_CATEGORIES for c in email):
        # NUL cannot be stored in PostgreSQL text, and a right-to-left override or a
        # zero-width character makes an address look like another (Unicode TR 36, 3.1).
        raise AccountError(f"the email address {raw!r} has control or invisible characters; type it plainly")
    if len(email) > EMAIL_MAX_CHARS:
        raise AccountError(f"the email address has {len(email)} characters; the limit is {EMAIL_MAX_CHARS}")
    if not _EMAIL.fullmatch(email):
        raise AccountError(f"{raw!r} is not an email address; use the form name@example.org")
    local, domain = email.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


# --- secrets: sessions, API tokens, invite and reset links -------------------------

class TokenKind(enum.Enum):
    SESSION = "session"
    API = "api"
    INVITE = "invite"
    RESET = "reset"


LIFETIMES = {
    TokenKind.SESSION: SESSION_LIFETIME,
    TokenKind.API: None,  # until revoked
    TokenKind.INVITE: INVITE_LIFETIME,
    TokenKind.RESET: RESET_LINK_LIFETIME,
}


@dataclass(frozen=True)
class IssuedToken:
    """A new secret: `value` goes to its holder once (a cookie, a link, the token page)
    and is never stored; `hash` is what the store keeps and looks the token up by."""

    kind: TokenKind
    value: str
    hash: str

    def __repr__(self) -> str:  # a token in a log line is a leaked token
        return f"IssuedToken(kind={self.kind.value}, hash={self.hash[:12]}...)"


def new_token(kind: TokenKind) -> IssuedToken:
    """A fresh random secret of `kind` and its SHA-256. A plain hash is enough here (not
    Argon2): 256 random bits cannot be guessed, so nothing needs slowing down, and the
    store can find a token by its hash with an index (OWASP Session Management)."""
    value = secrets.token_urlsafe(SECRET_BYTES)
    if kind is TokenKind.API:
        value = API_TOKEN_PREFIX + value
    return IssuedToken(kind=kind, value=value, hash=token_hash(value))


def token_hash(value: str) -> str:
    """The hex SHA-256 of a token, as the store keeps it."""
    return hashlib.sha256(value.encode()).hexdigest()


def token_matches(value: str, stored_hash: str) -> bool:
    """Whether `value` is the token whose hash is `stored_hash`, compared in constant time."""
    return hmac.compare_digest(token_hash(value), stored_hash)


def is_expired(kind: TokenKind, issued_at: datetime, now: datetime) -> bool:
    """Whether a token of `kind` issued at `issued_at` has passed its lifetime at `now`."""
    lifetime = LIFETIMES[kind]
    return lifetime is not None and now >= issued_at + lifetime


def is_session_live(created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
    """Whether a session is within both its absolute lifetime and its idle timeout."""
    return now < created_at + SESSION_LIFETIME and now < last_seen_at + SESSION_IDLE_TIMEOUT


# --- API token scopes -----------------------------------------------------------------

class Scope(enum.Enum):
    READ = "read"  # the JSON API's GETs, as the token's owner (private data included later)
    WRITE = "write"  # upvote, submit, comment through the API; implies read


def parse_scopes(raw: str) -> frozenset[Scope]:
    """The scopes named in `raw` (space- or comma-separated); raises AccountError for an
    unknown name or none at all."""
    names = [n for n in re.split(r"[\s,]+", raw.strip().lower()) if n]
    known = {s.value: s for s in Scope}
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise AccountError(
            f"token scopes {raw!r} are not valid; use {' or '.join(sorted(known))} (or both)"
        )
    return frozenset(known[n] for n in names)


def grants(scopes: frozenset[Scope], needed: Scope) -> bool:
    """Whether a token with `scopes` may do what needs `needed`; write implies read."""
    return needed in scopes or (needed is Scope.READ and Scope.WRITE in scopes)


# --- sign-up policy -------------------------------------------------------------------

class SignupPolicy(enum.Enum):
    OPEN = "open"  # anyone may create an account
    INVITE = "invite"  # only with an invite link an existing user made
    CLOSED = "closed"  # only an admin, with `paperwire user create`


def parse_signup_policy(raw: str) -> SignupPolicy:
    """The policy PAPERWIRE_SIGNUP names; raises AccountError naming the choices."""
    try:
        return SignupPolicy(raw.strip().lower())
    except ValueError:
        choices = ", ".join(p.value for p in SignupPolicy)
        raise AccountError(f"PAPERWIRE_SIGNUP={raw!r} is not a sign-up policy; use one of {choices}") from None


def signup_refusal(policy: SignupPolicy, *, has_valid_invite: bool) -> str | None:
    """Why a visitor may not sign up under `policy`, or None when they may."""
    if policy is SignupPolicy.OPEN:
        return None
    if policy is SignupPolicy.INVITE:
        return None if has_valid_invite else "sign-up on this instance needs an invite link from a member"
    return "sign-up on this instance is closed; ask its administrator for an account"


# --- the signing key ----------------------------------------------------------------

SECRET_KEY_CHECKPOINT = "secret_key"  # its name in the store's checkpoints table


def check_secret_key(raw: str) -> str | None:
    """Why PAPERWIRE_SECRET_KEY cannot be used, or None. Empty means "generate one and
    keep it in the store"; anything else must be long enough to be a key."""
    if raw and len(raw) < SECRET_KEY_MIN_CHARS:
        return (f"PAPERWIRE_SECRET_KEY has {len(raw)} characters; use at least {SECRET_KEY_MIN_CHARS}, "
                "e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return None


def resolve_secret_key(configured: str, stored: str | None) -> tuple[str, bool]:
    """The key to sign with, and whether to save it: the configured key if there is one
    (never saved), else the one saved in the store, else a fresh one to save.

    Saving must be "insert if absent, then read back" so that the first of several
    processes starting at once wins and all sign with the same key (docs/community.md).
    """
    if configured:
        return configured, False
    if stored:
        return stored, False
    return secrets.token_urlsafe(SECRET_BYTES), True


def derive_key(secret_key: str, purpose: str) -> bytes:
    """A key for one purpose ("csrf", ...) from the signing key, so that a value signed for
    one use can never be replayed as another (key separation, NIST SP 800-108's HMAC KDF)."""
    return hmac.new(secret_key.encode(), b"paperwire:" + purpose.encode(), hashlib.sha256).digest()
