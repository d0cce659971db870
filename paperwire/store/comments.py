"""Comments on papers in the store: posting, editing, deleting, the admin's hide, and counts.

What a comment may say and how it becomes HTML are `paperwire.discussion`'s; who
may edit, delete or hide one is the routes' (web/comments.py). This module keeps
the rows: the Markdown and the HTML it rendered to (with the renderer's version,
so a page can render an old row again), one level of replies (`parent_id` is
always a top-level comment), and deletion that keeps a comment's place while it
has replies (docs/community.md, "Tables").

A reply racing the delete of its parent must never be lost to the cascade, so
every write that touches a thread first locks its top-level comment's row
(`_lock_thread`) and decides only after: a reply that got the lock first is seen
by the delete, which then keeps the parent as "[deleted]"; a delete that got it
first leaves the reply nothing to attach to, and the reply is refused (NotFound).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from paperwire.store.errors import NotFound
from paperwire.store.records import as_time
from paperwire.store.sql import Engine, Many, Session, scalar

_SELECT = ("SELECT c.*, u.username FROM comments c JOIN users u ON u.id = c.user_id")


@dataclass(frozen=True)
class Comment:
    """A comment as stored. `body_html` is what `discussion.render(body)` gave at
    `render_version`; a deleted comment kept for its replies has empty text."""

    id: int
    arxiv_id: str
    user_id: int
    username: str
    parent_id: int | None
    body: str
    body_html: str
    render_version: int
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    hidden_at: datetime | None
    hidden_by: int | None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class CommentTables:
    """The store's comment methods; `engine` is the Store's Engine."""

    engine: Engine

    def add_comment(
        self, arxiv_id: str, user_id: int, *, body: str, body_html: str, render_version: int,
        now: datetime, parent_id: int | None = None,
    ) -> Comment:
        """Store a comment (a reply when `parent_id` is given: a live top-level comment on
        the same paper, else NotFound). The text is already checked and rendered."""
        with self.engine.write() as db:
            if parent_id is not None and not _lock_thread(
                    db, parent_id, where=" AND arxiv_id = ? AND parent_id IS NULL AND deleted_at IS NULL",
                    params=(arxiv_id,)):
                raise NotFound(f"there is no comment {parent_id} to reply to on this paper; reload the page")
            comment_id = scalar(
                db, "INSERT INTO comments (arxiv_id, user_id, parent_id, body, body_html, render_version, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (arxiv_id, user_id, parent_id, body, body_html, render_version, self.engine.time(now)),
            )
            return self._comment_where(db, comment_id)

    def comment(self, comment_id: int) -> Comment | None:
        return self._comment_where(self.engine.read(), comment_id)

    def comments_for(self, arxiv_id: str) -> list[Comment]:
        """Every comment on the paper, hidden and deleted ones too, oldest first."""
        rows = self.engine.read().rows(f"{_SELECT} WHERE c.arxiv_id = ? ORDER BY c.created_at, c.id", (arxiv_id,))
        return [_comment(row) for row in rows]

    def edit_comment(self, comment_id: int, *, body: str, body_html: str, render_version: int,
                     now: datetime) -> Comment:
        """Replace a live comment's text; raises NotFound for a deleted or unknown one."""
        with self.engine.write() as db:
            changed = db.execute(
                "UPDATE comments SET body = ?, body_html = ?, render_version = ?, edited_at = ?"
                " WHERE id = ? AND deleted_at IS NULL",
                (body, body_html, render_version, self.engine.time(now), comment_id),
            )
            if not changed:
                raise NotFound(f"there is no comment {comment_id} to edit; it may have been deleted")
            return self._comment_where(db, comment_id)

    def delete_comment(self, comment_id: int, *, now: datetime) -> bool:
        """Delete a comment: its row goes, unless it has replies, which keep it in place
        as "[deleted]" (its text emptied). A reply that was the last one under a deleted
        parent takes the parent with it. False if there was no such live comment."""
        with self.engine.write() as db:
            parent_id = scalar(db, "SELECT parent_id FROM comments WHERE id = ?", (comment_id,))
            # The thread's top-level row first, then the comment: one order for every writer.
            if parent_id is not None:
                _lock_thread(db, parent_id)
            if not _lock_thread(db, comment_id, where=" AND deleted_at IS NULL"):
                return False
            # Hard delete only while no reply exists, decided in the statement that deletes.
            if not db.execute("DELETE FROM comments WHERE id = ? AND NOT EXISTS"
                              " (SELECT 1 FROM comments r WHERE r.parent_id = ?)", (comment_id, comment_id)):
                db.execute("UPDATE comments SET body = '', body_html = '', deleted_at = ? WHERE id = ?",
                           (self.engine.time(now), comment_id))
                return True
            if parent_id is not None:
                db.execute("DELETE FROM comments WHERE id = ? AND deleted_at IS NOT NULL AND NOT EXISTS"
                           " (SELECT 1 FROM comments r WHERE r.parent_id = ?)", (parent_id, parent_id))
            return True

    def set_comment_hidden(self, comment_id: int, *, hidden_by: int | None, now: datetime) -> Comment:
        """Hide a comment (by the admin `hidden_by`), or show it again with `hidden_by=None`;
        raises NotFound."""
        with self.engine.write() as db:
            hidden_at = self.engine.time(now) if hidden_by is not None else None
            if not db.execute("UPDATE comments SET hidden_at = ?, hidden_by = ? WHERE id = ?",
                              (hidden_at, hidden_by, comment_id)):
                raise NotFound(f"there is no comment {comment_id}")
            return self._comment_where(db, comment_id)

    def comment_counts(self, arxiv_ids: Iterable[str]) -> dict[str, int]:
        """Shown comments (neither deleted nor hidden) of each paper that has any."""
        ids = list(set(arxiv_ids))
        if not ids:
            return {}
        rows = self.engine.read().rows(
            "SELECT arxiv_id, COUNT(*) AS n FROM comments WHERE arxiv_id IN ? AND deleted_at IS NULL"
            " AND hidden_at IS NULL GROUP BY arxiv_id", (Many(ids),))
        return {row["arxiv_id"]: row["n"] for row in rows}

    def _comment_where(self, db: Session, comment_id: int) -> Comment | None:
        rows = db.rows(f"{_SELECT} WHERE c.id = ?", (comment_id,))
        return _comment(rows[0]) if rows else None


def _lock_thread(db: Session, comment_id: int, *, where: str = "", params: tuple = ()) -> bool:
    """Lock comment `comment_id`'s row until the transaction ends, if it matches `where`;
    returns whether it did.

    The lock is a no-op UPDATE because SQLite has no SELECT ... FOR UPDATE (its one
    writer serialises these transactions anyway). On PostgreSQL the UPDATE takes the
    row lock that two such UPDATEs wait on, and after waiting it checks `where`
    against the row as the other transaction left it (READ COMMITTED's re-check of an
    updated row), so a parent deleted or marked "[deleted]" meanwhile is not matched.
    A plain read would not do: a reply's foreign-key check only takes FOR KEY SHARE,
    which does not stop a DELETE that decided "no replies" from a snapshot taken
    before the reply committed, and the cascade would then remove the reply.
    """
    return db.execute(f"UPDATE comments SET parent_id = parent_id WHERE id = ?{where}",
                      (comment_id, *params)) == 1


def _comment(row: dict) -> Comment:
    return Comment(
        id=row["id"], arxiv_id=row["arxiv_id"], user_id=row["user_id"], username=row["username"],
        parent_id=row["parent_id"], body=row["body"], body_html=row["body_html"],
        render_version=row["render_version"], created_at=as_time(row["created_at"]),
        edited_at=as_time(row["edited_at"]), deleted_at=as_time(row["deleted_at"]),
        hidden_at=as_time(row["hidden_at"]), hidden_by=row["hidden_by"],
    )
