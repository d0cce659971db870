import numpy as np
import pytest

from paperwire.search import fusion


def ids(fused):
    return [pid for pid, _ in fused]


def test_rrf_hand_computed():
    fused = fusion.rrf([[(1, 9.0), (2, 8.0), (3, 7.0)], [(3, 0.9), (1, 0.8)]])
    assert ids(fused) == [1, 3, 2]
    assert [s for _, s in fused] == pytest.approx([1 / 61 + 1 / 62, 1 / 63 + 1 / 61, 1 / 62])


@pytest.mark.parametrize(
    "rankings, kwargs, expected",
    [
        # equal scores and equal best ranks: lower id first
        ([[(1, 0), (2, 0)], [(2, 0), (1, 0)]], {}, [1, 2]),
        ([[(5, 0)], [(4, 0)]], {}, [4, 5]),
        # equal scores (2/2 == 1/1 with k=0): the better best rank wins over the lower id
        ([[(1, 0), (2, 0)], [(3, 0)]], {"k": 0, "weights": [2, 1]}, [1, 3, 2]),
        ([[], []], {}, []),
        ([], {}, []),
    ],
)
def test_rrf_tie_breaks_and_empty_input(rankings, kwargs, expected):
    assert ids(fusion.rrf(rankings, **kwargs)) == expected


@pytest.mark.parametrize(
    "scores, method, floor, expected",
    [
        ([3.0, 1.0, 2.0], "minmax", None, [1.0, 0.0, 0.5]),
        ([3.0, 1.0], "zscore", None, [1.0, -1.0]),
        ([2.0, 1.0], "tmm", 0.0, [1.0, 0.5]),
        ([0.5, 0.0], "tmm", -1.0, [1.0, 1 / 1.5]),
        ([2.0, 2.0], "zscore", None, [0.0, 0.0]),
        ([2.0, 2.0], "minmax", None, [0.0, 0.0]),
        ([0.3], "tmm", -1.0, [1.0]),
        ([], "zscore", None, []),
    ],
)
def test_normalise(scores, method, floor, expected):
    assert fusion.normalise(np.array(scores), method=method, floor=floor).tolist() == pytest.approx(expected)


def test_normalise_rejects_unknown_method_and_missing_floor():
    with pytest.raises(ValueError, match="'rank'"):
        fusion.normalise(np.array([1.0]), method="rank")
    with pytest.raises(ValueError, match="floor"):
        fusion.normalise(np.array([1.0]), method="tmm")


def test_convex_zscore_hand_computed():
    # A: z = (1, -1); B: mean 0.5, std sqrt(0.32/3), z = (1.2247, 0, -1.2247).
    # A paper missing from a ranking gets that ranking's lowest z.
    bm25 = [(1, 3.0), (2, 1.0)]
    dense = [(2, 0.9), (3, 0.5), (4, 0.1)]
    z = 0.4 / np.sqrt(0.32 / 3)
    fused = fusion.convex([bm25, dense], [0.5, 0.5])
    assert ids(fused) == [2, 1, 3, 4]
    assert [s for _, s in fused] == pytest.approx(
        [0.5 * (-1 + z), 0.5 * (1 - z), 0.5 * (-1 + 0), 0.5 * (-1 - z)]
    )


def test_convex_weights_and_ties():
    bm25 = [(1, 2.0), (2, 1.0)]
    dense = [(2, 0.8), (1, 0.2)]
    assert ids(fusion.convex([bm25, dense], [1.0, 0.0], method="minmax")) == [1, 2]
    assert ids(fusion.convex([bm25, dense], [0.0, 1.0], method="minmax")) == [2, 1]
    # 0.5 * (1 + 0) == 0.5 * (0 + 1): equal scores, equal best ranks, lower id first
    assert ids(fusion.convex([bm25, dense], [0.5, 0.5], method="minmax")) == [1, 2]
    assert fusion.convex([[], []], [0.5, 0.5]) == []
