"""Ranking quality measures for judging search changes (bench/search.py, tests).

Pure functions over one query: `ranking` is the returned paper ids, best
first; `relevant` maps each judged-relevant id to its grade (BEIR qrels use 1).
Averaging over queries and reading qrels files are the caller's business.
Definitions follow trec_eval as BEIR reports them (Thakur et al. 2021,
arXiv:2104.08663): nDCG with linear gains (Järvelin & Kekäläinen 2002).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence


def ndcg_at(ranking: Sequence[Hashable], relevant: Mapping[Hashable, float], k: int = 10) -> float:
    """nDCG@k: discounted gain of the top k over the best possible; 0.0 with no relevant ids."""
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    if best == 0:
        return 0.0
    gained = sum(
        relevant.get(pid, 0) / math.log2(i + 2) for i, pid in enumerate(_dedup(ranking)[:k])
    )
    return gained / best


def recall_at(ranking: Sequence[Hashable], relevant: Mapping[Hashable, float], k: int = 100) -> float:
    """Share of the relevant ids found in the top k; 0.0 with no relevant ids."""
    wanted = {pid for pid, g in relevant.items() if g > 0}
    if not wanted:
        return 0.0
    return len(wanted.intersection(_dedup(ranking)[:k])) / len(wanted)


def mrr_at(ranking: Sequence[Hashable], relevant: Mapping[Hashable, float], k: int = 10) -> float:
    """1 / rank of the first relevant id within the top k, else 0.0."""
    for i, pid in enumerate(_dedup(ranking)[:k]):
        if relevant.get(pid, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def _dedup(ranking: Sequence[Hashable]) -> list[Hashable]:
    # A ranking that names an id twice counts it once, where it first appears.
    return list(dict.fromkeys(ranking))
