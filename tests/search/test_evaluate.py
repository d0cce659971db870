"""paperwire eval's logic on a six-paper BEIR folder (tests/data/beir) in a throwaway store."""

from pathlib import Path

import pytest

from paperwire.search import evaluate

BEIR = Path(__file__).parent.parent / "data" / "beir"


@pytest.mark.parametrize("text, plain", [
    ("protein folding", "protein folding"),
    ('"Ocean" heat -waves damage', " Ocean  heat  waves damage"),
    ("year:2020 BERT: pre-training", "year 2020 BERT  pre-training"),
])
def test_plain_query_takes_out_operators(text, plain):
    assert evaluate.plain_query(text) == plain


def test_eval_ids_are_arxiv_style_and_distinct():
    assert [evaluate.eval_id(i) for i in (0, 1, 99_999, 100_000)] == [
        "0001.00000", "0001.00001", "0001.99999", "0002.00000"]


def test_load_reads_the_split():
    test, train = evaluate.load(BEIR), evaluate.load(BEIR, split="train")
    assert len(test.documents) == 6 and test.documents[5] == ("d6", "", "Drought lowers wheat yields across the plains.")
    assert test.qrels == {"q1": {"d1": 1}, "q2": {"d4": 1}, "q3": {"d2": 1}} and set(test.queries) == {"q1", "q2", "q3"}
    assert train.queries == {"q4": "protein structure prediction"}


def test_a_missing_file_is_named(tmp_path):
    (tmp_path / "corpus.jsonl").write_text("")
    with pytest.raises(evaluate.EvalError, match="queries.jsonl is missing"):
        evaluate.load(tmp_path)


def test_every_method_is_scored_and_vectors_are_cached(tmp_path, embedder):
    dataset = evaluate.load(BEIR)
    stages = []
    with evaluate.throwaway_store("sqlite") as store:
        results = evaluate.evaluate(dataset, store, embedder, cache_dir=tmp_path,
                                    on_progress=lambda stage, count, total: stages.append(stage))
    by_mode = {r.mode: r for r in results}
    assert set(by_mode) == {"hybrid", "lexical", "semantic"} and by_mode["lexical"].query_count == 3
    # q3 shares no word with its paper: only meaning finds it
    assert by_mode["lexical"].ndcg_at_10 == pytest.approx(2 / 3) and by_mode["lexical"].recall_at_100 == pytest.approx(2 / 3)
    assert by_mode["semantic"].ndcg_at_10 == by_mode["hybrid"].ndcg_at_10 == 1.0
    assert all(r.p95_ms >= r.mean_ms * 0.5 > 0 for r in results)
    assert "embed" in stages and len(list((tmp_path / "eval").glob("*.npy"))) == 1

    stages.clear()
    with evaluate.throwaway_store("sqlite") as store:
        again = evaluate.evaluate(dataset, store, embedder, cache_dir=tmp_path,
                                  on_progress=lambda stage, count, total: stages.append(stage))
    assert "embed" not in stages and "vectors (cached)" in stages
    assert [r.ndcg_at_10 for r in again] == [r.ndcg_at_10 for r in results]
    assert evaluate.table(again)[0].split() == ["method", "nDCG@10", "R@100", "MRR@10", "mean", "ms", "p95", "ms"]
