"""`paperwire db check`'s checks: is what a store holds whole and consistent?

`check` counts what the store holds and lists its problems, each one line that
names the damage and what to do: rows of a paper that is missing (versions,
categories, vectors, sources, daily entries), a search index that does not
cover every live paper, and on SQLite what `PRAGMA integrity_check` finds.
Vectors computed from an older title or abstract are stale, not damaged: the
embedding job redoes them, so they are notes. The checks only read; repairing
is left to the commands each line names.
"""

from __future__ import annotations

import sqlite3
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from paperwire.store.api import Store
from paperwire.store.rows import COMMUNITY_TABLES
from paperwire.store.sql import scalar

# Rows that belong to a paper, and the condition that makes one an orphan: no row in
# papers, or (for the rows delete_papers drops with the paper) no live row.
_ORPHANS = (
    ("paper version", "paper_versions t", "NOT EXISTS (SELECT 1 FROM papers p WHERE p.id = t.paper_id)"),
    ("paper category", "paper_categories t",
     "NOT EXISTS (SELECT 1 FROM papers p WHERE p.id = t.paper_id AND p.is_deleted = ?)"),
    ("embedding", "embeddings t",
     "NOT EXISTS (SELECT 1 FROM papers p WHERE p.id = t.paper_id AND p.is_deleted = ?)"),
    ("paper source", "paper_sources t",
     "NOT EXISTS (SELECT 1 FROM papers p WHERE p.arxiv_id = t.arxiv_id AND p.is_deleted = ?)"),
    ("daily entry", "daily_entries t", "NOT EXISTS (SELECT 1 FROM papers p WHERE p.arxiv_id = t.arxiv_id)"),
    # The community's rows name papers by arxiv_id (no foreign key, so db copy moves them as they are).
    ("upvote", "upvotes t", "NOT EXISTS (SELECT 1 FROM papers p WHERE p.arxiv_id = t.arxiv_id)"),
    ("submission", "submissions t", "NOT EXISTS (SELECT 1 FROM papers p WHERE p.arxiv_id = t.arxiv_id)"),
    ("comment", "comments t", "NOT EXISTS (SELECT 1 FROM papers p WHERE p.arxiv_id = t.arxiv_id)"),
)
SKIPPED_LISTED = 5  # papers the search index skipped, named in the report
REBUILD_HINT = "run `paperwire index rebuild` (or let `paperwire serve` catch up and save)"


@dataclass
class CheckReport:
    """Counts, problems (damage: the check fails) and notes (worth knowing, not damage)."""

    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def is_healthy(self) -> bool:
        return not self.problems


def check(store: Store, *, index_root: Path | None) -> CheckReport:
    """Check `store` and, when `index_root` is given (the search indexes' folder,
    PAPERWIRE_CACHE_DIR/indexes), that its saved keyword index covers every live paper."""
    report = CheckReport()
    _count(store, report)
    report.problems += integrity_problems(store)
    report.problems += orphan_problems(store)
    report.problems += digest_problems(store)
    report.notes += digest_notes(store)
    stale_count = stale_vector_count(store)
    if stale_count:
        report.notes.append(f"{stale_count} vectors are stale (their paper's text changed); "
                            "`paperwire index embed` or the embed job redoes them")
    if index_root is not None:
        report.problems += index_problems(store, index_root)
    return report


def _count(store: Store, report: CheckReport) -> None:
    stats = store.stats()
    db = store.engine.read()
    report.counts = {
        "papers": stats.paper_count,
        "deleted papers": stats.deleted_count,
        "paper versions": scalar(db, "SELECT COUNT(*) FROM paper_versions"),
        "daily entries": stats.daily_entry_count,
        "embeddings": stats.embedded_count,
        "last change_seq": store.last_change_seq(),
        **{table.name.replace("_", " "): store.table_count(table) for table in COMMUNITY_TABLES},
        "digest subscribers": scalar(db, "SELECT COUNT(*) FROM subscribers"),
        "digests in the outbox": scalar(db, "SELECT COUNT(*) FROM digest_outbox"),
    }
    # The library's tables (store/library.py): rows hang on users by foreign keys, which
    # both engines enforce, so they are counted, not searched for orphans.
    for noun, table in (("collections", "collections"), ("saved papers", "collection_items"),
                        ("recommendations", "recommendations"), ("follow-ups", "followups")):
        report.counts[noun] = scalar(db, f"SELECT COUNT(*) FROM {table}")


def integrity_problems(store: Store) -> list[str]:
    """SQLite's own structural check (https://sqlite.org/pragma.html#pragma_integrity_check);
    PostgreSQL has no equivalent that runs without extensions, so none there."""
    if not store.url.startswith("sqlite:"):
        return []
    try:
        rows = store.engine.read().rows("PRAGMA integrity_check")
    except sqlite3.DatabaseError as error:  # a file too damaged to read at all
        return [f"integrity_check could not run ({error}); restore the last backup (`paperwire db restore`)"]
    found = [next(iter(row.values())) for row in rows]
    if found == ["ok"]:
        return []
    return [f"integrity_check: {line}; restore the last backup (`paperwire db restore`)" for line in found]


def orphan_problems(store: Store) -> list[str]:
    """One line per kind of row whose paper is missing (or deleted, where deleting drops it)."""
    db = store.engine.read()
    problems = []
    for noun, table, condition in _ORPHANS:
        params = (False,) * condition.count("?")
        count = scalar(db, f"SELECT COUNT(*) FROM {table} WHERE {condition}", params)
        if count:
            problems.append(f"{count} orphan {noun} rows: their paper is missing from the papers table")
    return problems


# Outbox rows the exactly-once protocol (docs/digests.md) never leaves: a digest still to
# send without its bytes, and received papers of a digest that was skipped or never arrived.
_DIGEST_DAMAGE = (
    ("digests waiting to be sent have no message bytes",
     "SELECT COUNT(*) FROM digest_outbox WHERE state IN ('queued', 'sending', 'accepting', 'failed-temporary')"
     " AND message IS NULL"),
    ("received papers belong to a digest that was skipped or failed",
     "SELECT COUNT(*) FROM digest_papers d JOIN digest_outbox o ON o.id = d.outbox_id"
     " WHERE o.state IN ('skipped', 'failed-permanent')"),
)


def digest_problems(store: Store) -> list[str]:
    """Outbox rows in a state the protocol cannot produce."""
    db = store.engine.read()
    return [f"{count} {what}; look at /admin/digests and report it (docs/digests.md)"
            for what, sql in _DIGEST_DAMAGE if (count := scalar(db, sql))]


def digest_notes(store: Store) -> list[str]:
    """Digests a stopped sender left mid-send: not damage, the next digest run recovers them."""
    count = scalar(store.engine.read(),
                   "SELECT COUNT(*) FROM digest_outbox WHERE state IN ('sending', 'accepting')")
    return [f"{count} digests are mid-send; if no digest run is going on, the next one recovers them"] if count else []


def stale_vector_count(store: Store) -> int:
    """Vectors whose text_hash is not their paper's (computed before the text changed)."""
    return scalar(
        store.engine.read(),
        "SELECT COUNT(*) FROM embeddings e JOIN papers p ON p.id = e.paper_id WHERE e.text_hash <> p.text_hash",
    )


def index_problems(store: Store, index_root: Path) -> list[str]:
    """Whether the saved keyword index under `index_root` is as current as the store and
    holds exactly its live papers; an empty store needs no index."""
    from paperwire.search.engine import open_saved_keywords, saved_keywords_path
    from paperwire.search.service import STORE_ID_CHECKPOINT, index_folder

    last_seq = store.last_change_seq()
    # index_folder would give the store an id if it had none; an unchecked store stays unwritten.
    if store.get_checkpoint(STORE_ID_CHECKPOINT) is None:
        return [f"no search index was ever built for this store; {REBUILD_HINT}"] if last_seq else []
    path = saved_keywords_path(index_folder(index_root, store))
    if not path.exists():
        return [f"no saved search index at {path}; {REBUILD_HINT}"] if last_seq else []
    try:
        index = open_saved_keywords(path)
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as error:  # a torn or garbage file
        return [f"the saved search index {path} is unreadable ({error}); {REBUILD_HINT}"]
    if index.change_seq != last_seq:
        return [f"the saved search index {path} is at change_seq {index.change_seq}, the store at {last_seq} "
                f"({last_seq - index.change_seq} behind); {REBUILD_HINT}"]
    live = _live_row_ids(store)
    skipped = [row_id for row_id in live if row_id in index.skipped]
    if skipped:  # the follower could not index them (issue #15); the record needs mending
        listed = "; ".join(index.skipped[row_id] for row_id in skipped[:SKIPPED_LISTED])
        return [f"{len(skipped)} papers could not be indexed for search ({listed}"
                f"{'; ...' if len(skipped) > SKIPPED_LISTED else ''}): mend them (re-ingest from the source) "
                "and the index follower picks them up"]
    missing = [row_id for row_id in live if row_id not in index]
    extra = len(index) - (len(live) - len(missing))
    if missing or extra:
        return [f"the saved search index {path} lacks {len(missing)} live papers and holds {extra} "
                f"that are not live; {REBUILD_HINT}"]
    return []


def _live_row_ids(store: Store) -> list[int]:
    rows = store.engine.read().rows("SELECT id FROM papers WHERE is_deleted = ?", (False,))
    return [row["id"] for row in rows]
