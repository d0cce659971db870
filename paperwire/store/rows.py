"""The community tables row by row, for `paperwire db copy` and `db check`.

The papers' tables have their own records and upserts; the community's (users,
sessions, invites, reset links, upvotes, submissions, comments, API tokens) are
copied as they are, ids included, since each refers to users (and comments to
comments) by id. This module knows each table's columns and which hold times,
days or booleans, so a row read from one engine is written in the other's types.
Rate buckets and leases are not here: they belong to the running processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from paperwire.store.records import as_day, as_time
from paperwire.store.sql import Engine, scalar

BATCH_SIZE = 1_000


@dataclass(frozen=True)
class Table:
    """A community table: its columns in order, the key it is read in order of, and which
    columns are times, days and booleans; `id_column` is an identity to move past copies."""

    name: str
    columns: tuple[str, ...]
    order: str
    times: frozenset[str] = frozenset()
    days: frozenset[str] = frozenset()
    booleans: frozenset[str] = frozenset()
    id_column: str | None = None


def _table(name: str, columns: str, order: str, *, times: str = "", days: str = "", booleans: str = "",
           id_column: str | None = None) -> Table:
    return Table(name, tuple(columns.split()), order, frozenset(times.split()), frozenset(days.split()),
                 frozenset(booleans.split()), id_column)


# In an order that keeps foreign keys whole: users first; a reply's id is above its parent's.
COMMUNITY_TABLES = (
    _table("users", "id username email password_hash is_admin is_disabled created_at password_changed_at"
           " last_login_at", "id", times="created_at password_changed_at last_login_at",
           booleans="is_admin is_disabled", id_column="id"),
    _table("sessions", "token_hash user_id created_at last_seen_at user_agent", "token_hash",
           times="created_at last_seen_at"),
    _table("invites", "id token_hash created_by created_at used_by used_at", "id", times="created_at used_at",
           id_column="id"),
    _table("reset_links", "token_hash user_id created_at used_at", "token_hash", times="created_at used_at"),
    _table("upvotes", "user_id arxiv_id created_at", "user_id, arxiv_id", times="created_at"),
    _table("submissions", "day arxiv_id user_id created_at", "day, arxiv_id", times="created_at", days="day"),
    _table("comments", "id arxiv_id user_id parent_id body body_html render_version created_at edited_at"
           " deleted_at hidden_at hidden_by", "id", times="created_at edited_at deleted_at hidden_at",
           id_column="id"),
    _table("api_tokens", "id user_id name token_hash scopes created_at last_used_at revoked_at", "id",
           times="created_at last_used_at revoked_at", id_column="id"),
)


class RowTables:
    """Whole-table reads and writes of the community tables; `engine` is the Store's Engine."""

    engine: Engine

    def table_rows(self, table: Table) -> Iterator[list[dict]]:
        """The table's rows in batches, in its order, with Python values (aware times,
        dates, bools) whichever engine holds them."""
        db, offset = self.engine.read(), 0
        while True:
            rows = db.rows(f"SELECT {', '.join(table.columns)} FROM {table.name} ORDER BY {table.order}"
                           f" LIMIT {BATCH_SIZE} OFFSET {offset}")
            if not rows:
                return
            yield [_python(table, row) for row in rows]
            offset += len(rows)

    def put_table_rows(self, table: Table, rows: list[dict]) -> int:
        """Insert rows read by `table_rows` (from any engine); rows already here are left
        as they are, so a copy that was killed can run again. Returns the rows written."""
        if not rows:
            return 0
        marks = ", ".join("?" for _ in table.columns)
        sql = f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING"
        with self.engine.write() as db:
            written = db.executemany(sql, [[self._stored(table, c, row[c]) for c in table.columns] for row in rows])
            if table.id_column and self.url.startswith(("postgresql:", "postgres:")):
                # An identity column does not move past ids inserted explicitly; without this
                # the next user or comment made on the copy would collide with a copied one.
                db.execute(f"SELECT setval(pg_get_serial_sequence('{table.name}', '{table.id_column}'),"
                           f" (SELECT max({table.id_column}) FROM {table.name}))")
        return written

    def table_count(self, table: Table) -> int:
        return scalar(self.engine.read(), f"SELECT COUNT(*) FROM {table.name}")

    def _stored(self, table: Table, column: str, value):
        if column in table.times:
            return self.engine.time(value)
        if column in table.days:
            return self.engine.day(value)
        return value


def _python(table: Table, row: dict) -> dict:
    for column in table.times:
        row[column] = as_time(row[column])
    for column in table.days:
        row[column] = as_day(row[column])
    for column in table.booleans:
        row[column] = bool(row[column])
    return row
