import math

import pytest

from paperwire.search.metrics import mrr_at, ndcg_at, recall_at

LOG3, LOG5 = math.log2(3), math.log2(5)


@pytest.mark.parametrize(
    "ranking, relevant, ndcg, recall, mrr",
    [
        (["a", "b", "c", "d"], {"b": 1, "d": 1}, (1 / LOG3 + 1 / LOG5) / (1 + 1 / LOG3), 1.0, 0.5),
        (["c", "a"], {"a": 2, "c": 1}, (1 + 2 / LOG3) / (2 + 1 / LOG3), 1.0, 1.0),
        (["x", "y"], {"a": 1}, 0.0, 0.0, 0.0),
        ([], {"a": 1}, 0.0, 0.0, 0.0),
        (["a"], {}, 0.0, 0.0, 0.0),
        (["a", "a", "b"], {"b": 1}, 1 / LOG3, 1.0, 0.5),  # a repeated id counts once
        (["a", "b"], {"a": 1, "b": 0}, 1.0, 1.0, 1.0),  # grade 0 is not relevant
    ],
)
def test_metrics_hand_computed(ranking, relevant, ndcg, recall, mrr):
    assert ndcg_at(ranking, relevant, 10) == pytest.approx(ndcg)
    assert recall_at(ranking, relevant, 100) == pytest.approx(recall)
    assert mrr_at(ranking, relevant, 10) == pytest.approx(mrr)


def test_cutoffs():
    ranking = [str(i) for i in range(20)]
    relevant = {"15": 1, "1": 1}
    assert ndcg_at(ranking, relevant, 10) == pytest.approx((1 / LOG3) / (1 + 1 / LOG3))
    assert recall_at(ranking, relevant, 10) == 0.5
    assert mrr_at(ranking[2:], {"15": 1}, 10) == 0.0
