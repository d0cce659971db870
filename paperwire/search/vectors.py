"""Nearest-neighbour search over paper embeddings, in memory and in files every process maps.

Owns finding the papers whose unit vectors have the largest dot product with a
query vector, and keeping that up to date as papers are added, changed and
deleted. Making the vectors is `embed.py`'s job; filters come in as a mask over
paper ids (`keywords.KeywordIndex.filter_mask`).

Small collections are searched exactly with one matrix product: under
HNSW_MIN_COUNT vectors that is both exact and faster than a graph walk.
Larger ones use an HNSW graph (Malkov & Yashunin, TPAMI 2018,
arXiv:1603.09320) via usearch, labelled by paper id, that stores each vector
as int8 codes: the vector scaled so its largest component is 127, and
compared by cosine, which the scale does not change and which is the dot
product for unit vectors. That is a quarter of float32's size and costs
0.0004 nDCG@10 on SciFact hybrid (docs/search-engines.md).

A saved graph is opened as a view: its file is memory-mapped read-only, so the
web processes of one store share one copy in the page cache instead of one
each (issue #9). Changes made after that go into a tail kept in memory: new
and replaced vectors are searched exactly there, and the graph's nodes of
replaced and deleted papers are masked. The tail is folded into the graph
(copied into memory first if it is a view) when it reaches TAIL_MAX_COUNT,
by `rebuild`, and by `save`, which then maps the file it wrote.

Searches may run side by side on one index, since nothing they read changes:
updates go to a `fork` (search/service.py publishes it whole when its batch
is in), which copies the tail and shares the graph copy-on-write, so folding
never touches a graph that a published index is still searching.

A filtered search (`Allowed`) scans the allowed papers exactly when that is cheaper
than the graph search that would find enough of them (`exact_is_cheaper`: few
allowed papers), and otherwise over-fetches from the graph and keeps those that
pass, widening the fetch until enough do. The filter is asked only what the choice
needs: how many papers it allows, which of some candidates pass, and, for an
exact scan, which papers it allows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from paperwire.search.fusion import top

HNSW_MIN_COUNT = 20_000  # below this many vectors, search exactly
HNSW_M = 16  # graph degree (usearch "connectivity"): 16 is its default
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128  # candidates kept while searching; at least the number asked for
# A graph search costs about this many times an exact scan per paper it reads: 10 us a
# fetched candidate against about 2 us a paper scanned (its id listed, its code read from
# the graph and scored), on the 2.7M-paper int8 graph (docs/search-engines.md).
GRAPH_TO_EXACT_COST = 5
OVERFETCH_MAX_ROUNDS = 3
# Asking the keyword index whether a paper passes the filters costs about this many times
# listing one of the papers they allow: 5 us against 0.4 us at 2.7M papers (a term set of
# ids looked up in every segment, against reading a match's id).
CHECK_TO_LIST_COST = 12
TAIL_MAX_COUNT = 20_000  # changes held beside a graph before they are folded into it (~30 MB, ~2 ms a scan)
FORMAT_VERSION = 2  # 2: int8 usearch graph files, mapped


@dataclass(frozen=True)
class Allowed:
    """The papers a filtered search may return, asked only as far as the search needs:
    `count` of them, `passes(ids)` (a bool per id), `ids()` (every one; read only when
    the allowed papers are few enough to scan)."""

    count: int
    passes: Callable[[np.ndarray], np.ndarray]
    ids: Callable[[], np.ndarray]

    @classmethod
    def mask(cls, mask: np.ndarray) -> "Allowed":
        """A bool mask over paper ids (ids past its end are not allowed)."""
        def passes(ids) -> np.ndarray:
            ids = np.asarray(ids, dtype=np.int64)
            inside = (ids >= 0) & (ids < len(mask))
            out = np.zeros(len(ids), dtype=bool)
            out[inside] = mask[ids[inside]]
            return out

        return cls(int(np.count_nonzero(mask)), passes, lambda: np.flatnonzero(mask))


def exact_is_cheaper(allowed_count: int, limit: int, size: int) -> bool:
    """Whether scanning `allowed_count` papers beats a graph search of `size` papers that
    over-fetches enough candidates to find `limit` of them (twice limit / share)."""
    fetch = 2 * limit * size / max(allowed_count, 1)
    return allowed_count <= GRAPH_TO_EXACT_COST * fetch


@dataclass
class VectorIndex:
    """Paper id -> unit vector, searchable by dot product. Paper ids must be
    non-negative (store row ids). Searches may run in many threads at once; changes may
    not run beside them: make them on a `fork`."""

    dim: int
    model_id: str = ""  # the embedder that made the vectors (Embedder.model_id)
    change_seq: int = 0  # the last store change applied (see search.sync)
    threads: int = 1
    # Exact vectors, float32 in memory: the whole index while it is small, else the tail.
    _ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _matrix: np.ndarray | None = None  # row i is the vector of _ids[i]
    _row_of: dict[int, int] = field(default_factory=dict)
    _graph: object | None = None  # usearch.index.Index once the collection is large
    _graph_file: Path | None = None  # the file the graph is a view of; None while it is in memory
    _masked: set[int] = field(default_factory=set)  # graph labels replaced or deleted since
    _is_graph_shared: bool = False  # with the index this one was forked from: copy before changing it
    _graph_digest: str | None = None  # of _graph_file, as saved (the file on disk may since be damaged)

    def __post_init__(self) -> None:
        if self._matrix is None:
            self._matrix = np.zeros((0, self.dim), dtype=np.float32)

    def __len__(self) -> int:
        graph_count = len(self._graph) - len(self._masked) if self._graph is not None else 0
        return graph_count + len(self._row_of)

    def __contains__(self, paper_id: int) -> bool:
        return paper_id in self._row_of or self._in_graph(paper_id)

    def _in_graph(self, paper_id: int) -> bool:
        return self._graph is not None and paper_id not in self._masked and paper_id >= 0 and paper_id in self._graph

    @property
    def is_exact(self) -> bool:
        return self._graph is None

    @property
    def is_mapped(self) -> bool:
        """Whether the graph is a read-only view of a file (shared with other processes)."""
        return self._graph_file is not None

    def fork(self) -> "VectorIndex":
        """A copy that can take updates while searches read this one: the tail is copied
        (at most TAIL_MAX_COUNT rows), the graph shared until the copy first changes it."""
        return dataclasses.replace(
            self, _ids=self._ids.copy(), _matrix=self._matrix.copy(), _row_of=dict(self._row_of),
            _masked=set(self._masked), _is_graph_shared=self._graph is not None,
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
        if self._graph is not None:
            self._masked.update(pid for pid in ids.tolist() if self._in_graph(pid))
        self._add_exact(ids, rows)
        if self._graph is None and len(self._row_of) >= HNSW_MIN_COUNT:
            self._graph = _new_graph(self.dim)
            self._fold()
        elif self._graph is not None and len(self._row_of) + len(self._masked) >= TAIL_MAX_COUNT:
            self._fold()

    def delete(self, paper_ids: list[int]) -> int:
        """Remove vectors by paper id; returns how many were there."""
        removed = 0
        for pid in dict.fromkeys(int(p) for p in paper_ids):
            in_graph = self._in_graph(pid)
            if in_graph:
                self._masked.add(pid)
            if pid in self._row_of:
                self._delete_exact(pid)
            elif not in_graph:
                continue
            removed += 1
        return removed

    def _delete_exact(self, pid: int) -> None:
        """Move the last row into the hole."""
        row, last = self._row_of.pop(pid), len(self._ids) - 1
        if row != last:
            moved = int(self._ids[last])
            self._ids[row], self._matrix[row] = moved, self._matrix[last]
            self._row_of[moved] = row
        self._ids, self._matrix = self._ids[:last], self._matrix[:last]

    def rebuild(self) -> None:
        """Rebuild from the vectors held: reclaims deleted graph nodes, or goes back
        to exact search when the collection has shrunk under HNSW_MIN_COUNT."""
        ids = np.array(sorted(self.paper_ids()), dtype=np.int64)
        vectors = self.vectors(ids)
        self._graph, self._graph_file, self._masked, self._is_graph_shared = None, None, set(), False
        self._ids, self._matrix, self._row_of = np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32), {}
        self.add(list(ids), vectors)

    def paper_ids(self) -> list[int]:
        """Every paper id held, in no order."""
        graph_ids = []
        if self._graph is not None:
            graph_ids = [k for k in np.asarray(self._graph.keys).tolist() if k not in self._masked]
        return graph_ids + list(self._row_of)

    def vectors(self, paper_ids) -> np.ndarray:
        """The stored vectors of `paper_ids` (all present), float32 [n, dim]; those in the
        graph as their int8 codes scaled back to unit length."""
        paper_ids = [int(p) for p in paper_ids]
        found = np.zeros((len(paper_ids), self.dim), dtype=np.float32)
        exact = [i for i, p in enumerate(paper_ids) if p in self._row_of]
        found[exact] = self._matrix[[self._row_of[paper_ids[i]] for i in exact]]
        rest = [i for i, p in enumerate(paper_ids) if p not in self._row_of]
        if rest:
            codes = self._graph.get(np.array([paper_ids[i] for i in rest], dtype=np.uint64), dtype=np.int8)
            codes = np.stack(codes).reshape(len(rest), self.dim)
            found[rest] = _unit(codes.astype(np.float32))
        return found

    def _add_exact(self, ids: np.ndarray, rows: np.ndarray) -> None:
        old = np.array([pid in self._row_of for pid in ids.tolist()], dtype=bool)
        for pid, row in zip(ids[old].tolist(), rows[old]):
            self._matrix[self._row_of[pid]] = row
        start = len(self._ids)
        self._ids = np.concatenate([self._ids, ids[~old]])
        self._matrix = np.concatenate([self._matrix, rows[~old]])
        for offset, pid in enumerate(ids[~old].tolist()):
            self._row_of[pid] = start + offset

    def _fold(self) -> None:
        """Move the tail into the graph and drop the masked nodes (copying a mapped graph
        into memory first: a view cannot change)."""
        if not self._masked and not len(self._ids):
            return
        # A view cannot change (and another process may replace its file); a shared graph
        # is still being searched by the index this one was forked from.
        if self._graph_file is not None or self._is_graph_shared:
            self._graph, self._graph_file, self._is_graph_shared = self._graph.copy(), None, False
        if self._masked:
            self._graph.remove(np.array(sorted(self._masked), dtype=np.uint64))
        if len(self._ids):
            self._graph.add(self._ids.astype(np.uint64), quantise(self._matrix), threads=self.threads)
        self._masked = set()
        self._ids, self._matrix, self._row_of = np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32), {}

    # --- queries ----------------------------------------------------------
    def search(
        self, vector: np.ndarray, *, limit: int = 100, allowed: np.ndarray | Allowed | None = None
    ) -> list[tuple[int, float]]:
        """The `limit` (paper id, dot product) pairs nearest to `vector`, best first,
        ties by lower id. `allowed` narrows them: an `Allowed`, or a bool mask over paper
        ids (ids past its end are not allowed). Returns [] for an empty index."""
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if len(self) == 0 or limit <= 0:
            return []
        if isinstance(allowed, np.ndarray):
            allowed = Allowed.mask(allowed)
        tail = self._search_exact(self._ids, self._matrix, vector, limit, allowed)
        if self._graph is None:
            return tail
        if allowed is None:
            found = self._search_graph(vector, limit)
        elif exact_is_cheaper(allowed.count, limit, len(self)):
            found = self._search_allowed_exactly(vector, limit, allowed)
        else:
            found = self._search_graph_filtered(vector, limit, allowed)
        ids = np.array([p for p, _ in found + tail], dtype=np.int64)
        return top(ids, np.array([s for _, s in found + tail], dtype=np.float32), limit)

    def _search_exact(self, ids, matrix, vector, limit, allowed: Allowed | None) -> list[tuple[int, float]]:
        if len(ids) == 0:
            return []
        scores = matrix @ vector
        if allowed is not None:
            keep = self._first_passing(ids, np.lexsort((ids, -scores)), limit, allowed)
            ids, scores = ids[keep], scores[keep]
        return top(ids, scores, limit)

    def _first_passing(self, ids: np.ndarray, order: np.ndarray, limit: int, allowed: Allowed) -> np.ndarray:
        """Positions in `ids` of the first `limit` that pass `allowed`, taken in `order`
        (best first): the filter is asked about the best ids first, in chunks sized by the
        share it allows, so a filter that lets most papers through is asked about few; or,
        where that is cheaper, it lists its papers (CHECK_TO_LIST_COST)."""
        share = max(allowed.count / max(len(self), 1), 1e-6)
        step = max(int(limit / share * 1.25), 64)
        if allowed.count < CHECK_TO_LIST_COST * min(step, len(ids)):
            return order[np.isin(ids[order], allowed.ids())][:limit]
        kept: list[int] = []
        for start in range(0, len(order), step):
            chunk = order[start:start + step]
            kept += chunk[allowed.passes(ids[chunk])].tolist()
            if len(kept) >= limit:
                break
        return np.array(kept[:limit], dtype=np.int64)

    def _search_allowed_exactly(self, vector, limit, allowed: Allowed) -> list[tuple[int, float]]:
        """The graph's nearest among the allowed papers, by a scan of their codes."""
        ids = np.asarray(allowed.ids(), dtype=np.int64)
        ids = ids[ids >= 0]
        present = ids[np.asarray(self._graph.contains(ids.astype(np.uint64)), dtype=bool)] if len(ids) else ids
        present = present[self._unmasked(present)]
        if not len(present):
            return []
        # Scored from the codes in bulk: `vectors` goes paper by paper (205 ms for 45,000
        # papers at 2.7M, against 97 ms this way), and a code's cosine is its vector's.
        codes = np.stack(self._graph.get(present.astype(np.uint64), dtype=np.int8)).astype(np.float32)
        norms = np.sqrt(np.einsum("ij,ij->i", codes, codes))
        return top(present, (codes @ vector) / np.maximum(norms, 1e-12), limit)

    def _search_graph(self, vector, fetch) -> list[tuple[int, float]]:
        """The graph's `fetch` nearest, less masked nodes (fetched beyond, to make up for them)."""
        size = len(self._graph)
        fetch = min(fetch + len(self._masked), size)
        if fetch <= 0:
            return []
        self._graph.expansion_search = max(HNSW_EF_SEARCH, fetch)
        found = self._graph.search(quantise(vector[None])[0], fetch, threads=1)
        # usearch's "cos" distance is 1 - cosine, and the cosine of the codes is the vectors' dot product
        keys, scores = found.keys.astype(np.int64), 1.0 - found.distances
        if self._masked:
            keep = self._unmasked(keys)
            keys, scores = keys[keep], scores[keep]
        return top(keys, scores, fetch)

    def _unmasked(self, keys: np.ndarray) -> np.ndarray:
        """Which of the graph's `keys` are live (not masked: replaced or deleted since the fold)."""
        if not self._masked or not len(keys):
            return np.ones(len(keys), dtype=bool)
        return ~np.isin(keys, np.fromiter(self._masked, dtype=np.int64, count=len(self._masked)))

    def _search_graph_filtered(self, vector, limit, allowed: Allowed) -> list[tuple[int, float]]:
        share = allowed.count / max(len(self), 1)
        fetch = int(limit / max(share, 1e-6) * 2)
        for _ in range(OVERFETCH_MAX_ROUNDS):
            found = self._search_graph(vector, fetch)
            keys = np.array([pid for pid, _ in found], dtype=np.int64)
            hits = [found[i] for i in self._first_passing(keys, np.arange(len(keys)), limit, allowed).tolist()]
            if len(hits) >= limit or fetch >= len(self._graph):
                return hits
            fetch *= 4
        return self._search_allowed_exactly(vector, limit, allowed)

    # --- persistence ------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the index to `path` (and, for a graph, `path`.<n>.usearch beside it),
        then map the graph file. The file at `path` is replaced last, atomically, so
        readers see the old index or the new one, never a mix."""
        path = Path(path)
        meta = {"format": FORMAT_VERSION, "dim": self.dim, "model_id": self.model_id,
                "change_seq": self.change_seq, "graph": None}
        arrays = {}
        old_graph = _graph_file_of(path)
        is_unchanged = self.is_mapped and not self._masked and not len(self._ids) and self._graph_file == old_graph
        if self._graph is not None and is_unchanged:  # the mapped file is still the whole graph
            meta["graph"], meta["graph_bytes"] = old_graph.name, old_graph.stat().st_size
            meta["graph_count"], meta["graph_digest"] = len(self._graph), self._graph_digest
        elif self._graph is not None:
            self._fold()
            number = int(old_graph.suffixes[-2][1:]) + 1 if old_graph else 1
            graph_file = path.with_name(f"{path.name}.{number}.usearch")
            scratch = graph_file.with_name(graph_file.name + ".tmp")
            self._graph.save(str(scratch))
            os.replace(scratch, graph_file)
            meta["graph"], meta["graph_bytes"] = graph_file.name, graph_file.stat().st_size
            meta["graph_count"], meta["graph_digest"] = len(self._graph), _digest(graph_file)
        else:
            arrays["ids"], arrays["matrix"] = self._ids, self._matrix
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        scratch = path.with_name(path.name + ".tmp")
        with open(scratch, "wb") as f:
            np.savez(f, **arrays)
        os.replace(scratch, path)
        if self._graph is not None and not is_unchanged:  # unchanged: that file is mapped already
            self._graph, self._graph_file = _open_graph(path.with_name(meta["graph"]), meta), path.with_name(meta["graph"])
            self._is_graph_shared, self._graph_digest = False, meta["graph_digest"]
        if old_graph and old_graph.name != meta["graph"]:
            old_graph.unlink(missing_ok=True)  # processes that map it keep their mapping

    @classmethod
    def load(cls, path: Path, *, threads: int = 1) -> "VectorIndex":
        """Read an index written by `save`, mapping its graph file; raises ValueError for
        another format version or a graph file that is not the one saved (rebuild it)."""
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
        index._graph, index._graph_file = _open_graph(graph_file, meta), graph_file
        index._graph_digest = meta.get("graph_digest")
        return index


def quantise(vectors: np.ndarray) -> np.ndarray:
    """int8 codes of `vectors`, row by row: scaled so the largest component is ±127."""
    vectors = np.asarray(vectors, dtype=np.float32)
    scale = np.abs(vectors).max(axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    return np.round(vectors * (127 / scale)).astype(np.int8)


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return rows / norms


def _new_graph(dim: int):
    from usearch.index import Index

    return Index(ndim=dim, metric="cos", dtype="i8", connectivity=HNSW_M,
                 expansion_add=HNSW_EF_CONSTRUCTION, expansion_search=HNSW_EF_SEARCH)


def _open_graph(graph_file: Path, meta: dict):
    """The graph in `graph_file`, mapped read-only; ValueError unless it is the file `meta`
    describes (its digest, size, count, dimensions and int8 cosine): usearch trusts the
    offsets in a file, so a view of a torn or flipped one could crash any later search
    rather than fail now (issue #15)."""
    from usearch.index import Index, MetricKind, ScalarKind

    try:
        size = graph_file.stat().st_size
        if _digest(graph_file) != meta.get("graph_digest"):
            raise ValueError("its digest is not the one saved")
        header = Index.metadata(str(graph_file))
    except (OSError, RuntimeError, ValueError) as error:
        raise ValueError(f"the graph file {graph_file} cannot be read ({error}); rebuild the vector index") from None
    expected = (meta.get("graph_bytes"), meta.get("graph_count"), meta["dim"], MetricKind.Cos, ScalarKind.I8)
    found = header and (size, header["count_present"], header["dimensions"], header["kind_metric"],
                        header["kind_scalar"])
    if found != expected:
        raise ValueError(f"the graph file {graph_file} is not the one its index saved; rebuild it")
    return Index.restore(str(graph_file), view=True)


def _graph_file_of(path: Path) -> Path | None:
    """The graph file that the index saved at `path` names; None for none, or for a file
    that cannot be read (it is being replaced: its graph file, if any, is left behind)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            name = json.loads(data["meta"].tobytes()).get("graph")
    except Exception:  # noqa: BLE001 -- a damaged file (BadZipFile, EOFError, ...): nothing in it to trust
        return None
    return path.with_name(name) if isinstance(name, str) and name and "/" not in name else None


def _digest(path: Path) -> str:
    """A BLAKE2b digest of the file at `path` (about 1 GB/s; the graph is ~100 B a vector)."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
