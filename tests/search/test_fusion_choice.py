"""evaluate's choice of fusion: fused rankings, the train pick, cross-validation, the band of good weights."""

import numpy as np
import pytest

from paperwire.search.evaluate import FUSION_METHODS, FUSION_WEIGHTS, choose_fusion, fused

KEYWORD = [("a", 9.0), ("b", 5.0), ("c", 1.0)]
MEANING = [("c", 0.9), ("d", 0.5), ("a", 0.1)]


@pytest.mark.parametrize("method, weight, expected", [
    ("rrf", 0.0, ["a", "b", "c", "d"]),  # d has no keyword rank: last
    ("rrf", 1.0, ["c", "d", "a", "b"]),
    ("rrf", 0.5, ["a", "c", "b", "d"]),  # a: 1/61 + 1/63, c: 1/63 + 1/61 tie, a's best rank 1 = c's: id a < c
    ("zscore", 0.0, ["a", "b", "c", "d"]),
    ("minmax", 1.0, ["c", "d", "a", "b"]),
    # tmm: keyword s / 9 (d missing: the lowest, 1/9), meaning (s + 1) / 1.9 (b missing: 1.1/1.9);
    # at 0.7: c .3(.111) + .7(1) = .733, a .3 + .7(.579) = .705, d .586, b .572
    ("tmm", 0.7, ["c", "a", "d", "b"]),
])
def test_fused(method, weight, expected):
    assert fused(method, weight, KEYWORD, MEANING) == expected


def flat(value):
    return {w: np.full(4, value) for w in FUSION_WEIGHTS}


def test_choose_fusion_prefers_what_holds_up():
    grid = {}
    peaked = flat(0.70) | {0.45: np.full(4, 0.74)}  # one good weight, the same for every query
    broad = {w: np.full(4, 0.72 if 0.3 <= w <= 0.7 else 0.6) for w in FUSION_WEIGHTS}
    # each query likes another weight: the train pick does not carry to held-out queries
    overfit = {w: np.zeros(4) for w in FUSION_WEIGHTS}
    for query, weight in enumerate((0.1, 0.3, 0.6, 0.9)):
        overfit[weight] = np.eye(4)[query]
    for method, curve in zip(FUSION_METHODS, (peaked, flat(0.5), overfit, broad)):
        grid |= {(method, w): v for w, v in curve.items()}
    choices = {c.method: c for c in choose_fusion(grid, test=grid, folds=2)}
    zscore, minmax, tmm, rrf = (choices[m] for m in FUSION_METHODS)
    assert (zscore.train_weight, zscore.cv_ndcg, zscore.robust_weights) == (0.45, pytest.approx(0.74), (0.45, 0.45))
    assert (rrf.train_weight, rrf.cv_ndcg, rrf.robust_weights) == (0.5, pytest.approx(0.72), (0.3, 0.7))
    assert (minmax.train_weight, minmax.robust_weights) == (0.5, (0.0, 1.0))  # ties: nearest 0.5
    assert tmm.train_ndcg == pytest.approx(0.25) and tmm.cv_ndcg == 0.0
    assert [c.method for c in choose_fusion(grid, folds=2)][:2] == ["zscore", "rrf"]
    assert zscore.test_ndcg == pytest.approx(0.74)
