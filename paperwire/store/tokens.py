"""Personal API tokens in the store: create, list, revoke, and find the user a token speaks for.

Making a token and its scopes' meaning are `paperwire.accounts`' (`new_token`,
`parse_scopes`, `grants`); checking a request's token is web/auth.py's. This
module keeps only each token's SHA-256, its name and scopes, and when it was made,
last used and revoked. A revoked token, or one whose user is disabled, finds no
one (docs/community.md, "Defences").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from paperwire.store.accounts import SESSION_TOUCH_SECONDS, User, user_from_row
from paperwire.store.records import as_time
from paperwire.store.sql import Engine, Session, scalar

TOKEN_NAME_MAX_CHARS = 100


@dataclass(frozen=True)
class ApiToken:
    """A token as its owner sees it on /settings/tokens: never its value."""

    id: int
    user_id: int
    name: str
    scopes: str  # space-separated scope names, accounts.parse_scopes reads them
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenTables:
    """The store's API token methods; `engine` is the Store's Engine."""

    engine: Engine

    def create_api_token(self, user_id: int, *, name: str, token_hash: str, scopes: str, now: datetime) -> ApiToken:
        """Keep a new token's hash (`accounts.new_token(TokenKind.API).hash`) for `user_id`."""
        with self.engine.write() as db:
            token_id = scalar(
                db, "INSERT INTO api_tokens (user_id, name, token_hash, scopes, created_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (user_id, name[:TOKEN_NAME_MAX_CHARS], token_hash, scopes, self.engine.time(now)),
            )
            return self._token_where(db, "id", token_id)

    def api_tokens(self, user_id: int) -> list[ApiToken]:
        """The user's tokens that are not revoked, newest first."""
        rows = self.engine.read().rows(
            "SELECT * FROM api_tokens WHERE user_id = ? AND revoked_at IS NULL ORDER BY created_at DESC, id DESC",
            (user_id,))
        return [_token(row) for row in rows]

    def revoke_api_token(self, user_id: int, token_id: int, *, now: datetime) -> bool:
        """Revoke the user's token `token_id`; False if they have no such live token."""
        with self.engine.write() as db:
            return db.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
                (self.engine.time(now), token_id, user_id)) == 1

    def api_token_user(self, token_hash: str, *, now: datetime) -> tuple[User, ApiToken] | None:
        """The enabled user a live token speaks for, and the token; None for an unknown,
        revoked or disabled-user token. Notes the use (every few minutes at most)."""
        rows = self.engine.read().rows(
            "SELECT t.id AS token_id, t.name AS token_name, t.scopes, t.created_at AS token_created_at,"
            " t.last_used_at, t.revoked_at, u.* FROM api_tokens t JOIN users u ON u.id = t.user_id"
            " WHERE t.token_hash = ?", (token_hash,))
        if not rows:
            return None
        row = rows[0]
        token = ApiToken(id=row.pop("token_id"), user_id=row["id"], name=row.pop("token_name"),
                         scopes=row.pop("scopes"), created_at=as_time(row.pop("token_created_at")),
                         last_used_at=as_time(row.pop("last_used_at")), revoked_at=as_time(row.pop("revoked_at")))
        user = user_from_row(row)
        if token.revoked_at is not None or user.is_disabled:
            return None
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > SESSION_TOUCH_SECONDS:
            with self.engine.write() as db:
                db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (self.engine.time(now), token.id))
        return user, token

    def _token_where(self, db: Session, column: str, value) -> ApiToken | None:
        rows = db.rows(f"SELECT * FROM api_tokens WHERE {column} = ?", (value,))
        return _token(rows[0]) if rows else None


def _token(row: dict) -> ApiToken:
    return ApiToken(
        id=row["id"], user_id=row["user_id"], name=row["name"], scopes=row["scopes"],
        created_at=as_time(row["created_at"]), last_used_at=as_time(row["last_used_at"]),
        revoked_at=as_time(row["revoked_at"]),
    )
