"""Which title boost for the tantivy keyword index holds up: cross-validated on SciFact train.

    .venv/bin/python bench/title_boost_cv.py [--scifact ../shared/data/scifact]

tantivy-py fixes BM25's k1 (1.2) and b (0.75); what paperwire chooses is how
much a title match counts beside an abstract match (`KeywordIndex.title_boost`,
a query-time weight, so one index serves the whole grid). For each boost,
scores every train query (nDCG@10) by keywords alone and by the product's
hybrid (the same meaning side, fused as engine.py fuses: convex z-score,
DENSE_WEIGHT); then reports, for each, the boost best on train, the 5-fold
cross-validated nDCG@10 (boost picked on four folds, scored on the fifth),
the band of boosts within 0.005 of the best, and each boost's score on test.
The vectors are the ones `paperwire eval` caches. Writes
bench/results/title_boost_cv.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from paperwire.search import evaluate, metrics
from paperwire.search.embed import Embedder
from paperwire.search.engine import DENSE_WEIGHT, FUSION_NORMALISATION
from paperwire.search.query import parse
from paperwire.search.service import SearchService

import scifact_args  # bench/, beside this script

RESULTS = Path(__file__).parent / "results" / "title_boost_cv.json"
BOOSTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
DEPTH = 100


def main() -> None:
    args = scifact_args.parse(__doc__)
    splits = {name: evaluate.load(args.scifact, split=name) for name in ("train", "test")}
    embedder = Embedder.load(args.cache / "models", threads=1)
    with evaluate.throwaway_store("sqlite") as store:
        evaluate.load_into(splits["train"], store, embedder, cache_dir=args.cache)
        service = SearchService(None, embedder=embedder)
        service.catch_up(store)
        grids = {name: grid(split, store, service) for name, split in splits.items()}
    out = {}
    print(f"{'side':<9} {'train boost':>11} {'train':>7} {'5-fold CV':>9} {'boosts within 0.005':>20} {'test':>7}")
    for side in ("keywords", "hybrid"):
        train = {b: grids["train"][(side, b)] for b in BOOSTS}
        best, cv, good = cross_validate(train)
        test = float(grids["test"][(side, best)].mean())
        print(f"{side:<9} {best:>11.2f} {train[best].mean():>7.4f} {cv:>9.4f} {good[0]:>9.2f} – {good[1]:<8.2f} "
              f"{test:>7.4f}")
        out[side] = {"train_boost": best, "train": float(train[best].mean()), "cv": cv, "within_0.005": good,
                     "test": test, "by_boost_train": {b: float(train[b].mean()) for b in BOOSTS},
                     "by_boost_test": {b: float(grids["test"][(side, b)].mean()) for b in BOOSTS}}
    for side in ("keywords", "hybrid"):
        print(f"{side} nDCG@10 by boost, train / test: " + ", ".join(
            f"{b}: {out[side]['by_boost_train'][b]:.4f}/{out[side]['by_boost_test'][b]:.4f}" for b in BOOSTS))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1) + "\n")
    print(f"\nresults written to {RESULTS}")


def grid(dataset: evaluate.Dataset, store, service: SearchService) -> dict[tuple[str, float], np.ndarray]:
    """nDCG@10 of each query by keywords alone and hybrid, for every boost."""
    beir_of_row = {row: dataset.documents[i][0] for i, row in enumerate(
        store.paper_ids([evaluate.eval_id(i) for i in range(len(dataset.documents))]).values())}
    keywords = service.indexes.lexical
    queries = {q: evaluate.plain_query(text) for q, text in dataset.queries.items()}
    meaning = {q: [(beir_of_row[h.paper_id], h.score) for h in
                   service.search(store, text, mode="semantic", limit=DEPTH).page.hits]
               for q, text in queries.items()}
    out = {}
    for boost in BOOSTS:
        keywords.title_boost = boost
        ranked = {q: [(beir_of_row[pid], score) for pid, score in keywords.search(parse(text), limit=DEPTH)]
                  for q, text in queries.items()}
        out[("keywords", boost)] = np.array(
            [metrics.ndcg_at([d for d, _ in ranked[q]], dataset.qrels[q], 10) for q in queries])
        out[("hybrid", boost)] = np.array([
            metrics.ndcg_at(evaluate.fused(FUSION_NORMALISATION, DENSE_WEIGHT, ranked[q], meaning[q]),
                            dataset.qrels[q], 10) for q in queries])
    return out


def cross_validate(curve: dict[float, np.ndarray], folds: int = evaluate.CV_FOLDS, seed: int = 0):
    """(the boost best on all of train, the cross-validated nDCG@10, the band within
    ROBUST_MARGIN of the best), ties to the boost nearest the measured 0.5."""
    order = np.random.default_rng(seed).permutation(len(next(iter(curve.values()))))
    held_out = []
    for part in np.array_split(order, folds):
        rest = np.setdiff1d(order, part)
        pick = max(curve, key=lambda b: (curve[b][rest].mean(), -abs(b - 0.5)))
        held_out.append(curve[pick][part])
    means = {b: float(v.mean()) for b, v in curve.items()}
    best = max(curve, key=lambda b: (means[b], -abs(b - 0.5)))
    good = [b for b in curve if means[b] >= means[best] - evaluate.ROBUST_MARGIN]
    return best, float(np.concatenate(held_out).mean()), (min(good), max(good))


if __name__ == "__main__":
    main()
