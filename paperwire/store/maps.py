"""Topic maps in the store: one row per period (a day, a week, a month), made by
topicmap.py (ahead, by the maps job, or at a first view) and read by every web process.

A map is current while the fingerprint of its period's papers and vectors is the
one it was made from. The fingerprint is the live papers' count and largest
`change_seq`, and per embedding model the vectors' count and largest `embed_seq`:
both sequences only grow and are committed in order (store/__init__.py), so any
change to a paper in the period, a paper leaving it, or a vector written for one
moves it, and two aggregate queries over the (is_deleted, day) index read it
without reading a paper. What a map says is topicmap.py's; here it is JSON text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from paperwire.store.records import as_time
from paperwire.store.sql import Engine, scalar


# The store's sequences when the maps job last found every recent map current (topicmap.
# make_ahead). It describes the topic_maps rows, so it goes where they go: `db copy` copies
# neither (maps are remade from the papers), and a copied marker would skip the remaking.
MAPS_CHECKPOINT = "maps-made-through"


@dataclass(frozen=True)
class StoredMap:
    period: str
    fingerprint: str
    body: str  # JSON (topicmap.to_json)
    made_at: datetime


class MapTables:
    """The store's topic-map methods; `engine` is the Engine the Store holds."""

    engine: Engine

    def papers_fingerprint(self, first: date, last: date) -> str:
        """A value that changes whenever the live papers first published from `first` to
        `last` (both included) or their vectors change (see the module doc)."""
        db, params = self.engine.read(), (False, self.engine.day(first), self.engine.day(last))
        papers = db.rows(
            "SELECT COUNT(*) AS n, MAX(change_seq) AS seq FROM papers WHERE is_deleted = ? AND day >= ? AND day <= ?",
            params,
        )[0]
        vectors = db.rows(
            "SELECT e.model, COUNT(*) AS n, MAX(e.embed_seq) AS seq FROM embeddings e JOIN papers p ON p.id = e.paper_id"
            " WHERE p.is_deleted = ? AND p.day >= ? AND p.day <= ? GROUP BY e.model ORDER BY e.model", params,
        )
        return ";".join([f"{papers['n']}:{papers['seq'] or 0}", *(f"{v['model']}:{v['n']}:{v['seq']}" for v in vectors)])

    def topic_map(self, period: str, *, with_body: bool = True) -> StoredMap | None:
        """The stored map of `period`, current or not, or None when none was made; without
        `with_body`, its fingerprint and time alone (body ""), to check a kept copy."""
        columns = "*" if with_body else "period, fingerprint, '' AS body, made_at"
        rows = self.engine.read().rows(f"SELECT {columns} FROM topic_maps WHERE period = ?", (period,))
        return StoredMap(**{**rows[0], "made_at": as_time(rows[0]["made_at"])}) if rows else None

    def put_topic_map(self, period: str, *, fingerprint: str, body: str, now: datetime) -> datetime:
        """Save `period`'s map, replacing the one before; returns its made_at as stored."""
        with self.engine.write() as db:
            made_at = db.rows(
                "INSERT INTO topic_maps (period, fingerprint, body, made_at) VALUES (?, ?, ?, ?) ON CONFLICT (period)"
                " DO UPDATE SET fingerprint = excluded.fingerprint, body = excluded.body, made_at = excluded.made_at"
                " RETURNING made_at",
                (period, fingerprint, body, self.engine.time(now)),
            )[0]["made_at"]
        return as_time(made_at)

    def topic_map_count(self) -> int:
        return scalar(self.engine.read(), "SELECT COUNT(*) FROM topic_maps")
