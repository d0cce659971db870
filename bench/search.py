"""Search quality on BEIR SciFact and search latency at scale (numbers in docs/search.md).

    python bench/search.py scifact --data /path/to/scifact [--cache /tmp/pw-bench]
    python bench/search.py scale --papers 75000 [--data /path/to/scifact]
    python bench/search.py embed --data /path/to/scifact

`scifact` tunes the fusion weight on the train split and reports every method on
test (nDCG@10, Recall@100, MRR@10, mean/p95 latency per query). Corpus vectors
are cached in --cache, so a second run takes seconds. `scale` builds indexes of
--papers papers by repeating the SciFact corpus (keyword side) and jittering its
vectors (meaning side) and times whole hybrid queries. `embed` measures
abstracts/s at 128 and 256 tokens and the cosine against the shipped graph.
The data set is not in the repository: BEIR's scifact.zip unpacked.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from paperwire.search import embed, fusion, metrics
from paperwire.search.embed import Embedder
from paperwire.search.keywords import KeywordIndex, PaperFields
from paperwire.search.query import parse
from paperwire.search.vectors import VectorIndex

WEIGHTS = np.round(np.arange(0.1, 0.95, 0.05), 2)


def load(data: Path):
    papers = [json.loads(line) for line in open(data / "corpus.jsonl")]
    queries = {q["_id"]: q["text"] for q in map(json.loads, open(data / "queries.jsonl"))}
    position = {p["_id"]: i for i, p in enumerate(papers)}
    qrels = {}
    for split in ("train", "test"):
        judged = defaultdict(dict)
        for row in csv.DictReader(open(data / "qrels" / f"{split}.tsv"), delimiter="\t"):
            judged[row["query-id"]][position[row["corpus-id"]]] = int(row["score"])
        qrels[split] = dict(judged)
    return papers, queries, qrels


def paper_text(p: dict) -> str:
    return f"{p['title']}. {p['text']}"


def corpus_vectors(papers, embedder: Embedder, cache: Path) -> np.ndarray:
    path = cache / f"scifact-{embedder.model_id.replace(':', '_')}.npy"
    if path.is_file():
        return np.load(path)
    started = time.perf_counter()
    vectors = embedder.embed_documents([paper_text(p) for p in papers])
    print(f"embedded {len(papers)} papers in {time.perf_counter() - started:.0f} s")
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def timed(fn, items):
    results, seconds = {}, []
    for key, item in items:
        started = time.perf_counter()
        results[key] = fn(item)
        seconds.append(time.perf_counter() - started)
    return results, np.array(seconds) * 1000


def score(runs: dict, qrels: dict) -> dict:
    ranked = {q: [pid for pid, _ in runs.get(q, [])] for q in qrels}
    return {
        "nDCG@10": np.mean([metrics.ndcg_at(ranked[q], rel, 10) for q, rel in qrels.items()]),
        "R@100": np.mean([metrics.recall_at(ranked[q], rel, 100) for q, rel in qrels.items()]),
        "MRR@10": np.mean([metrics.mrr_at(ranked[q], rel, 10) for q, rel in qrels.items()]),
    }


def scifact(args) -> None:
    papers, queries, qrels = load(args.data)
    lexical = KeywordIndex.open(None)
    lexical.add([PaperFields(i, p["title"], p["text"]) for i, p in enumerate(papers)])
    embedder = Embedder.load(args.cache / "models", threads=args.threads)
    vectors = VectorIndex(embedder.dim)
    vectors.add(list(range(len(papers))), corpus_vectors(papers, embedder, args.cache))
    depth = 100
    rows = []
    for split in ("train", "test"):
        items = [(q, queries[q]) for q in qrels[split]]
        keyword, keyword_ms = timed(lambda t: lexical.search(parse(t), limit=depth), items)
        query_vectors, embed_ms = timed(embedder.embed_query, items)
        meaning, meaning_ms = timed(lambda v: vectors.search(v, limit=depth), query_vectors.items())
        dense_ms = embed_ms + meaning_ms
        both = [(q, (keyword[q], meaning[q])) for q, _ in items]
        rrf, rrf_ms = timed(lambda pair: fusion.rrf(pair), both)
        rows += [(split, "BM25", score(keyword, qrels[split]), keyword_ms),
                 (split, "MiniLM dense", score(meaning, qrels[split]), dense_ms),
                 (split, "RRF (k=60)", score(rrf, qrels[split]), keyword_ms + dense_ms + rrf_ms)]
        for method in ("minmax", "zscore"):
            for weight in WEIGHTS:
                fused, fuse_ms = timed(
                    lambda pair: fusion.convex(pair, [1 - weight, weight], method=method), both)
                rows.append((split, f"convex {method} w={weight:.2f}", score(fused, qrels[split]),
                             keyword_ms + dense_ms + fuse_ms))
    train = {name: result["nDCG@10"] for split, name, result, _ in rows if split == "train"}
    shown = {"BM25", "MiniLM dense", "RRF (k=60)"}
    for method in ("minmax", "zscore"):
        best = max((n for n in train if n.startswith(f"convex {method}")), key=train.get)
        shown |= {best, f"convex {method} w=0.50"}
        print(f"train split picks {best} (train nDCG@10 {train[best]:.4f})")
    print(f"\n| split | method | nDCG@10 | R@100 | MRR@10 | mean ms | p95 ms |\n|---|---|---|---|---|---|---|")
    for split, name, result, ms in rows:
        if name not in shown:
            continue
        print(f"| {split} | {name} | {result['nDCG@10']:.4f} | {result['R@100']:.4f} | "
              f"{result['MRR@10']:.4f} | {ms.mean():.2f} | {np.percentile(ms, 95):.2f} |")


def scale(args) -> None:
    papers, queries, qrels = load(args.data)
    repeats = -(-args.papers // len(papers))
    started = time.perf_counter()
    lexical = KeywordIndex.open(None)
    batch = [PaperFields(i, p["title"], p["text"]) for i, p in enumerate(papers)]
    lexical.add(batch)
    per_paper_s = (time.perf_counter() - started) / len(papers)
    for r in range(1, repeats):  # the same analysed papers again: only ids differ
        lexical.add([PaperFields(pid + r * len(papers), f.title, f.abstract) for pid, f in enumerate(batch)][: args.papers - r * len(papers)])
    lexical.commit()
    embedder = Embedder.load(args.cache / "models", threads=args.threads)
    base = corpus_vectors(papers, embedder, args.cache)
    rng = np.random.default_rng(0)
    vectors = VectorIndex(embedder.dim, threads=args.threads)
    started = time.perf_counter()
    for r in range(repeats):
        chunk = base + rng.normal(scale=0.02, size=base.shape).astype(np.float32)
        chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
        count = min(len(papers), args.papers - r * len(papers))
        vectors.add(list(range(r * len(papers), r * len(papers) + count)), chunk[:count])
    build_s = time.perf_counter() - started
    print(f"{len(lexical)} papers; keyword index {per_paper_s * 1000:.2f} ms/paper to analyse; "
          f"vector index ({'exact' if vectors.is_exact else 'HNSW'}) built in {build_s:.0f} s")
    texts = [queries[q] for q in qrels["test"]]
    stages = defaultdict(list)
    for text in texts:
        t0 = time.perf_counter()
        query = parse(text)
        keyword = lexical.search(query, limit=100)
        t1 = time.perf_counter()
        vector = embedder.embed_query(query.text)
        t2 = time.perf_counter()
        meaning = vectors.search(vector, limit=100)
        t3 = time.perf_counter()
        fusion.convex([keyword, meaning], [0.5, 0.5])
        t4 = time.perf_counter()
        for name, ms in (("BM25", t1 - t0), ("embed query", t2 - t1), ("vector search", t3 - t2),
                         ("fusion", t4 - t3), ("hybrid total", t4 - t0)):
            stages[name].append(ms * 1000)
    for name, ms in stages.items():
        print(f"{name:14s} median {np.median(ms):6.2f} ms  p95 {np.percentile(ms, 95):6.2f} ms")


def embedding_speed(args) -> None:
    import onnxruntime as ort

    papers, _, _ = load(args.data)
    texts = [paper_text(p) for p in papers[: args.sample]]
    for max_tokens in (128, 256):
        embedder = Embedder.load(args.cache / "models", threads=args.threads, max_tokens=max_tokens)
        embedder.embed_documents(texts[:16])
        started = time.perf_counter()
        ours = embedder.embed_documents(texts)
        rate = len(texts) / (time.perf_counter() - started)
        shipped = Embedder(embedder.model_id, embedder.dim, max_tokens,
                           ort.InferenceSession(str(embed.source_model_path()), providers=["CPUExecutionProvider"]),
                           embedder._tokenizer)
        started = time.perf_counter()
        reference = shipped.embed_documents(texts)
        shipped_rate = len(texts) / (time.perf_counter() - started)
        cosine = np.sum(ours * reference, axis=1)
        print(f"{max_tokens} tokens: {rate:.1f} abstracts/s (shipped graph {shipped_rate:.1f}/s); "
              f"cosine to shipped graph min {cosine.min():.4f} mean {cosine.mean():.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["scifact", "scale", "embed"])
    parser.add_argument("--data", type=Path, required=True, help="the unpacked BEIR scifact folder")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/paperwire-bench"))
    parser.add_argument("--papers", type=int, default=75_000)
    parser.add_argument("--sample", type=int, default=384, help="abstracts for `embed`")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    {"scifact": scifact, "scale": scale, "embed": embedding_speed}[args.command](args)


if __name__ == "__main__":
    main()
