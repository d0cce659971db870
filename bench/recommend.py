""""For you" quality and speed on the shared arXiv corpus (numbers in docs/library.md).

    python bench/recommend.py [--data /work/shared/data/arxiv/papers.jsonl.gz]
        [--train-month 2025-12] [--test-month 2026-01] [--users-per-topic 2] [--pool 100000]

Simulated users: a topic is a pair of arXiv categories that both appear on a
paper (say cs.CV + cs.RO), narrow enough to have 20-150 papers in each month.
Categories are not features any model sees (they see title, abstract and the
embedding of both). A user's library is 1, 5 or 20 topic papers of the train
month; the right answers are the topic's papers of the test month, and every
test-month paper is a candidate. Each method ranks the candidates; we report
precision@20 and nDCG@20 averaged over users, in the same run:

* `newest`: newest first (announcement day, then id), what a plain feed shows;
* `svm-tfidf`: arxiv-sanity-lite's method (serve.py `svm_rank`): TF-IDF with its
  settings (compute.py) over every paper, a LinearSVC(C=0.01,
  class_weight="balanced", max_iter=10000, tol=1e-6) of the library against
  every other paper, ranked by decision function;
* `knn`, `centroid`: cosine of the embedding to the nearest library paper / to
  the library's mean;
* `ours`: paperwire.recommend (logistic regression over embedding + TF-IDF with
  pseudo-negatives; nearest neighbours for one paper);
* `ours-keywords`: the same model when no candidate has a vector yet.

Embeddings: only the test month and the topic papers of the train month are
embedded (the product's Embedder, all-MiniLM-L6-v2), cached under
~/.cache/paperwire-bench/recommend/. Speed: the candidate pool is padded to
--pool papers with perturbed copies of the test month (vectors jittered and
renormalised, a random third of each paper's keywords dropped) and the whole
train + recommend-with-reasons call is timed per user, twice in the same run: with
BLAS's default threads in the fit (the earlier code) and with one (recommend.FIT_BLAS_THREADS).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.svm import LinearSVC

from paperwire import recommend
from paperwire.papers import Author, Paper
from paperwire.search import metrics
from paperwire.search.embed import Embedder

DATA = Path("/work/shared/data/arxiv/papers.jsonl.gz")
CACHE = Path("~/.cache/paperwire-bench/recommend").expanduser()
RESULTS = Path(__file__).parent / "results" / "recommend.json"
LIBRARY_SIZES = (1, 5, 20)
TOPIC_SIZE = (20, 150)  # topic papers per month, both months
K = 20
EMBED_TOKENS = 128  # the model's training length; halves the time of the product's 256


def load(data: Path, months: tuple[str, ...]) -> dict[str, list[Paper]]:
    by_month = defaultdict(list)
    with gzip.open(data, "rt") as lines:
        for line in lines:
            record = json.loads(line)
            month = record["published"][:7]
            if month in months:
                by_month[month].append(_paper(record))
    return by_month


def _paper(record: dict) -> Paper:
    day = datetime.fromisoformat(record["published"]).replace(tzinfo=timezone.utc)
    return Paper(
        arxiv_id=record["id"], title=record["title"], abstract=record["abstract"],
        authors=tuple(Author(a) for a in record["authors"]), categories=tuple(record["categories"]),
        primary_category=record["categories"][0], published_at=day, source="bench",
    )


def topics(train: list[Paper], test: list[Paper]) -> dict[tuple[str, str], tuple[list, set]]:
    """Category pairs with TOPIC_SIZE papers in both months: (train papers, test ids)."""
    def pairs(papers):
        found = defaultdict(list)
        for paper in papers:
            for pair in itertools.combinations(sorted(set(paper.categories)), 2):
                found[pair].append(paper)
        return found
    low, high = TOPIC_SIZE
    train_pairs, test_pairs = pairs(train), pairs(test)
    return {
        pair: (train_pairs[pair], {p.arxiv_id for p in test_pairs[pair]})
        for pair in sorted(train_pairs)
        if low <= len(train_pairs[pair]) <= high and low <= len(test_pairs.get(pair, ())) <= high
    }


def vectors_for(papers: list[Paper]) -> dict[str, np.ndarray]:
    """Embeddings of `papers`, from the cache where present; the rest are embedded and cached."""
    from paperwire.search.pipeline import paper_text

    embedder = Embedder.load(max_tokens=EMBED_TOKENS)
    path = CACHE / f"{embedder.model_id.replace(':', '_')}.npz"
    cached = dict(np.load(path)) if path.is_file() else {}
    missing = [p for p in papers if p.arxiv_id not in cached]
    if missing:
        started = time.perf_counter()
        for start in range(0, len(missing), 256):
            chunk = missing[start:start + 256]
            cached.update(zip((p.arxiv_id for p in chunk), embedder.embed_documents([paper_text(p) for p in chunk])))
            CACHE.mkdir(parents=True, exist_ok=True)
            np.savez(path, **cached)
            print(f"  embedded {start + len(chunk)}/{len(missing)} in {time.perf_counter() - started:.0f} s", flush=True)
    return {p.arxiv_id: cached[p.arxiv_id] for p in papers}


def users(topic_papers: dict, count: int, seed: int = 7):
    """(topic, library size, library papers) for `count` users per topic and size."""
    rng = np.random.default_rng(seed)
    for topic, (train_papers, _) in topic_papers.items():
        for size in LIBRARY_SIZES:
            for _ in range(count):
                chosen = rng.choice(len(train_papers), size=min(size, len(train_papers)), replace=False)
                yield topic, size, [train_papers[i] for i in sorted(chosen)]


def rank_newest(pool: recommend.Features, published: dict[str, datetime]) -> list[str]:
    return sorted(pool.arxiv_ids, key=lambda i: (published[i], i), reverse=True)


def rank_svm(x_all: sp.csr_matrix, library_rows: np.ndarray, pool_rows: np.ndarray, ids) -> list[str]:
    # arxiv-sanity-lite serve.py svm_rank: every paper in the database is a negative
    # except the tagged ones.
    labels = np.zeros(x_all.shape[0])
    labels[library_rows] = 1
    svm = LinearSVC(class_weight="balanced", max_iter=10000, tol=1e-6, C=0.01)
    scores = svm.fit(x_all, labels).decision_function(x_all[pool_rows])
    return [ids[pool_rows[i]] for i in np.argsort(-scores, kind="stable")]


def rank_by(scores: np.ndarray, ids) -> list[str]:
    return [ids[i] for i in np.argsort(-scores, kind="stable")]


def rank_ours(library: recommend.Features, pool: recommend.Features) -> list[str]:
    model = recommend.train(library, pool)
    return [r.arxiv_id for r in recommend.recommend(model, pool, limit=K)]


def without_vectors(features: recommend.Features) -> recommend.Features:
    return recommend.Features(
        features.arxiv_ids, np.zeros_like(features.vectors),
        np.zeros(len(features), bool), features.keywords,
    )


def padded(pool: recommend.Features, size: int, seed: int = 3) -> recommend.Features:
    """`pool` plus perturbed copies of it up to `size` papers."""
    rng = np.random.default_rng(seed)
    copies = max(0, size - len(pool))
    source = rng.integers(0, len(pool), copies)
    vectors = pool.vectors[source] + rng.normal(0, 0.02, (copies, pool.vectors.shape[1])).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    words = pool.keywords[source].tocsr(copy=True)
    words.data *= rng.random(len(words.data)) > 1 / 3
    words.eliminate_zeros()
    norms = np.sqrt(np.asarray(words.multiply(words).sum(axis=1))).ravel()
    words = sp.diags(1 / np.maximum(norms, 1e-12)) @ words
    return recommend.Features(
        pool.arxiv_ids + tuple(f"pad{n}" for n in range(copies)),
        np.vstack([pool.vectors, vectors]), np.r_[pool.has_vector, np.ones(copies, bool)],
        sp.vstack([pool.keywords, words], format="csr").astype(np.float32),
    )


def evaluate(rankings: dict[str, list[str]], relevant: set[str]) -> dict[str, tuple[float, float]]:
    judged = {i: 1 for i in relevant}
    return {
        method: (len(set(ranking[:K]) & relevant) / K, metrics.ndcg_at(ranking, judged, K))
        for method, ranking in rankings.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--train-month", default="2025-12")
    parser.add_argument("--test-month", default="2026-01")
    parser.add_argument("--users-per-topic", type=int, default=2)
    parser.add_argument("--pool", type=int, default=100_000)
    parser.add_argument("--svm-timed-users", type=int, default=2)
    args = parser.parse_args()

    by_month = load(args.data, (args.train_month, args.test_month))
    train, test = by_month[args.train_month], by_month[args.test_month]
    topic_papers = topics(train, test)
    library_papers = {p.arxiv_id: p for papers, _ in topic_papers.values() for p in papers}
    print(f"train {args.train_month}: {len(train)} papers, test {args.test_month}: {len(test)}; "
          f"{len(topic_papers)} topics: {', '.join('+'.join(t) for t in topic_papers)}")
    vectors = vectors_for(test + list(library_papers.values()))

    # One vocabulary, arxiv-sanity-lite's, over every paper of both months, for every method.
    everything = train + test
    keywords = recommend.Keywords.fit([recommend.paper_words(p) for p in everything], min_df=5, max_df=0.1)
    x_all = keywords.transform([recommend.paper_words(p) for p in everything])
    row_of = {p.arxiv_id: n for n, p in enumerate(everything)}
    ids_all = [p.arxiv_id for p in everything]
    pool = recommend.Features.build(test, vectors, keywords)
    pool_rows = np.array([row_of[i] for i in pool.arxiv_ids])
    pool_keywords_only = without_vectors(pool)
    published = {p.arxiv_id: p.published_at for p in test}
    newest = rank_newest(pool, published)
    big = padded(pool, args.pool)
    print(f"candidate pool for timing: {len(big)} papers ({len(big) - len(pool)} perturbed copies)")

    table = defaultdict(list)
    timings, cpu = defaultdict(list), defaultdict(list)
    before = []  # ms per user with BLAS's default threads in the fit (the earlier code)
    for topic, size, library_list in users(topic_papers, args.users_per_topic):
        library = recommend.Features.build(library_list, vectors, keywords)
        library_rows = np.array([row_of[p.arxiv_id] for p in library_list])
        centroid = library.vectors.mean(axis=0)
        rankings = {
            "newest": newest,
            "svm-tfidf": rank_svm(x_all, library_rows, pool_rows, ids_all),
            "knn": rank_by((pool.vectors @ library.vectors.T).max(axis=1), pool.arxiv_ids),
            "centroid": rank_by(pool.vectors @ centroid, pool.arxiv_ids),
            "ours": rank_ours(library, pool),
            "ours-keywords": rank_ours(without_vectors(library), pool_keywords_only),
        }
        for method, result in evaluate(rankings, topic_papers[topic][1]).items():
            table[(method, size)].append(result)
            table[(method, "all")].append(result)
        # Before and after in the same run, alternating which goes first: BLAS with its
        # default threads while fitting, and held to recommend.FIT_BLAS_THREADS.
        for variant in (("default", "one") if len(before) % 2 else ("one", "default")):
            recommend.FIT_BLAS_THREADS = None if variant == "default" else 1
            started, cpu_started = time.perf_counter(), time.process_time()
            recommend.recommend(recommend.train(library, big), big, limit=K)
            elapsed = (time.perf_counter() - started) * 1000
            if variant == "default":
                before.append(elapsed)
                continue
            timings[size].append(elapsed)
            cpu[size].append((time.process_time() - cpu_started) * 1000)
        recommend.FIT_BLAS_THREADS = 1
    svm_ms = time_svm(x_all, keywords, big, train, args.svm_timed_users, topic_papers, row_of)
    report(table, timings, cpu, svm_ms, args, len(topic_papers), len(test), len(big), before)


def time_svm(x_all, keywords, big, train, count, topic_papers, row_of) -> list[float]:
    """arxiv-sanity-lite's SVM over the padded pool plus the train month, for a few users."""
    x_big = sp.vstack([x_all[: len(train)], big.keywords], format="csr")
    seconds = []
    for _, _, library_list in itertools.islice(users(topic_papers, 1), 1, 3 * count, 3):
        rows = np.array([row_of[p.arxiv_id] for p in library_list])
        started = time.perf_counter()
        rank_svm(x_big, rows, np.arange(len(train), x_big.shape[0]), list(range(x_big.shape[0])))
        seconds.append((time.perf_counter() - started) * 1000)
    return seconds


def report(table, timings, cpu, svm_ms, args, topic_count, test_count, pool_size, before) -> None:
    methods = list(dict.fromkeys(method for method, _ in table))
    columns = [*LIBRARY_SIZES, "all"]
    header = "method".ljust(14) + "".join(f"{f'P@{K} n={c}':>11}{f'nDCG n={c}':>12}" for c in columns)
    print(header)
    results = {}
    for method in methods:
        cells, results[method] = "", {}
        for column in columns:
            precision, ndcg = np.mean(table[(method, column)], axis=0)
            results[method][str(column)] = {f"precision@{K}": round(float(precision), 4), f"ndcg@{K}": round(float(ndcg), 4),
                                            "users": len(table[(method, column)])}
            cells += f"{precision:>11.3f}{ndcg:>12.3f}"
        print(method.ljust(14) + cells)
    every = [t for size in timings for t in timings[size]]
    every_cpu = [t for size in cpu for t in cpu[size]]
    load = os.getloadavg()[0]
    print(f"ours, train + top {K} with reasons over {pool_size} candidates: "
          f"median {np.median(every):.0f} ms, p95 {np.percentile(every, 95):.0f} ms, max {max(every):.0f} ms per user "
          f"({len(every)} users); CPU time median {np.median(every_cpu):.0f} ms; "
          f"arxiv-sanity-lite SVM over the same pool: median {np.median(svm_ms):.0f} ms "
          f"({len(svm_ms)} users); load average {load:.1f} on {os.cpu_count()} CPUs")
    print(f"the same with BLAS's default threads in the fit (before): median {np.median(before):.0f} ms, "
          f"p95 {np.percentile(before, 95):.0f} ms per user")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "train_month": args.train_month, "test_month": args.test_month, "topics": topic_count,
        "users_per_topic_and_size": args.users_per_topic, "test_papers": test_count,
        "embed_tokens": EMBED_TOKENS, "results": results,
        "ms_per_user": {"pool": pool_size, "median": round(float(np.median(every)), 1),
                        "p95": round(float(np.percentile(every, 95)), 1), "max": round(float(max(every)), 1),
                        "by_library_size": {str(s): round(float(np.median(t)), 1) for s, t in timings.items()},
                        "cpu_median": round(float(np.median(every_cpu)), 1),
                        "svm_tfidf_median": round(float(np.median(svm_ms)), 1),
                        "blas_default_threads_median": round(float(np.median(before)), 1),
                        "blas_default_threads_p95": round(float(np.percentile(before, 95)), 1),
                        "load_average": round(load, 1), "cpus": os.cpu_count()},
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()
