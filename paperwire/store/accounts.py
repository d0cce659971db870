"""Accounts in the store: users, their sessions, invite links and password-reset links.

The rules and the cryptography (hashing, validation, token making, lifetimes) are
`paperwire.accounts`'; this module keeps their results. Every secret arrives here
already hashed (`accounts.token_hash`) and is looked up by that hash. Each state
change that must happen once (claiming an invite, using a reset link) is one
conditional UPDATE, so two requests racing for it cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from paperwire.accounts import (
    INVITE_KEPT_FOR, INVITE_LIFETIME, RESET_LINK_LIFETIME, SESSION_IDLE_TIMEOUT, SESSION_LIFETIME, is_session_live,
)
from paperwire.store.errors import NotFound, StoreError
from paperwire.store.records import as_time
from paperwire.store.sql import Engine, Session, scalar

USER_AGENT_MAX_CHARS = 200
# A session's last_seen_at is written at most this often: a write per page view would
# serialise every reader behind SQLite's one writer, and the idle timeout is days.
SESSION_TOUCH_SECONDS = 300


class UserExists(StoreError):
    """A user with that username or email exists already; the message says which."""


@dataclass(frozen=True)
class User:
    """An account. `password_hash` is the Argon2id PHC string; it never leaves the server."""

    id: int
    username: str
    email: str
    password_hash: str
    is_admin: bool
    is_disabled: bool
    created_at: datetime
    password_changed_at: datetime
    last_login_at: datetime | None

    def __repr__(self) -> str:  # keeps the hash and the address out of logs
        return f"User(id={self.id}, username={self.username!r})"


class AccountTables:
    """The store's user, session, invite and reset-link methods; `engine` is the Store's Engine."""

    engine: Engine

    # users --------------------------------------------------------------------------
    def create_user(
        self, *, username: str, email: str, password_hash: str, now: datetime,
        is_admin: bool = False, invite_hash: str | None = None,
    ) -> User:
        """Add a user (names already normalised by accounts.py). With `invite_hash`, the
        invite is claimed in the same transaction; raises NotFound if it is used, expired or
        unknown, and UserExists if the username or email is taken."""
        with self.engine.write() as db:
            if invite_hash is not None and not self._claim_invite(db, invite_hash, now):
                raise NotFound("this invite link has been used or has expired; ask for a new one")
            user_id = scalar(
                db, "INSERT INTO users (username, email, password_hash, is_admin, created_at, password_changed_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                (username, email, password_hash, is_admin, self.engine.time(now), self.engine.time(now)),
            )
            if user_id is None:
                taken = "username" if self._user_where(db, "username", username) else "email address"
                raise UserExists(f"the {taken} is taken; choose another")
            if invite_hash is not None:
                db.execute("UPDATE invites SET used_by = ? WHERE token_hash = ?", (user_id, invite_hash))
            return self._user_where(db, "id", user_id)

    def user_by_name(self, username: str) -> User | None:
        """The user called `username` (normalised), or None."""
        return self._user_where(self.engine.read(), "username", username)

    def user_by_email(self, email: str) -> User | None:
        """The user with `email` (as accounts.normalise_email gives it), or None."""
        return self._user_where(self.engine.read(), "email", email)

    def user_by_id(self, user_id: int) -> User | None:
        return self._user_where(self.engine.read(), "id", user_id)

    def users(self) -> list[User]:
        """Every user, oldest first."""
        return [user_from_row(row) for row in self.engine.read().rows("SELECT * FROM users ORDER BY id")]

    def record_login(self, user_id: int, *, now: datetime, password_hash: str | None = None) -> None:
        """Note a successful login; with `password_hash`, store it (a rehash with newer parameters)."""
        with self.engine.write() as db:
            db.execute("UPDATE users SET last_login_at = ? WHERE id = ?", (self.engine.time(now), user_id))
            if password_hash is not None:
                db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))

    def change_password(
        self, user_id: int, password_hash: str, *, now: datetime, keep_session_hash: str | None = None,
    ) -> None:
        """Store a new password hash and end every session of the user but `keep_session_hash`
        (OWASP Session Management: a password change logs out the other devices)."""
        with self.engine.write() as db:
            db.execute("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?",
                       (password_hash, self.engine.time(now), user_id))
            db.execute("DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?",
                       (user_id, keep_session_hash or ""))

    def set_disabled(self, username: str, is_disabled: bool = True, *, now: datetime | None = None) -> User:
        """Disable (or enable) a user; disabling ends their sessions and revokes their API
        tokens (enabling again brings neither back). Raises NotFound."""
        with self.engine.write() as db:
            if not db.execute("UPDATE users SET is_disabled = ? WHERE username = ?", (is_disabled, username)):
                raise NotFound(f"there is no user {username!r}; `paperwire user list` shows them")
            user = self._user_where(db, "username", username)
            if is_disabled:
                db.execute("DELETE FROM sessions WHERE user_id = ?", (user.id,))
                db.execute("UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                           (self.engine.time(now or datetime.now(timezone.utc)), user.id))
            return user

    def _user_where(self, db: Session, column: str, value) -> User | None:
        rows = db.rows(f"SELECT * FROM users WHERE {column} = ?", (value,))
        return user_from_row(rows[0]) if rows else None

    # sessions -----------------------------------------------------------------------
    def create_session(self, token_hash: str, user_id: int, *, now: datetime, user_agent: str = "") -> None:
        with self.engine.write() as db:
            db.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, user_agent)"
                " VALUES (?, ?, ?, ?, ?)",
                (token_hash, user_id, self.engine.time(now), self.engine.time(now), user_agent[:USER_AGENT_MAX_CHARS]),
            )

    def session_user(self, token_hash: str, *, now: datetime) -> User | None:
        """The live, enabled user whose session has `token_hash`, or None. An expired session
        is deleted; a live one has its last_seen_at moved to `now` (every few minutes)."""
        rows = self.engine.read().rows(
            "SELECT s.created_at AS session_created_at, s.last_seen_at, u.* FROM sessions s"
            " JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?", (token_hash,),
        )
        if not rows:
            return None
        row = rows[0]
        created_at, last_seen_at = as_time(row.pop("session_created_at")), as_time(row.pop("last_seen_at"))
        if not is_session_live(created_at, last_seen_at, now):
            self.delete_session(token_hash)
            return None
        if (now - last_seen_at).total_seconds() > SESSION_TOUCH_SECONDS:
            with self.engine.write() as db:
                db.execute("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?",
                           (self.engine.time(now), token_hash))
        user = user_from_row(row)
        return None if user.is_disabled else user

    def delete_session(self, token_hash: str) -> None:
        with self.engine.write() as db:
            db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def session_count(self, user_id: int) -> int:
        return scalar(self.engine.read(), "SELECT COUNT(*) FROM sessions WHERE user_id = ?", (user_id,))

    # invites ------------------------------------------------------------------------
    def create_invite(self, token_hash: str, *, created_by: int, now: datetime) -> None:
        with self.engine.write() as db:
            db.execute("INSERT INTO invites (token_hash, created_by, created_at) VALUES (?, ?, ?)",
                       (token_hash, created_by, self.engine.time(now)))

    def is_invite_valid(self, token_hash: str, *, now: datetime) -> bool:
        """Whether the invite exists, is unused and within its lifetime."""
        return scalar(
            self.engine.read(), "SELECT COUNT(*) FROM invites WHERE token_hash = ? AND used_at IS NULL"
            " AND created_at > ?", (token_hash, self.engine.time(now - INVITE_LIFETIME)),
        ) == 1

    def invites(self, *, created_by: int | None = None) -> list[Invite]:
        """The invites `created_by` made (every user's with None), newest first, with who
        made and who used each; used and expired ones stay until the sweep (INVITE_KEPT_FOR)."""
        where, params = ("WHERE i.created_by = ?", (created_by,)) if created_by is not None else ("", ())
        rows = self.engine.read().rows(
            "SELECT i.id, i.created_by, c.username AS created_by_name, i.created_at, u.username AS used_by_name,"
            " i.used_at FROM invites i JOIN users c ON c.id = i.created_by LEFT JOIN users u ON u.id = i.used_by"
            f" {where} ORDER BY i.created_at DESC, i.id DESC", params)
        return [Invite(id=r["id"], created_by=r["created_by"], created_by_name=r["created_by_name"],
                       created_at=as_time(r["created_at"]), used_by_name=r["used_by_name"],
                       used_at=as_time(r["used_at"])) for r in rows]

    def revoke_invite(self, invite_id: int, *, created_by: int | None = None) -> bool:
        """Delete an unused invite (only one `created_by` made, unless None); False when there
        is no such unused invite. One conditional DELETE, so it and a sign-up claiming the
        invite cannot both win."""
        where, params = (" AND created_by = ?", (created_by,)) if created_by is not None else ("", ())
        with self.engine.write() as db:
            return db.execute(f"DELETE FROM invites WHERE id = ? AND used_at IS NULL{where}",
                              (invite_id, *params)) == 1

    def _claim_invite(self, db: Session, token_hash: str, now: datetime) -> bool:
        return db.execute(
            "UPDATE invites SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND created_at > ?",
            (self.engine.time(now), token_hash, self.engine.time(now - INVITE_LIFETIME)),
        ) == 1

    # password-reset links -----------------------------------------------------------
    def create_reset_link(self, token_hash: str, user_id: int, *, now: datetime) -> None:
        with self.engine.write() as db:
            db.execute("INSERT INTO reset_links (token_hash, user_id, created_at) VALUES (?, ?, ?)",
                       (token_hash, user_id, self.engine.time(now)))

    def reset_link_user(self, token_hash: str, *, now: datetime) -> User | None:
        """The user an unused, unexpired reset link is for, or None."""
        user_id = scalar(
            self.engine.read(), "SELECT user_id FROM reset_links WHERE token_hash = ? AND used_at IS NULL"
            " AND created_at > ?", (token_hash, self.engine.time(now - RESET_LINK_LIFETIME)),
        )
        return None if user_id is None else self.user_by_id(user_id)

    def use_reset_link(self, token_hash: str, password_hash: str, *, now: datetime) -> User | None:
        """Set the password through a reset link, once: returns the user, or None when the
        link is unknown, used or expired. Every session of the user ends."""
        with self.engine.write() as db:
            user_id = scalar(
                db, "UPDATE reset_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL"
                " AND created_at > ? RETURNING user_id",
                (self.engine.time(now), token_hash, self.engine.time(now - RESET_LINK_LIFETIME)),
            )
            if user_id is None:
                return None
            db.execute("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?",
                       (password_hash, self.engine.time(now), user_id))
            db.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            return self._user_where(db, "id", user_id)

    # housekeeping -------------------------------------------------------------------
    def sweep_expired(self, *, now: datetime) -> SweepReport:
        """Delete what can no longer be used: sessions past their absolute or idle
        lifetime, reset links used or past their hour, invites used or expired more than
        INVITE_KEPT_FOR ago (until then /settings/invites shows what became of them).
        Lookups refuse these already (by time); the sweep keeps the tables from growing."""
        t = self.engine.time
        with self.engine.write() as db:
            sessions = db.execute("DELETE FROM sessions WHERE created_at <= ? OR last_seen_at <= ?",
                                  (t(now - SESSION_LIFETIME), t(now - SESSION_IDLE_TIMEOUT)))
            links = db.execute("DELETE FROM reset_links WHERE used_at IS NOT NULL OR created_at <= ?",
                               (t(now - RESET_LINK_LIFETIME),))
            invites = db.execute("DELETE FROM invites WHERE used_at <= ? OR created_at <= ?",
                                 (t(now - INVITE_KEPT_FOR), t(now - INVITE_LIFETIME - INVITE_KEPT_FOR)))
        return SweepReport(session_count=sessions, reset_link_count=links, invite_count=invites)


@dataclass(frozen=True)
class Invite:
    """An invite as its maker sees it: never its token, which only the maker was shown."""

    id: int
    created_by: int
    created_by_name: str
    created_at: datetime
    used_by_name: str | None
    used_at: datetime | None

    @property
    def expires_at(self) -> datetime:
        return self.created_at + INVITE_LIFETIME

    def state(self, now: datetime) -> str:
        """"used", "expired" or "open" at `now`."""
        if self.used_at is not None:
            return "used"
        return "expired" if now >= self.expires_at else "open"


@dataclass(frozen=True)
class SweepReport:
    """What `sweep_expired` deleted."""

    session_count: int
    reset_link_count: int
    invite_count: int

    @property
    def total_count(self) -> int:
        return self.session_count + self.reset_link_count + self.invite_count


def user_from_row(row: dict) -> User:
    """A users row (from either engine) as a User."""
    return User(
        id=row["id"], username=row["username"], email=row["email"], password_hash=row["password_hash"],
        is_admin=bool(row["is_admin"]), is_disabled=bool(row["is_disabled"]),
        created_at=as_time(row["created_at"]), password_changed_at=as_time(row["password_changed_at"]),
        last_login_at=as_time(row["last_login_at"]),
    )
