"""Which fusion of the keyword and meaning sides holds up: cross-validated on SciFact train.

    .venv/bin/python bench/fusion_cv.py [--scifact ../shared/data/scifact]

For each method (convex combination of z-scored, min-max or theoretical
min-max scores, and weighted RRF) and each weight of the meaning side from 0
to 1 in steps of 0.05, scores every train query's fused ranking (nDCG@10);
then reports the weight best on train, the 5-fold cross-validated nDCG@10
(weight picked on four folds, scored on the fifth), the band of weights
within 0.005 of the best (how much the ranking cares about the weight), and
the train pick's score on the test split. The sides are the product's own
lexical and semantic modes, each's best 100 (`evaluate.side_rankings`); the
vectors are the ones `paperwire eval` caches. Writes bench/results/fusion_cv.json.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from paperwire.search import evaluate
from paperwire.search.embed import Embedder

import scifact_args  # bench/, beside this script

RESULTS = Path(__file__).parent / "results" / "fusion_cv.json"


def main() -> None:
    args = scifact_args.parse(__doc__)
    train = evaluate.load(args.scifact, split="train")
    test = evaluate.load(args.scifact, split="test")
    embedder = Embedder.load(args.cache / "models", threads=1)
    with evaluate.throwaway_store("sqlite") as store:
        choices = evaluate.study_fusion(train, test, store, embedder, cache_dir=args.cache)
    for line in evaluate.fusion_table(choices):
        print(line)
    RESULTS.write_text(json.dumps([dataclasses.asdict(c) for c in choices], indent=1) + "\n")
    print(f"\nresults written to {RESULTS}")


if __name__ == "__main__":
    main()
