"""Papers in the store: the papers table, its versions, categories and sources, the change log.

An upsert is idempotent, an older version never overwrites a newer one
(papers.merge), and every change to a paper takes a new, increasing
`change_seq`, so in-process indexes catch up with `changes_since` whatever
process wrote. Row encoding and upsert planning are records.py's; the SQL is
written once here, for both engines (sql.py says what an engine provides).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timezone
from typing import Iterable, Iterator

from paperwire.papers import Paper, Version
from paperwire.store.errors import NotFound
from paperwire.store.records import (
    PAPER_COLUMNS, Change, StoreStats, UpsertCounts, as_day, as_time, dedupe_batch, paper_from_row,
    paper_row, plan_upsert, record_hashes as hashes_of,
)
from paperwire.store.sql import Engine, Many, Session, scalar

_SELECT_PAPER = "SELECT id, " + ", ".join(PAPER_COLUMNS) + " FROM papers"
_WRITTEN = (*PAPER_COLUMNS, "change_seq", "created_at", "changed_at", "is_deleted")
# A paper deleted earlier (a tombstone) comes back to life with the new record.
_REVIVE = "ON CONFLICT (arxiv_id) DO UPDATE SET " + ", ".join(
    f"{c} = excluded.{c}" for c in _WRITTEN if c not in ("arxiv_id", "created_at")
)


def select_papers(engine: Engine, db: Session, where: str, params=(), *, order: str = "") -> list[tuple[int, Paper]]:
    """(row id, paper) for the papers `where` picks, with their versions; `where` may use
    `{live}` for the engine's "not deleted" condition."""
    rows = db.rows(f"{_SELECT_PAPER} WHERE {where.format(live=engine.live)} {order}", params)
    versions = _versions(engine, db, [row["id"] for row in rows])
    return [(row["id"], paper_from_row(row, versions.get(row["id"], ()))) for row in rows]


def _versions(engine: Engine, db: Session, row_ids: list[int]) -> dict[int, tuple[Version, ...]]:
    found: dict[int, list[Version]] = {}
    if not row_ids:
        return {}
    for row in db.rows(
        "SELECT paper_id, number, submitted_at FROM paper_versions WHERE paper_id IN ? ORDER BY paper_id, number",
        (Many(row_ids, "int8"),),
    ):
        found.setdefault(row["paper_id"], []).append(Version(row["number"], as_time(row["submitted_at"])))
    return {k: tuple(v) for k, v in found.items()}


def _seen_hashes(db: Session, ids: list[str], source: str) -> dict[str, str]:
    rows = db.rows(
        "SELECT arxiv_id, record_hash FROM paper_sources WHERE source = ? AND arxiv_id IN ?", (source, Many(ids))
    )
    return {row["arxiv_id"]: row["record_hash"] for row in rows}


class PaperTables:
    """The store's paper methods; `engine` is the Engine the Store holds."""

    engine: Engine

    def upsert_papers(
        self, papers: Iterable[Paper], *, source: str, record_hashes: dict[str, str] | None = None
    ) -> UpsertCounts:
        """Insert or merge papers (see papers.merge) in one transaction.

        A paper whose record this source sent before unchanged is skipped cheaply. The
        record's identity is `record_hashes[arxiv_id]` when the source gives one (a hash of
        the raw bytes), else the paper's content hash.
        """
        incoming = dedupe_batch(p if p.source == source else replace(p, source=source) for p in papers)
        if not incoming:
            return UpsertCounts()
        hashes = hashes_of(incoming, record_hashes)
        # The cheap re-ingest path: records this source sent before need no write lock.
        seen = _seen_hashes(self.engine.read(), list(hashes), source)
        if all(seen.get(arxiv_id) == h for arxiv_id, h in hashes.items()):
            return UpsertCounts(unchanged_count=len(incoming))
        with self.engine.write("papers") as db:
            seen = _seen_hashes(db, list(hashes), source)
            changed_ids = [p.arxiv_id for p in incoming if seen.get(p.arxiv_id) != hashes[p.arxiv_id]]
            existing = select_papers(self.engine, db, "arxiv_id IN ? AND {live}", (Many(changed_ids),))
            plan = plan_upsert(incoming, hashes, seen, {p.arxiv_id: (row_id, p) for row_id, p in existing})
            self._write_papers(db, plan.inserts, plan.updates)
            # What changed on a saved paper is told on /updates (store/library.py).
            before = {p.arxiv_id: p for _, p in existing}
            self.write_followups(db, [(before[p.arxiv_id], p) for _, p in plan.updates if p.arxiv_id in before])
            now = self.engine.time(datetime.now(timezone.utc))
            self.engine.insert_rows(
                db, "paper_sources", ("arxiv_id", "source", "record_hash", "seen_at"),
                [(arxiv_id, source, h, now) for arxiv_id, h in plan.source_hashes],
                conflict="ON CONFLICT (arxiv_id, source) DO UPDATE SET record_hash = excluded.record_hash,"
                " seen_at = excluded.seen_at",
            )
        return UpsertCounts(len(plan.inserts), len(plan.updates), plan.unchanged_count)

    def _write_papers(self, db: Session, inserts: list[Paper], updates: list[tuple[int, Paper]]) -> None:
        """Insert and update papers with their versions and categories, each taking a change_seq."""
        engine = self.engine
        seqs = engine.next_seqs(db, "papers", "change_seq", len(inserts) + len(updates))
        now = engine.time(datetime.now(timezone.utc))
        engine.insert_rows(
            db, "papers", _WRITTEN,
            [(*paper_row(p), seq, now, now, False) for p, seq in zip(inserts, seqs)], conflict=_REVIVE,
        )
        engine.update_rows(
            db, "papers", "id", (*PAPER_COLUMNS[1:], "change_seq", "changed_at"),
            [(row_id, *paper_row(p)[1:], seq, now) for (row_id, p), seq in zip(updates, seqs[len(inserts):])],
        )
        row_ids = [row_id for row_id, _ in updates]
        if row_ids:
            db.execute("DELETE FROM paper_versions WHERE paper_id IN ?", (Many(row_ids, "int8"),))
            db.execute("DELETE FROM paper_categories WHERE paper_id IN ?", (Many(row_ids, "int8"),))
        inserted = _row_ids(db, [p.arxiv_id for p in inserts])
        self._write_children(db, [(inserted[p.arxiv_id], p) for p in inserts] + updates)

    def _write_children(self, db: Session, papers: list[tuple[int, Paper]]) -> None:
        # Keyed like the primary keys: one statement may not update the same row twice.
        versions = {
            (row_id, v.number): self.engine.time(v.submitted_at)
            for row_id, p in papers for v in p.versions if v.number > 0
        }
        self.engine.insert_rows(
            db, "paper_versions", ("paper_id", "number", "submitted_at"),
            [(*key, submitted_at) for key, submitted_at in versions.items()],
            conflict="ON CONFLICT (paper_id, number) DO UPDATE SET submitted_at = excluded.submitted_at",
        )
        categories = dict.fromkeys((c, row_id) for row_id, p in papers for c in p.categories)
        self.engine.insert_rows(
            db, "paper_categories", ("category", "paper_id"), list(categories), conflict="ON CONFLICT DO NOTHING"
        )

    def seen_records(self, source: str, record_hashes: list[str]) -> set[str]:
        """Which of these raw-record hashes `source` already sent for a live paper.

        Lets a file source skip parsing records it ingested before.
        """
        rows = self.engine.read().rows(
            "SELECT record_hash FROM paper_sources WHERE source = ? AND record_hash IN ?",
            (source, Many(list(record_hashes))),
        )
        return {row["record_hash"] for row in rows}

    def record_hashes(self, arxiv_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        """What each source last sent for these papers, {arxiv_id: {source: record hash}};
        papers no source is on record for are left out (an export carries these)."""
        rows = self.engine.read().rows(
            "SELECT arxiv_id, source, record_hash FROM paper_sources WHERE arxiv_id IN ?",
            (Many(list(arxiv_ids)),),
        )
        found: dict[str, dict[str, str]] = {}
        for row in sorted(rows, key=lambda r: (r["arxiv_id"], r["source"])):
            found.setdefault(row["arxiv_id"], {})[row["source"]] = row["record_hash"]
        return found

    def put_record_hashes(self, rows: Iterable[tuple[str, str, str]]) -> int:
        """Save (arxiv_id, source, record hash) rows as what each source last sent, as when
        restoring an export, so the next ingest from those sources skips what it sent.
        Returns the rows written."""
        now = self.engine.time(datetime.now(timezone.utc))
        values = [(arxiv_id, source, record_hash, now) for arxiv_id, source, record_hash in rows]
        with self.engine.write() as db:
            return self.engine.insert_rows(
                db, "paper_sources", ("arxiv_id", "source", "record_hash", "seen_at"), values,
                conflict="ON CONFLICT (arxiv_id, source) DO UPDATE SET record_hash = excluded.record_hash,"
                " seen_at = excluded.seen_at",
            )

    def delete_papers(self, arxiv_ids: Iterable[str], *, source: str) -> int:
        """Mark papers deleted (kept as tombstones so indexes can follow); returns how many changed."""
        ids = list(dict.fromkeys(arxiv_ids))
        if not ids:
            return 0
        with self.engine.write("papers") as db:
            # Forget what every source sent, so a later identical record revives the paper.
            db.execute("DELETE FROM paper_sources WHERE arxiv_id IN ?", (Many(ids),))
            found = _row_ids(db, ids, live=self.engine.live)
            row_ids = [found[arxiv_id] for arxiv_id in ids if arxiv_id in found]
            seqs = self.engine.next_seqs(db, "papers", "change_seq", len(row_ids))
            now = self.engine.time(datetime.now(timezone.utc))
            self.engine.update_rows(
                db, "papers", "id", ("is_deleted", "change_seq", "changed_at"),
                [(row_id, True, seq, now) for row_id, seq in zip(row_ids, seqs)],
            )
            if row_ids:
                db.execute("DELETE FROM paper_categories WHERE paper_id IN ?", (Many(row_ids, "int8"),))
                db.execute("DELETE FROM embeddings WHERE paper_id IN ?", (Many(row_ids, "int8"),))
        return len(row_ids)

    def get_paper(self, arxiv_id: str) -> Paper:
        """The paper, or raises NotFound (also for a deleted paper)."""
        found = select_papers(self.engine, self.engine.read(), "arxiv_id = ? AND {live}", (arxiv_id,))
        if not found:
            raise NotFound(f"no paper {arxiv_id!r} in the store")
        return found[0][1]

    def get_papers(self, arxiv_ids: Iterable[str]) -> dict[str, Paper]:
        """The papers that exist among `arxiv_ids`, keyed by id."""
        found = select_papers(self.engine, self.engine.read(), "arxiv_id IN ? AND {live}", (Many(list(arxiv_ids)),))
        return {paper.arxiv_id: paper for _, paper in found}

    def get_papers_by_row(self, paper_ids: Iterable[int]) -> dict[int, Paper]:
        """Papers by their internal row id (the id the search indexes use)."""
        ids = [int(i) for i in paper_ids]  # numpy ints from the search indexes, too
        return dict(select_papers(self.engine, self.engine.read(), "id IN ? AND {live}", (Many(ids, "int8"),)))

    def paper_ids(self, arxiv_ids: Iterable[str]) -> dict[str, int]:
        """Internal row ids of the given arXiv ids."""
        return _row_ids(self.engine.read(), list(arxiv_ids), live=self.engine.live)

    def papers_on_day(self, day: date, *, limit: int = 200, offset: int = 0) -> list[Paper]:
        """Papers first published on `day` (UTC), newest first."""
        return [p for _, p in select_papers(
            self.engine, self.engine.read(), "day = ? AND is_deleted = ?", (self.engine.day(day), False, limit, offset),
            order="ORDER BY published_at DESC, arxiv_id LIMIT ? OFFSET ?",
        )]

    def count_papers_on_day(self, day: date) -> int:
        """How many live papers were first published on `day`."""
        return scalar(
            self.engine.read(), "SELECT COUNT(*) FROM papers WHERE day = ? AND is_deleted = ?",
            (self.engine.day(day), False),
        )

    def papers_between(
        self, first: date, last: date, *, category: str | None = None, limit: int = 200, offset: int = 0,
    ) -> list[Paper]:
        """Papers first published from day `first` to day `last` (UTC, both included), newest
        first; with `category`, only the papers in it (any of their categories)."""
        where, params = _between(self.engine, first, last, category)
        # The page's ids are sorted alone, then their rows read: sorting whole rows (a month
        # is thousands of abstracts) cost 60 ms at 75k papers, the ids alone a few.
        return [p for _, p in select_papers(
            self.engine, self.engine.read(),
            f"id IN (SELECT id FROM papers WHERE {where} ORDER BY published_at DESC, arxiv_id LIMIT ? OFFSET ?)",
            (*params, limit, offset), order="ORDER BY published_at DESC, arxiv_id",
        )]

    def count_papers_between(self, first: date, last: date, *, category: str | None = None) -> int:
        """How many live papers `papers_between` has over all its pages."""
        where, params = _between(self.engine, first, last, category)
        return scalar(self.engine.read(), f"SELECT COUNT(*) FROM papers WHERE {where}", params)

    def categories_between(self, first: date, last: date) -> list[list[str]]:
        """The category lists of the live papers first published from `first` to `last`:
        one JSON column read by the (is_deleted, day) index, cheaper on both engines than a
        join through paper_categories, whose key starts with the category."""
        rows = self.engine.read().rows(
            "SELECT categories FROM papers WHERE is_deleted = ? AND day >= ? AND day <= ?",
            (False, self.engine.day(first), self.engine.day(last)),
        )
        return [json.loads(row["categories"]) for row in rows]  # JSON text on both engines

    def iter_papers(self, *, batch_size: int = 1000, deleted: bool = False) -> Iterator[Paper]:
        """Every live paper, in arxiv_id order; with `deleted`, every tombstone instead (the
        deleted paper's last record, which an export carries)."""
        last = ""
        where = "arxiv_id > ? AND is_deleted = ?" if deleted else "arxiv_id > ? AND {live}"
        while True:
            params = (last, True, batch_size) if deleted else (last, batch_size)
            page = select_papers(
                self.engine, self.engine.read(), where, params, order="ORDER BY arxiv_id LIMIT ?",
            )
            if not page:
                return
            for _, paper in page:
                yield paper
            last = page[-1][1].arxiv_id

    def changes_since(self, change_seq: int, *, limit: int = 10_000) -> list[Change]:
        """Changes after `change_seq`, oldest first (at most `limit`)."""
        db = self.engine.read()
        rows = db.rows(
            f"{_SELECT_PAPER.removesuffix(' FROM papers')}, change_seq, is_deleted FROM papers"
            " WHERE change_seq > ? ORDER BY change_seq LIMIT ?",
            (change_seq, limit),
        )
        versions = _versions(self.engine, db, [row["id"] for row in rows if not row["is_deleted"]])
        return [
            Change(
                row["change_seq"], row["id"], row["arxiv_id"],
                None if row["is_deleted"] else paper_from_row(row, versions.get(row["id"], ())),
            )
            for row in rows
        ]

    def last_change_seq(self) -> int:
        """The change_seq of the latest change; 0 on an empty store."""
        return scalar(self.engine.read(), "SELECT COALESCE(MAX(change_seq), 0) FROM papers")

    def stats(self) -> StoreStats:
        """Counts of what the store holds, for `paperwire stats` and the status page."""
        db = self.engine.read()
        # Separate queries so each is answered from the papers_live_day index alone.
        live, deleted = (
            scalar(db, "SELECT COUNT(*) FROM papers WHERE is_deleted = ?", (flag,)) for flag in (False, True)
        )
        [days] = db.rows(
            "SELECT MIN(day) AS first, MAX(day) AS last FROM papers WHERE is_deleted = ? AND day IS NOT NULL",
            (False,),
        )
        categories = db.rows("SELECT category, COUNT(*) AS n FROM paper_categories GROUP BY category")
        return StoreStats(
            paper_count=live,
            deleted_count=deleted,
            daily_entry_count=scalar(db, "SELECT COUNT(*) FROM daily_entries"),
            embedded_count=scalar(db, "SELECT COUNT(*) FROM embeddings"),
            first_day=as_day(days["first"]),
            last_day=as_day(days["last"]),
            category_counts={row["category"]: row["n"] for row in categories},
        )


def _row_ids(db: Session, arxiv_ids: list[str], *, live: str = "true") -> dict[str, int]:
    rows = db.rows(f"SELECT arxiv_id, id FROM papers WHERE arxiv_id IN ? AND {live}", (Many(arxiv_ids),))
    return {row["arxiv_id"]: row["id"] for row in rows}


def _between(engine: Engine, first: date, last: date, category: str | None) -> tuple[str, tuple]:
    """The WHERE clause and parameters of the live papers first published from `first` to `last`."""
    where = "is_deleted = ? AND day >= ? AND day <= ?"
    params: tuple = (False, engine.day(first), engine.day(last))
    if category:
        where += " AND id IN (SELECT paper_id FROM paper_categories WHERE category = ?)"
        params += (category,)
    return where, params

