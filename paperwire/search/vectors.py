"""Nearest-neighbour search over paper embeddings, kept in memory and on disk.

Owns finding the papers whose unit vectors have the largest dot product with a
query vector, and keeping that up to date as papers are added, changed and
deleted. Making the vectors is `embed.py`'s job; filters come in as a mask over
paper ids (`lexical.LexicalIndex.filter_mask`).

Small collections are searched exactly with one matrix product: under
HNSW_MIN_COUNT vectors that is both exact and faster than a graph walk.
Larger ones use an HNSW graph (Malkov & Yashunin, TPAMI 2018,
arXiv:1603.09320) via hnswlib, labelled by paper id, which supports updates
in place and marks deletions. A filtered search over-fetches from the graph
and filters, widening the fetch until enough papers pass, and scans the
allowed papers exactly when the filter is so selective that over-fetching
would visit most of the graph anyway.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from paperwire.search.fusion import top

HNSW_MIN_COUNT = 20_000  # below this many vectors, search exactly
HNSW_M = 16  # graph degree: hnswlib's recommended 12-48; 16 keeps memory at ~130 B/vector
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128  # candidates kept while searching; at least the number asked for
EXACT_FILTER_MAX = 20_000  # allowed papers at or under this are scanned exactly
OVERFETCH_MAX_ROUNDS = 3
FORMAT_VERSION = 1
GRAPH_WRITE_CHUNK = 256  # vectors added to the graph under one hold of its write lock


@dataclass
class VectorIndex:
    """Paper id -> unit vector, searchable by dot product. Paper ids must be
    non-negative (store row ids). Not thread-safe: one writer, no reads while writing."""

    dim: int
    model_id: str = ""  # the embedder that made the vectors (Embedder.model_id)
    change_seq: int = 0  # the last store change applied (see search.sync)
    threads: int = 1
    _ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _matrix: np.ndarray | None = None  # exact mode: row i is the vector of _ids[i]
    _row_of: dict[int, int] = field(default_factory=dict)  # exact mode
    _graph: object | None = None  # hnswlib.Index once the collection is large
    _present: set[int] = field(default_factory=set)  # graph mode: live labels
    _deleted: set[int] = field(default_factory=set)  # graph mode: labels marked deleted
    # graph mode: every vector again as float16, row = paper id, for exact scans of a filter's
    # papers and for `vectors`: hnswlib's get_items costs 0.1-0.2 ms a vector, which made
    # `author:` searches take 0.5-1 s (issue #9). Half a float32 copy (58 MB at 75k papers);
    # shared by forks (a row changes only when its paper's vector does).
    _half: np.ndarray | None = None
    # hnswlib searches may run side by side, but not beside an insertion (nmslib/hnswlib#100,
    # #562): the graph, shared by an index and its forks, is read and written under this lock
    _graph_lock: "ReadWriteLock" = field(default_factory=lambda: ReadWriteLock())

    def __post_init__(self) -> None:
        if self._matrix is None and self._graph is None:
            self._matrix = np.zeros((0, self.dim), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._present) if self._graph is not None else len(self._row_of)

    def __contains__(self, paper_id: int) -> bool:
        return paper_id in (self._present if self._graph is not None else self._row_of)

    @property
    def is_exact(self) -> bool:
        return self._graph is None

    def fork(self) -> "VectorIndex":
        """A copy that can take updates while searches read this one. The exact mode's
        matrix is copied (at most HNSW_MIN_COUNT rows); an HNSW graph is shared, so each
        fork keeps its own set of live labels and ignores the others' (see `search`)."""
        return dataclasses.replace(
            self, _ids=self._ids.copy(), _row_of=dict(self._row_of), _present=set(self._present),  # _half shared
            _deleted=set(self._deleted), _matrix=None if self._matrix is None else self._matrix.copy(),
        )

    # --- updates ----------------------------------------------------------
    def add(self, paper_ids: list[int], vectors: np.ndarray) -> None:
        """Add or replace vectors (one row per id; the last of duplicate ids wins).
        Raises ValueError for a wrong shape or a negative id."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(paper_ids), -1)
        if vectors.shape[1] != self.dim:
            raise ValueError(f"vectors have {vectors.shape[1]} dimensions; this index holds {self.dim}")
        latest = {int(pid): row for row, pid in enumerate(paper_ids)}
        if latest and min(latest) < 0:
            raise ValueError(f"paper id {min(latest)} is negative; ids must be store row ids")
        ids = np.fromiter(latest, dtype=np.int64, count=len(latest))
        rows = vectors[list(latest.values())]
        if self._graph is None:
            self._add_exact(ids, rows)
            if len(self._row_of) >= HNSW_MIN_COUNT:
                self._build_graph(self._ids, self._matrix)
        else:
            self._add_to_graph(ids, rows)

    def delete(self, paper_ids: list[int]) -> int:
        """Remove vectors by paper id; returns how many were there."""
        removed = 0
        for pid in paper_ids:
            if pid not in self:
                continue
            removed += 1
            if self._graph is not None:
                with self._graph_lock.writing():
                    self._graph.mark_deleted(pid)
                self._present.discard(pid)
                self._deleted.add(pid)
            else:  # move the last row into the hole
                row, last = self._row_of.pop(pid), len(self._ids) - 1
                if row != last:
                    moved = int(self._ids[last])
                    self._ids[row], self._matrix[row] = moved, self._matrix[last]
                    self._row_of[moved] = row
                self._ids, self._matrix = self._ids[:last], self._matrix[:last]
        return removed

    def rebuild(self) -> None:
        """Rebuild from the vectors held: reclaims deleted graph nodes, or goes back
        to exact search when the collection has shrunk under HNSW_MIN_COUNT."""
        ids = np.array(sorted(self._present if self._graph is not None else self._row_of), dtype=np.int64)
        vectors = self.vectors(ids)
        self._graph, self._present, self._deleted = None, set(), set()
        self._ids, self._matrix, self._row_of = np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32), {}
        self.add(list(ids), vectors)

    def vectors(self, paper_ids) -> np.ndarray:
        """The stored vectors of `paper_ids` (all present), float32 [n, dim]."""
        paper_ids = [int(p) for p in paper_ids]
        if not paper_ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._graph is not None:
            return self._half[paper_ids].astype(np.float32)
        return self._matrix[[self._row_of[p] for p in paper_ids]]

    def _add_exact(self, ids: np.ndarray, rows: np.ndarray) -> None:
        old = np.array([pid in self._row_of for pid in ids.tolist()], dtype=bool)
        for pid, row in zip(ids[old].tolist(), rows[old]):
            self._matrix[self._row_of[pid]] = row
        start = len(self._ids)
        self._ids = np.concatenate([self._ids, ids[~old]])
        self._matrix = np.concatenate([self._matrix, rows[~old]])
        for offset, pid in enumerate(ids[~old].tolist()):
            self._row_of[pid] = start + offset

    def _build_graph(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        import hnswlib

        graph = hnswlib.Index(space="ip", dim=self.dim)
        graph.init_index(
            max_elements=max(len(ids) * 5 // 4, 1024), M=HNSW_M,
            ef_construction=HNSW_EF_CONSTRUCTION, allow_replace_deleted=True,
        )
        graph.set_num_threads(self.threads)
        graph.add_items(vectors, ids)
        self._half = np.zeros((0, self.dim), dtype=np.float16)
        self._keep_half(ids, vectors)
        self._graph, self._present = graph, set(ids.tolist())
        self._ids, self._matrix, self._row_of = np.zeros(0, np.int64), None, {}

    def _add_to_graph(self, ids: np.ndarray, rows: np.ndarray) -> None:
        # In chunks, each under the graph's write lock, so searches wait at most one chunk.
        for start in range(0, len(ids), GRAPH_WRITE_CHUNK):
            chunk = slice(start, start + GRAPH_WRITE_CHUNK)
            with self._graph_lock.writing():
                self._add_chunk_to_graph(ids[chunk], rows[chunk])

    def _add_chunk_to_graph(self, ids: np.ndarray, rows: np.ndarray) -> None:
        graph = self._graph
        needed = graph.element_count + len(ids)
        if needed > graph.get_max_elements():
            graph.resize_index(max(needed, graph.get_max_elements() * 3 // 2))
        # hnswlib updates a live label in place, but with replace_deleted=True it
        # would give a live label a second node; so only new labels may take the
        # slot of a deleted node, and a deleted label still in the graph is revived.
        known = np.array([pid in self._present for pid in ids.tolist()], dtype=bool)
        for pid in ids[~known].tolist():
            if pid in self._deleted:
                self._deleted.discard(pid)
                try:
                    graph.unmark_deleted(pid)
                    known[ids == pid] = True
                except RuntimeError:  # its node was reused by another label
                    pass
        if known.any():
            graph.add_items(rows[known], ids[known])
        if (~known).any():
            graph.add_items(rows[~known], ids[~known], replace_deleted=True)
        self._keep_half(ids, rows)
        self._present.update(ids.tolist())

    def _keep_half(self, ids: np.ndarray, rows: np.ndarray) -> None:
        if len(ids) and int(ids.max()) >= len(self._half):
            size = max(int(ids.max()) + 1, len(self._half) * 5 // 4)  # a new array: forks keep the old
            self._half = np.concatenate([self._half, np.zeros((size - len(self._half), self.dim), np.float16)])
        self._half[ids] = rows

    # --- queries ----------------------------------------------------------
    def search(
        self, vector: np.ndarray, *, limit: int = 100, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The `limit` (paper id, dot product) pairs nearest to `vector`, best first,
        ties by lower id. `allowed` is a bool mask over paper ids (ids past its end
        are not allowed). Returns [] for an empty index."""
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if len(self) == 0 or limit <= 0:
            return []
        if self._graph is None:
            return self._search_exact(self._ids, self._matrix, vector, limit, allowed)
        if allowed is None:
            return self._search_graph(vector, limit)
        allowed_ids = np.flatnonzero(allowed)
        if len(allowed_ids) <= EXACT_FILTER_MAX:
            present = np.array([p for p in allowed_ids.tolist() if p in self._present], dtype=np.int64)
            return self._search_exact(present, self.vectors(present), vector, limit, None)
        return self._search_graph_filtered(vector, limit, allowed, len(allowed_ids))

    def _search_exact(self, ids, matrix, vector, limit, allowed) -> list[tuple[int, float]]:
        scores = matrix @ vector
        if allowed is not None:
            inside = ids < len(allowed)
            keep = np.zeros(len(ids), dtype=bool)
            keep[inside] = allowed[ids[inside]]
            ids, scores = ids[keep], scores[keep]
        return top(ids, scores, limit)

    def _search_graph(self, vector, fetch) -> list[tuple[int, float]]:
        fetch = min(fetch, len(self._present))
        with self._graph_lock.reading():
            # ef is the graph's, shared: a search beside this one may set another (harmless:
            # hnswlib keeps max(ef, k) candidates, so every search gets its `fetch`)
            self._graph.set_ef(max(HNSW_EF_SEARCH, fetch))
            labels, distances = self._graph.knn_query(vector, k=fetch, num_threads=1)
        labels = labels[0].astype(np.int64)
        # A fork sharing the graph may have added labels this index does not hold yet.
        mine = np.fromiter((pid in self._present for pid in labels.tolist()), dtype=bool, count=len(labels))
        # hnswlib's "ip" distance is 1 - dot product
        return top(labels[mine], 1.0 - distances[0][mine], fetch)

    def _search_graph_filtered(self, vector, limit, allowed, allowed_count):
        share = allowed_count / max(len(self._present), 1)
        fetch = int(limit / max(share, 1e-6) * 2)
        for _ in range(OVERFETCH_MAX_ROUNDS):
            found = self._search_graph(vector, fetch)
            hits = [(pid, s) for pid, s in found if pid < len(allowed) and allowed[pid]]
            if len(hits) >= limit or fetch >= len(self._present):
                return hits[:limit]
            fetch *= 4
        ids = np.flatnonzero(allowed)
        present = np.array([p for p in ids.tolist() if p in self._present], dtype=np.int64)
        return self._search_exact(present, self.vectors(present), vector, limit, None)

    # --- persistence ------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the index to `path` (and, for a graph, `path`.<n>.hnsw beside it).
        The file at `path` is replaced last, atomically, so readers see the old
        index or the new one, never a mix."""
        path = Path(path)
        meta = {"format": FORMAT_VERSION, "dim": self.dim, "model_id": self.model_id,
                "change_seq": self.change_seq, "graph": None}
        arrays = {}
        old_graph = _graph_file_of(path)
        if self._graph is not None:
            number = int(old_graph.suffixes[-2][1:]) + 1 if old_graph else 1
            graph_file = path.with_name(f"{path.name}.{number}.hnsw")
            with self._graph_lock.reading():
                self._graph.save_index(str(graph_file))
            meta["graph"] = graph_file.name
            meta["graph_digest"] = _digest(graph_file)
            arrays["present"] = np.array(sorted(self._present), dtype=np.int64)
            arrays["half"] = self._half
        else:
            arrays["ids"], arrays["matrix"] = self._ids, self._matrix
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        scratch = path.with_name(path.name + ".tmp")
        with open(scratch, "wb") as f:
            np.savez(f, **arrays)
        os.replace(scratch, path)
        if old_graph and old_graph.name != meta["graph"]:
            old_graph.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path, *, threads: int = 1) -> "VectorIndex":
        """Read an index written by `save`; raises ValueError for another format version."""
        import hnswlib

        path = Path(path)
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes())
            if meta.get("format") != FORMAT_VERSION:
                raise ValueError(f"{path} has vector index format {meta.get('format')}; rebuild it")
            index = cls(meta["dim"], model_id=meta["model_id"], change_seq=meta["change_seq"], threads=threads)
            if meta["graph"] is None:
                index._add_exact(data["ids"].astype(np.int64), data["matrix"].astype(np.float32))
                return index
            graph_file = path.with_name(meta["graph"])
            # hnswlib trusts the sizes written in the file: a torn or foreign one can make it
            # allocate without bound or read past its end (issue #15), so check it first.
            if _digest(graph_file) != meta.get("graph_digest"):
                raise ValueError(f"the graph file {graph_file} is not the one {path} was saved with")
            graph = hnswlib.Index(space="ip", dim=meta["dim"])
            graph.load_index(str(graph_file), allow_replace_deleted=True)
            graph.set_num_threads(threads)
            index._graph, index._matrix = graph, None
            index._present = set(data["present"].tolist())
            index._deleted = set(graph.get_ids_list()) - index._present
            if "half" in data:
                index._half = data["half"]
            else:  # saved before the float16 copy: read it out of the graph once
                present = np.array(sorted(index._present), dtype=np.int64)
                index._half = np.zeros((0, index.dim), dtype=np.float16)
                index._keep_half(present, np.asarray(graph.get_items(present.tolist()), dtype=np.float32))
        return index


def _graph_file_of(path: Path) -> Path | None:
    """The graph file that the index saved at `path` names; None for none, or for a file
    that cannot be read (it is being replaced: its graph file, if any, is left behind)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            name = json.loads(data["meta"].tobytes()).get("graph")
    except Exception:  # noqa: BLE001 -- a damaged file: nothing in it to trust
        return None
    return path.with_name(name) if isinstance(name, str) and name and "/" not in name else None


def _digest(path: Path) -> str:
    """A BLAKE2b digest of the file at `path` (about 1 GB/s; a graph is ~130 B a vector)."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()



class ReadWriteLock:
    """Many readers or one writer. Readers that arrive while a writer waits queue
    behind it, so a stream of searches cannot starve the index follower."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    @contextmanager
    def reading(self):
        with self._condition:
            self._condition.wait_for(lambda: not self._writer and not self._waiting_writers)
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                self._condition.notify_all()

    @contextmanager
    def writing(self):
        with self._condition:
            self._waiting_writers += 1
            self._condition.wait_for(lambda: not self._writer and not self._readers)
            self._waiting_writers -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._condition:
                self._writer = False
                self._condition.notify_all()
