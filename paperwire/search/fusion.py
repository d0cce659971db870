"""Fusing rankings from several retrievers into one: pure functions, no I/O.

Each input is one retriever's result for one query as (paper id, score) pairs,
best first. Two families:

* rank-based: reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009),
  robust and tuning-free, but it throws away how *sure* each retriever was;
* score-based: a convex combination of per-query normalised scores, which
  Bruch, Gai & Ingber ("An Analysis of Fusion Functions for Hybrid Retrieval",
  ACM TOIS 2023, arXiv:2210.11934) found better than RRF once its one weight is
  tuned, and which measured better on SciFact here too (docs/search.md).

Ties break deterministically: higher fused score, then the better best rank
in any input, then the lower paper id.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RRF_K = 60  # Cormack et al. 2009, section 3: k = 60 "near-optimal" and rarely worth tuning

Ranking = Sequence[tuple[int, float]]


def rrf(rankings: Sequence[Ranking], *, k: int = RRF_K, weights: Sequence[float] | None = None) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: score(d) = sum_i w_i / (k + rank_i(d)), ranks from 1.

    A paper missing from a ranking gets nothing from it. Returns (id, fused score),
    best first; [] when every ranking is empty.
    """
    weights = weights or [1.0] * len(rankings)
    fused: dict[int, float] = {}
    best: dict[int, int] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, (pid, _) in enumerate(ranking, start=1):
            fused[pid] = fused.get(pid, 0.0) + weight / (k + rank)
            best[pid] = min(best.get(pid, rank), rank)
    return _sorted(fused, best)


def normalise(scores: np.ndarray, *, method: str = "zscore", floor: float | None = None) -> np.ndarray:
    """Scores of one ranking mapped to a common scale.

    - "zscore": (s - mean) / std, which keeps how far the leaders stand out from
      the pack; min-max does not, and a lone outlier squashes the rest towards 0.
    - "minmax": (s - min) / (max - min), into [0, 1].
    - "tmm": theoretical min-max, (s - floor) / (max - floor) with the
      retriever's lowest possible score as `floor` (0 for BM25, -1 for cosine):
      Bruch et al. 2023, section 4.1.
    A ranking whose scores are all equal maps to zeros (a single hit to 1 for tmm).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return scores
    if method == "zscore":
        std = scores.std()
        return (scores - scores.mean()) / std if std > 0 else np.zeros_like(scores)
    if method == "minmax":
        low, high = scores.min(), scores.max()
        return (scores - low) / (high - low) if high > low else np.zeros_like(scores)
    if method == "tmm":
        if floor is None:
            raise ValueError("normalise(method='tmm') needs floor=, the lowest possible score")
        high = scores.max()
        return (scores - floor) / (high - floor) if high > floor else np.zeros_like(scores)
    raise ValueError(f"normalisation {method!r} is not known; use 'zscore', 'minmax' or 'tmm'")


def convex(
    rankings: Sequence[Ranking], weights: Sequence[float], *, method: str = "zscore",
    floors: Sequence[float | None] | None = None,
) -> list[tuple[int, float]]:
    """Convex combination of normalised scores: sum_i w_i * norm_i(d).

    A paper missing from ranking i gets that ranking's lowest normalised score
    (it scored at most as well as the last one returned). Returns (id, fused
    score), best first; [] when every ranking is empty.
    """
    floors = floors or [None] * len(rankings)
    fused: dict[int, float] = {}
    best: dict[int, int] = {}
    normalised = []
    for ranking, floor in zip(rankings, floors):
        values = normalise(np.array([s for _, s in ranking]), method=method, floor=floor)
        normalised.append((ranking, values))
        for rank, (pid, _) in enumerate(ranking, start=1):
            fused.setdefault(pid, 0.0)
            best[pid] = min(best.get(pid, rank), rank)
    for (ranking, values), weight in zip(normalised, weights):
        missing = float(values.min()) if values.size else 0.0
        got = {pid: float(v) for (pid, _), v in zip(ranking, values)}
        for pid in fused:
            fused[pid] += weight * got.get(pid, missing)
    return _sorted(fused, best)


def _sorted(fused: dict[int, float], best: dict[int, int]) -> list[tuple[int, float]]:
    order = sorted(fused, key=lambda pid: (-fused[pid], best[pid], pid))
    return [(pid, fused[pid]) for pid in order]


def top(ids: np.ndarray, scores: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """The `limit` best (id, score), score descending then id ascending."""
    if len(ids) > limit:
        # keep everything tied with the limit-th score, so ties break by id, not by position
        cut = np.partition(scores, len(scores) - limit)[len(scores) - limit]
        keep = scores >= cut
        ids, scores = ids[keep], scores[keep]
    order = np.lexsort((ids, -scores))[:limit]
    return [(int(ids[i]), float(scores[i])) for i in order]
