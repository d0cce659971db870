"""The personal library in the store: collections and their papers, dismissals, follow-ups,
import runs, user models and their recommendations (docs/library.md, "Tables").

Every table is keyed by the user (deleted with them) and names papers by arxiv_id,
as upvotes do. A save is `INSERT ... ON CONFLICT` on (collection, paper), so a
double click saves once. Each change to what a user saved or dismissed bumps
their `user_models.library_seq` in the same transaction: the recommend job
retrains exactly the users whose `trained_seq` is behind (jobs of recommend_job.py).
Which follow-ups to write is library/followups.py's rule; the papers upsert calls
`write_followups` inside its own transaction (store/papers.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

from paperwire.library.followups import FollowUp, followups as followups_of
from paperwire.papers import Paper
from paperwire.store.errors import NotFound
from paperwire.store.papers import select_papers
from paperwire.store.records import as_time
from paperwire.store.sql import Engine, Many, Session, scalar

DEFAULT_COLLECTION = "Saved"  # made on a user's first save, so one click saves
MAX_NOTE_CHARS = 10_000
MAX_NAME_CHARS = 100
MAX_SLUG_CHARS = 60
RECOMMENDATIONS_KEPT = 200  # per user: what /for-you and the digest can show


@dataclass(frozen=True)
class Collection:
    """A user's named collection; `is_shared` when a link to it works (the token is never kept)."""

    id: int
    user_id: int
    name: str
    slug: str
    is_shared: bool
    created_at: datetime
    item_count: int = 0


@dataclass(frozen=True)
class Item:
    """A paper in a collection, with the user's private note."""

    arxiv_id: str
    note: str
    saved_at: datetime


@dataclass(frozen=True)
class StoredFollowUp:
    """A follow-up row: `id` orders them (newer is larger); `is_new` past the user's read mark."""

    id: int
    arxiv_id: str
    kind: str
    detail: str
    found_at: datetime
    is_new: bool = False


@dataclass(frozen=True)
class StoredModel:
    """A user's model as the recommend job keeps it."""

    user_id: int
    library_seq: int
    trained_seq: int
    vocabulary_seq: int
    paper_seq: int
    model: bytes | None


@dataclass(frozen=True)
class StoredRecommendation:
    arxiv_id: str
    score: float
    because_id: str


@dataclass(frozen=True)
class ImportRun:
    id: int
    user_id: int
    filename: str
    created_at: datetime
    report: dict


def slugify(name: str) -> str:
    """The URL name of a collection: lower-case letters, digits and hyphens ("collection"
    when nothing is left), at most MAX_SLUG_CHARS."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:MAX_SLUG_CHARS].strip("-")
    return slug or "collection"


class LibraryTables:
    """The store's library methods; `engine` is the Store's Engine."""

    engine: Engine

    # collections -------------------------------------------------------------------------
    def create_collection(self, user_id: int, name: str, *, now: datetime) -> Collection:
        """A new collection named `name` (trimmed; the caller checks it is not empty), with a
        slug unique among the user's ("reading", "reading-2", ...)."""
        name = " ".join(name.split())[:MAX_NAME_CHARS]
        base = slugify(name)
        with self.engine.write() as db:
            taken = {row["slug"] for row in db.rows("SELECT slug FROM collections WHERE user_id = ?", (user_id,))}
            slug = next(s for s in (base if n == 1 else f"{base}-{n}" for n in range(1, len(taken) + 2))
                        if s not in taken)
            db.execute("INSERT INTO collections (user_id, name, slug, is_shared, created_at) VALUES (?, ?, ?, ?, ?)",
                       (user_id, name, slug, False, self.engine.time(now)))
            return self._collection_where(db, "c.user_id = ? AND c.slug = ?", (user_id, slug))

    def collections(self, user_id: int) -> list[Collection]:
        """The user's collections, oldest first (the default one leads), with their sizes."""
        return self._collections(self.engine.read(), "c.user_id = ?", (user_id,))

    def collection(self, user_id: int, slug: str) -> Collection:
        """The user's collection `slug`; raises NotFound."""
        return self._collection_where(self.engine.read(), "c.user_id = ? AND c.slug = ?", (user_id, slug))

    def shared_collection(self, token_hash: str) -> Collection:
        """The collection a shared link's token opens; raises NotFound once it is unshared."""
        return self._collection_where(self.engine.read(), "c.share_token_hash = ? AND c.is_shared = ?",
                                      (token_hash, True))

    def default_collection(self, user_id: int, *, now: datetime) -> Collection:
        """The user's first collection, made ("Saved") if they have none."""
        found = self.collections(user_id)
        return found[0] if found else self.create_collection(user_id, DEFAULT_COLLECTION, now=now)

    def rename_collection(self, user_id: int, slug: str, name: str) -> Collection:
        """Give the collection a new name; its slug, and so every link to it, stays."""
        with self.engine.write() as db:
            db.execute("UPDATE collections SET name = ? WHERE user_id = ? AND slug = ?",
                       (" ".join(name.split())[:MAX_NAME_CHARS], user_id, slug))
            return self._collection_where(db, "c.user_id = ? AND c.slug = ?", (user_id, slug))

    def share_collection(self, user_id: int, slug: str, token_hash: str) -> Collection:
        """Open the collection to whoever has the token whose hash is given (a new link
        replaces the old one, which stops working)."""
        with self.engine.write() as db:
            db.execute("UPDATE collections SET is_shared = ?, share_token_hash = ? WHERE user_id = ? AND slug = ?",
                       (True, token_hash, user_id, slug))
            return self._collection_where(db, "c.user_id = ? AND c.slug = ?", (user_id, slug))

    def unshare_collection(self, user_id: int, slug: str) -> Collection:
        """Close the shared link: its token is forgotten, so it never works again."""
        with self.engine.write() as db:
            db.execute("UPDATE collections SET is_shared = ?, share_token_hash = NULL WHERE user_id = ? AND slug = ?",
                       (False, user_id, slug))
            return self._collection_where(db, "c.user_id = ? AND c.slug = ?", (user_id, slug))

    def delete_collection(self, user_id: int, slug: str) -> bool:
        """Delete the collection and its items; False if there was none."""
        with self.engine.write() as db:
            deleted = db.execute("DELETE FROM collections WHERE user_id = ? AND slug = ?", (user_id, slug)) == 1
            if deleted:
                _touch_library(db, user_id)
            return deleted

    def _collections(self, db: Session, where: str, params) -> list[Collection]:
        rows = db.rows(
            "SELECT c.id, c.user_id, c.name, c.slug, c.is_shared, c.created_at,"
            " (SELECT COUNT(*) FROM collection_items i WHERE i.collection_id = c.id) AS item_count"
            f" FROM collections c WHERE {where} ORDER BY c.created_at, c.id", params)
        return [Collection(row["id"], row["user_id"], row["name"], row["slug"], bool(row["is_shared"]),
                           as_time(row["created_at"]), row["item_count"]) for row in rows]

    def _collection_where(self, db: Session, where: str, params) -> Collection:
        found = self._collections(db, where, params)
        if not found:
            raise NotFound("no such collection; see your collections at /library")
        return found[0]

    # items -------------------------------------------------------------------------------
    def save(self, user_id: int, collection_id: int, arxiv_id: str, *, note: str | None = None,
             now: datetime) -> bool:
        """Put the paper in the user's collection (a second save keeps it once; a `note`
        given replaces the old one). True if it was not there before."""
        with self.engine.write() as db:
            if scalar(db, "SELECT user_id FROM collections WHERE id = ?", (collection_id,)) != user_id:
                raise NotFound("no such collection; see your collections at /library")
            added = db.execute(
                "INSERT INTO collection_items (collection_id, arxiv_id, note, saved_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (collection_id, arxiv_id) DO NOTHING",
                (collection_id, arxiv_id, (note or "")[:MAX_NOTE_CHARS], self.engine.time(now))) == 1
            if note is not None and not added:
                db.execute("UPDATE collection_items SET note = ? WHERE collection_id = ? AND arxiv_id = ?",
                           (note[:MAX_NOTE_CHARS], collection_id, arxiv_id))
            if added:
                db.execute("DELETE FROM dismissals WHERE user_id = ? AND arxiv_id = ?", (user_id, arxiv_id))
                _touch_library(db, user_id)
            return added

    def unsave(self, user_id: int, arxiv_id: str, *, collection_id: int | None = None) -> int:
        """Take the paper out of one of the user's collections, or all of them; returns how many."""
        where = "collection_id IN (SELECT id FROM collections WHERE user_id = ?)"
        params: tuple = (user_id,)
        if collection_id is not None:
            where, params = where + " AND collection_id = ?", (user_id, collection_id)
        with self.engine.write() as db:
            removed = db.execute(f"DELETE FROM collection_items WHERE {where} AND arxiv_id = ?", (*params, arxiv_id))
            if removed:
                _touch_library(db, user_id)
            return removed

    def items(self, collection_id: int) -> list[Item]:
        """The collection's papers, most recently saved first."""
        rows = self.engine.read().rows(
            "SELECT arxiv_id, note, saved_at FROM collection_items WHERE collection_id = ?"
            " ORDER BY saved_at DESC, arxiv_id", (collection_id,))
        return [Item(row["arxiv_id"], row["note"], as_time(row["saved_at"])) for row in rows]

    def saved_ids(self, user_id: int) -> list[str]:
        """Every paper in any of the user's collections, most recently saved first."""
        rows = self.engine.read().rows(
            "SELECT i.arxiv_id, MAX(i.saved_at) AS saved_at FROM collection_items i"
            " JOIN collections c ON c.id = i.collection_id WHERE c.user_id = ?"
            " GROUP BY i.arxiv_id ORDER BY MAX(i.saved_at) DESC, i.arxiv_id", (user_id,))
        return [row["arxiv_id"] for row in rows]

    def saved_in(self, user_id: int, arxiv_ids: Iterable[str]) -> dict[str, list[str]]:
        """Which of `arxiv_ids` the user saved, and the slugs of the collections holding each."""
        ids = list(set(arxiv_ids))
        if not ids:
            return {}
        rows = self.engine.read().rows(
            "SELECT i.arxiv_id, c.slug FROM collection_items i JOIN collections c ON c.id = i.collection_id"
            " WHERE c.user_id = ? AND i.arxiv_id IN ? ORDER BY c.created_at, c.id", (user_id, Many(ids)))
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row["arxiv_id"], []).append(row["slug"])
        return found

    # dismissals --------------------------------------------------------------------------
    def dismiss(self, user_id: int, arxiv_id: str, *, now: datetime) -> bool:
        """Mark the paper "not interested"; False if it was already."""
        with self.engine.write() as db:
            added = db.execute("INSERT INTO dismissals (user_id, arxiv_id, dismissed_at) VALUES (?, ?, ?)"
                               " ON CONFLICT (user_id, arxiv_id) DO NOTHING",
                               (user_id, arxiv_id, self.engine.time(now))) == 1
            if added:
                db.execute("DELETE FROM recommendations WHERE user_id = ? AND arxiv_id = ?", (user_id, arxiv_id))
                _touch_library(db, user_id)
            return added

    def undismiss(self, user_id: int, arxiv_id: str) -> bool:
        with self.engine.write() as db:
            removed = db.execute("DELETE FROM dismissals WHERE user_id = ? AND arxiv_id = ?",
                                 (user_id, arxiv_id)) == 1
            if removed:
                _touch_library(db, user_id)
            return removed

    def dismissed_ids(self, user_id: int) -> list[str]:
        rows = self.engine.read().rows(
            "SELECT arxiv_id FROM dismissals WHERE user_id = ? ORDER BY dismissed_at DESC, arxiv_id", (user_id,))
        return [row["arxiv_id"] for row in rows]

    # user models and recommendations ------------------------------------------------------
    def user_models(self) -> list[StoredModel]:
        """Every user's model row (a user who never saved or dismissed has none)."""
        rows = self.engine.read().rows(
            "SELECT user_id, library_seq, trained_seq, vocabulary_seq, paper_seq, model FROM user_models"
            " ORDER BY user_id")
        return [StoredModel(row["user_id"], row["library_seq"], row["trained_seq"], row["vocabulary_seq"],
                            row["paper_seq"], bytes(row["model"]) if row["model"] is not None else None)
                for row in rows]

    def put_user_model(self, user_id: int, model: bytes | None, recommendations: list[StoredRecommendation], *,
                       trained_seq: int, vocabulary_seq: int, paper_seq: int, now: datetime) -> None:
        """Keep a freshly trained model (None: nothing to learn from) and its recommendations,
        replacing the user's old ones, in one transaction."""
        with self.engine.write() as db:
            db.execute("UPDATE user_models SET model = ?, trained_seq = ?, vocabulary_seq = ?, paper_seq = ?,"
                       " trained_at = ? WHERE user_id = ?",
                       (model, trained_seq, vocabulary_seq, paper_seq, self.engine.time(now), user_id))
            db.execute("DELETE FROM recommendations WHERE user_id = ?", (user_id,))
            self._insert_recommendations(db, user_id, recommendations, now)

    def add_recommendations(self, user_id: int, recommendations: list[StoredRecommendation], *,
                            paper_seq: int, now: datetime) -> None:
        """Merge scores of new papers into the user's list, keep the best RECOMMENDATIONS_KEPT,
        and note that papers up to `paper_seq` are scored."""
        with self.engine.write() as db:
            self._insert_recommendations(db, user_id, recommendations, now)
            rows = db.rows("SELECT arxiv_id FROM recommendations WHERE user_id = ? ORDER BY score DESC, arxiv_id",
                           (user_id,))[RECOMMENDATIONS_KEPT:]
            if rows:
                db.execute("DELETE FROM recommendations WHERE user_id = ? AND arxiv_id IN ?",
                           (user_id, Many([row["arxiv_id"] for row in rows])))
            db.execute("UPDATE user_models SET paper_seq = ? WHERE user_id = ?", (paper_seq, user_id))

    def _insert_recommendations(self, db: Session, user_id: int, found: list[StoredRecommendation],
                                now: datetime) -> None:
        self.engine.insert_rows(
            db, "recommendations", ("user_id", "arxiv_id", "score", "because_id", "scored_at"),
            [(user_id, r.arxiv_id, float(r.score), r.because_id, self.engine.time(now)) for r in found],
            conflict="ON CONFLICT (user_id, arxiv_id) DO UPDATE SET score = excluded.score,"
            " because_id = excluded.because_id, scored_at = excluded.scored_at")

    def recommendations(self, user_id: int, *, limit: int = 50) -> list[StoredRecommendation]:
        """The user's recommendations, best first (ties by arXiv id), never a paper they have
        saved or dismissed since the job last ran."""
        rows = self.engine.read().rows(
            "SELECT r.arxiv_id, r.score, r.because_id FROM recommendations r WHERE r.user_id = ?"
            " AND NOT EXISTS (SELECT 1 FROM dismissals d WHERE d.user_id = r.user_id AND d.arxiv_id = r.arxiv_id)"
            " AND NOT EXISTS (SELECT 1 FROM collection_items i JOIN collections c ON c.id = i.collection_id"
            "   WHERE c.user_id = r.user_id AND i.arxiv_id = r.arxiv_id)"
            " ORDER BY r.score DESC, r.arxiv_id LIMIT ?", (user_id, limit))
        return [StoredRecommendation(row["arxiv_id"], row["score"], row["because_id"]) for row in rows]

    def latest_vocabulary(self) -> tuple[int, bytes, datetime] | None:
        """(seq, bytes, created_at) of the newest keyword vocabulary, or None."""
        rows = self.engine.read().rows(
            "SELECT seq, vocabulary, created_at FROM vocabularies ORDER BY seq DESC LIMIT 1")
        return (rows[0]["seq"], bytes(rows[0]["vocabulary"]), as_time(rows[0]["created_at"])) if rows else None

    def vocabulary(self, seq: int) -> bytes | None:
        found = scalar(self.engine.read(), "SELECT vocabulary FROM vocabularies WHERE seq = ?", (seq,))
        return bytes(found) if found is not None else None

    def put_vocabulary(self, data: bytes, *, now: datetime) -> int:
        """Keep a new vocabulary; returns its seq. Vocabularies no model uses are dropped."""
        with self.engine.write() as db:
            seq = scalar(db, "INSERT INTO vocabularies (created_at, vocabulary) VALUES (?, ?) RETURNING seq",
                         (self.engine.time(now), data))
            db.execute("DELETE FROM vocabularies WHERE seq < ? AND seq NOT IN"
                       " (SELECT vocabulary_seq FROM user_models)", (seq,))
            return seq

    def newest_papers(self, *, limit: int) -> list[Paper]:
        """The `limit` most recently published live papers, newest first."""
        return [p for _, p in select_papers(
            self.engine, self.engine.read(), "{live}", (limit,),
            order="ORDER BY published_at IS NULL, published_at DESC, arxiv_id LIMIT ?")]

    def paper_by_doi(self, doi: str) -> Paper | None:
        """The live paper with this DOI (case-insensitive), or None; by the papers_doi index."""
        found = select_papers(self.engine, self.engine.read(), "lower(doi) = ? AND {live}", (doi.lower(),),
                              order="ORDER BY arxiv_id LIMIT 1")
        return found[0][1] if found else None

    # follow-ups --------------------------------------------------------------------------
    def write_followups(self, db: Session, changed: list[tuple[Paper, Paper]]) -> int:
        """Inside the papers upsert: one row per follow-up of each (old, merged) pair whose
        paper someone saved; returns the rows written."""
        if not changed:
            return 0
        saved = {row["arxiv_id"] for row in db.rows(
            "SELECT DISTINCT arxiv_id FROM collection_items WHERE arxiv_id IN ?",
            (Many([new.arxiv_id for _, new in changed]),))}
        found: list[FollowUp] = [f for old, new in changed if new.arxiv_id in saved for f in followups_of(old, new)]
        now = self.engine.time(datetime.now(timezone.utc))
        return self.engine.insert_rows(db, "followups", ("arxiv_id", "kind", "detail", "found_at"),
                                       [(f.arxiv_id, f.kind, f.detail[:1000], now) for f in found])

    def followups_for(self, user_id: int, *, limit: int = 100) -> list[StoredFollowUp]:
        """Follow-ups on papers the user saved, newest first; `is_new` past their read mark."""
        db = self.engine.read()
        seen = scalar(db, "SELECT seen_up_to FROM followup_reads WHERE user_id = ?", (user_id,)) or 0
        rows = db.rows(
            "SELECT f.id, f.arxiv_id, f.kind, f.detail, f.found_at FROM followups f WHERE f.arxiv_id IN"
            " (SELECT i.arxiv_id FROM collection_items i JOIN collections c ON c.id = i.collection_id"
            "  WHERE c.user_id = ?) ORDER BY f.id DESC LIMIT ?", (user_id, limit))
        return [StoredFollowUp(row["id"], row["arxiv_id"], row["kind"], row["detail"], as_time(row["found_at"]),
                               row["id"] > seen) for row in rows]

    def mark_followups_seen(self, user_id: int, up_to: int) -> None:
        """Move the user's read mark to follow-up `up_to` (never back)."""
        with self.engine.write() as db:
            db.execute("INSERT INTO followup_reads (user_id, seen_up_to) VALUES (?, ?) ON CONFLICT (user_id)"
                       " DO UPDATE SET seen_up_to = CASE WHEN excluded.seen_up_to > followup_reads.seen_up_to"
                       " THEN excluded.seen_up_to ELSE followup_reads.seen_up_to END", (user_id, up_to))

    # import runs -------------------------------------------------------------------------
    def put_import_run(self, user_id: int, filename: str, report: dict, *, now: datetime) -> int:
        with self.engine.write() as db:
            return scalar(db, "INSERT INTO import_runs (user_id, filename, created_at, report) VALUES (?, ?, ?, ?)"
                          " RETURNING id", (user_id, filename[:200], self.engine.time(now), json.dumps(report)))

    def update_import_run(self, run_id: int, report: dict) -> None:
        with self.engine.write() as db:
            db.execute("UPDATE import_runs SET report = ? WHERE id = ?", (json.dumps(report), run_id))

    def import_run(self, user_id: int, run_id: int) -> ImportRun:
        """The user's import run; raises NotFound (also for another user's)."""
        rows = self.engine.read().rows(
            "SELECT id, user_id, filename, created_at, report FROM import_runs WHERE id = ? AND user_id = ?",
            (run_id, user_id))
        if not rows:
            raise NotFound(f"no import {run_id} of yours; import a file at /library/import")
        row = rows[0]
        return ImportRun(row["id"], row["user_id"], row["filename"], as_time(row["created_at"]),
                         json.loads(row["report"]))

    # feed tokens -------------------------------------------------------------------------
    def set_feed_token(self, user_id: int, token_hash: str, *, now: datetime) -> None:
        """The user's private feed token (a new one replaces the old, which stops working)."""
        with self.engine.write() as db:
            db.execute("DELETE FROM feed_tokens WHERE user_id = ?", (user_id,))
            db.execute("INSERT INTO feed_tokens (token_hash, user_id, created_at) VALUES (?, ?, ?)",
                       (token_hash, user_id, self.engine.time(now)))

    def revoke_feed_token(self, user_id: int) -> bool:
        with self.engine.write() as db:
            return db.execute("DELETE FROM feed_tokens WHERE user_id = ?", (user_id,)) == 1

    def has_feed_token(self, user_id: int) -> bool:
        return scalar(self.engine.read(), "SELECT COUNT(*) FROM feed_tokens WHERE user_id = ?", (user_id,)) > 0

    def feed_token_user(self, token_hash: str) -> int | None:
        """The id of the user whose feed token this is, or None."""
        return scalar(self.engine.read(), "SELECT user_id FROM feed_tokens WHERE token_hash = ?", (token_hash,))


def _touch_library(db: Session, user_id: int) -> None:
    # The recommend job retrains the users whose library_seq moved past trained_seq.
    db.execute("INSERT INTO user_models (user_id, library_seq) VALUES (?, 1) ON CONFLICT (user_id)"
               " DO UPDATE SET library_seq = user_models.library_seq + 1", (user_id,))
