"""Choose the search engines by measurement (issue #9): today's indexes against the candidates.

    .venv/bin/python bench/engines.py [keyword] [vectors] [--corpus PATH] [--scale 300000]
                                      [--queries 300] [--random 74728 1000000] [--skip-scale]

`keyword`: the shipped keyword index (search/keywords.py, tantivy; it replaced
search/lexical.py after this bench compared the two, docs/search-engines.md):
SciFact test nDCG@10 for the keyword side alone
and fused with the meaning side through the product's fusion (engine.py's
convex z-score, DENSE_WEIGHT); on the shared arXiv corpus (papers less every
100th, held out for queries, as bench/search_e2e.py), build rate, disk size,
latency p50/p95 of a count + top-20 over realistic queries (titles, fragments,
keywords, author:, phrases, -exclusions, cat:, sort=newest), exact match
counts of phrases against a regex scan of titles and abstracts, the memory of
one and of four processes that open the saved index (Rss and Pss from
/proc/<pid>/smaps_rollup: Pss counts a shared page once across them), and the
build rate at --scale papers (perturbed copies, as search_e2e does).

`keyword` also scores the meaning side on SciFact with float32 vectors (exact),
int8 codes (exact) and vectors.py's int8 graph, alone and fused.

`vectors`: the HNSW graph vectors.py used before (hnswlib, float32, a private
copy per process) against the one it uses now (usearch, int8 codes, one file
every process maps): recall@100 against an exact float scan (the oracle),
latency, build time, disk size and the memory of 1 and 4 processes, on
--random sizes of random unit vectors (queries: papers' vectors plus noise).

Prints tables and writes bench/results/engines.json. Each part takes a few
minutes on 2 shared cores at 75k papers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import search_e2e  # noqa: E402

from paperwire.papers import Paper  # noqa: E402
from paperwire.search import engine, evaluate, fusion, metrics  # noqa: E402
from paperwire.search.fusion import top  # noqa: E402
from paperwire.search.keywords import KeywordIndex  # noqa: E402
from paperwire.search.query import parse  # noqa: E402
from paperwire.search.text import stemmer, words  # noqa: E402
from paperwire.search import vectors  # noqa: E402
from paperwire.search.vectors import VectorIndex  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# shared/ sits beside the checkout (or beside the folder of worktrees)
SHARED = next((p / "shared" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared").is_dir()), ROOT.parent / "shared")
SCIFACT = SHARED / "data" / "scifact"
RESULTS = Path(__file__).parent / "results" / "engines.json"
CACHE = Path(os.environ.get("PAPERWIRE_CACHE_DIR", "~/.cache/paperwire")).expanduser()
DEPTH = 100  # each side's candidates, as engine.CANDIDATE_COUNT
PAGE = 20
BUILD_BATCH = 10_000  # papers per add, as engine.SYNC_BATCH_SIZE
PROCESSES = 4
PHRASES = [  # the examples and a few of the corpus's common phrases
    "test-time scaling", "retrieval augmented generation", "large language models", "diffusion models",
    "graph neural network", "reinforcement learning from human feedback", "chain of thought",
    "vision transformer", "knowledge distillation", "mixture of experts",
]
EXTRA_QUERIES = [
    ('"test-time scaling"', "relevance"), ('"test-time scaling"', "newest"),
    ('"retrieval augmented generation" -survey', "relevance"), ('"retrieval augmented generation" -survey', "newest"),
    ("diffusion -video cat:cs.CV", "relevance"), ("cat:cs.CL", "newest"), ("language models cat:cs.CL", "newest"),
    ('"chain of thought" reasoning', "relevance"), ("transformer year:2025", "relevance"),
    ("segmentation has:code", "relevance"), ("author:wang", "newest"), ('author:"yang liu" diffusion', "relevance"),
]


# --- SciFact: quality ---------------------------------------------------------
def scifact_quality(embedder) -> dict:
    """nDCG@10 on SciFact test of each keyword engine alone and fused, and of the
    meaning side with float32 and with int8 vectors."""
    dataset = evaluate.load(SCIFACT)
    papers = [Paper(evaluate.eval_id(i), t, x, source="eval") for i, (_, t, x) in enumerate(dataset.documents)]
    fields = [engine.paper_fields(i, p) for i, p in enumerate(papers)]
    keywords = KeywordIndex.open(None)
    keywords.add(fields)
    vectors = scifact_vectors(dataset, embedder)
    codes, scales = quantise(vectors)
    queries = {q: parse(evaluate.plain_query(t)) for q, t in dataset.queries.items()}
    q_vectors = {q: embedder.embed_query(query.text) for q, query in queries.items()}
    sides = {
        "keywords.py": {q: keywords.search(query, limit=DEPTH) for q, query in queries.items()},
        "float32": {q: top(np.arange(len(vectors)), vectors @ v, DEPTH) for q, v in q_vectors.items()},
        "int8": {q: top(np.arange(len(vectors)), (codes @ v) * scales, DEPTH) for q, v in q_vectors.items()},
        "usearch i8 graph": {q: graph.search(v, limit=DEPTH) for graph in [_graph_of(vectors)] for q, v in q_vectors.items()},
    }
    doc = [d[0] for d in dataset.documents]

    def ndcg(rankings) -> float:
        return round(float(np.mean([metrics.ndcg_at([doc[p] for p, _ in rankings[q]], dataset.qrels[q], 10)
                                    for q in queries])), 4)

    def fused(keyword, meaning):
        return {q: fusion.convex([keyword[q], meaning[q]], [1 - engine.DENSE_WEIGHT, engine.DENSE_WEIGHT],
                                 method=engine.FUSION_NORMALISATION) if keyword[q] else meaning[q] for q in queries}

    result = {f"{name} alone": ndcg(ranks) for name, ranks in sides.items()}
    for kw in ("keywords.py",):
        for vec in ("float32", "int8", "usearch i8 graph"):
            result[f"{kw} + {vec} hybrid"] = ndcg(fused(sides[kw], sides[vec]))
    return result


def _graph_of(data: np.ndarray) -> VectorIndex:
    """vectors.py's int8 graph over `data`, however few (SciFact is under HNSW_MIN_COUNT)."""
    exact_under = vectors.HNSW_MIN_COUNT
    vectors.HNSW_MIN_COUNT = 0
    try:
        return _shipped(data)
    finally:
        vectors.HNSW_MIN_COUNT = exact_under


def scifact_vectors(dataset, embedder) -> np.ndarray:
    """The corpus vectors `paperwire eval` cached (it embeds them on its first run)."""
    import hashlib

    key = hashlib.blake2b(embedder.model_id.encode(), digest_size=6).hexdigest()
    path = CACHE / "eval" / f"{dataset.corpus_hash[:16]}-{key}.npy"
    if not path.is_file():
        sys.exit(f"{path} is missing: run `paperwire eval {SCIFACT}` once to embed SciFact")
    return np.load(path)


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes and a float32 scale per row (symmetric, the row's largest component -> 127)."""
    scales = np.abs(vectors).max(axis=1) / 127
    scales[scales == 0] = 1
    return np.round(vectors / scales[:, None]).astype(np.int8), scales.astype(np.float32)


# --- arXiv: speed, counts, size ------------------------------------------------
def keyword_arxiv(kept, held, workdir: Path, query_count: int) -> dict:
    fields = [engine.paper_fields(i, p) for i, p in enumerate(kept, start=1)]
    out = {"papers": len(fields)}
    index, out["keywords.py build s"] = timed_once(lambda: build_keywords(workdir / "keywords", fields))
    out["keywords.py MiB on disk"] = mib(sum(f.stat().st_size for f in (workdir / "keywords").iterdir()))
    queries = [(t, "relevance") for _, t in search_e2e.make_queries(held, query_count)] + EXTRA_QUERIES
    run = lambda t, s: keyword_page(index, parse(t), s)  # noqa: E731
    run(*queries[0])
    ms = []
    for text, sort in queries:
        started = time.perf_counter()
        run(text, sort)
        ms.append((time.perf_counter() - started) * 1000)
    out["keywords.py p50 ms"] = round(float(np.percentile(ms, 50)), 2)
    out["keywords.py p95 ms"] = round(float(np.percentile(ms, 95)), 2)
    out["extra queries (count)"] = {f"{t} [{s}]": run(t, s)[0] for t, s in EXTRA_QUERIES}
    texts = [f"{f.title}\n{f.abstract}" for f in fields]
    stems = [stemmer.stemWords(words(t)) for t in texts]
    out["phrase counts (regex / stemmed scan / keywords.py)"] = {
        p: [regex_count(texts, p), stemmed_count(stems, p), run(f'"{p}"', "relevance")[0]] for p in PHRASES}
    return out


def stemmed_count(stems: list[list[str]], phrase: str) -> int:
    """The oracle of the phrase semantics: papers whose stemmed words hold the
    phrase's stemmed words side by side (text.contains_phrase, each text stemmed once)."""
    needle = stemmer.stemWords(words(phrase))
    size = len(needle)
    return sum(1 for hay in stems if any(hay[i : i + size] == needle for i, w in enumerate(hay) if w == needle[0]))


def build_keywords(folder: Path, fields) -> KeywordIndex:
    """The index as engine.sync builds it: one commit per batch."""
    index = KeywordIndex.create(folder)
    for start in range(0, len(fields), BUILD_BATCH):
        index.add(fields[start : start + BUILD_BATCH])
        index.commit()
    return index


def keyword_page(index: KeywordIndex, query, sort: str):
    """engine.run_query's keyword side: every match counted, a page by BM25 or newest."""
    if sort == "newest":
        return index.newest(query, offset=0, limit=PAGE)
    count, ranked = index.ranked(query, depth=PAGE)
    return count, [pid for pid, _ in ranked]


def regex_count(texts: list[str], phrase: str) -> int:
    """Papers whose title or abstract has `phrase`, words apart by spaces or hyphens, any case."""
    pattern = re.compile(r"\b" + r"[\s\-]+".join(map(re.escape, re.findall(r"\w+", phrase))) + r"\b", re.I)
    return sum(1 for t in texts if pattern.search(t))


def scale_build(kept, count: int, workdir: Path) -> dict:
    """Papers/s of each engine's build over `count` papers (the corpus and perturbed copies)."""
    papers = list(kept) + [p for batch in search_e2e.copies(kept, max(count - len(kept), 0)) for _, p in batch]
    fields = [engine.paper_fields(i, p) for i, p in enumerate(papers, start=1)]
    out = {"papers": len(fields)}
    out["keywords.py build s"] = timed_once(lambda: build_keywords(workdir / "keywords-scale", fields))[1]
    out["keywords.py MiB on disk"] = mib(sum(f.stat().st_size for f in (workdir / "keywords-scale").iterdir()))
    return out


# --- memory of processes that open the same files -------------------------------
def memory(kind: str, path: Path, queries: list[str]) -> dict:
    """Rss and Pss (MiB) of 1 and of PROCESSES processes that open `path` and run `queries`."""
    out = {}
    for count in (1, PROCESSES):
        children = [subprocess.Popen([sys.executable, __file__, "--serve", kind, str(path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True) for _ in range(count)]
        for child in children:
            child.stdin.write("\n".join(queries) + "\n\n")
            child.stdin.flush()
        for child in children:
            assert child.stdout.readline().strip() == "ready"
        rollups = [smaps_rollup(child.pid) for child in children]
        for child in children:
            child.stdin.close()
            child.wait()
        out[f"{count} process(es)"] = {
            "rss_mib_each": [mib(r["Rss"] * 1024) for r in rollups],
            "pss_mib_total": mib(sum(r["Pss"] for r in rollups) * 1024),
            "rss_mib_total": mib(sum(r["Rss"] for r in rollups) * 1024),
            "shared_mib_each": [mib((r["Shared_Clean"] + r["Shared_Dirty"]) * 1024) for r in rollups],
        }
    return out


def smaps_rollup(pid: int) -> dict[str, int]:
    """/proc/<pid>/smaps_rollup as {field: kB}."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0])
    return fields


def serve(kind: str, path: Path) -> None:
    """A child of `memory`: open the index, run the queries read from stdin, say ready, wait."""
    queries = list(iter(lambda: sys.stdin.readline().rstrip("\n"), ""))
    if kind == "python":  # the imports alone: what every process has before any index
        run = lambda q: parse(q)  # noqa: E731
    elif kind == "keywords.py":
        index = KeywordIndex.open(path)
        run = lambda q: keyword_page(index, parse(q), "relevance")  # noqa: E731
    elif kind == "hnswlib":
        import hnswlib

        index = hnswlib.Index(space="ip", dim=384)
        index.load_index(str(path))
        run = lambda q: index.knn_query(_query_vector(384, q), k=DEPTH, num_threads=1)  # noqa: E731
    else:
        index = VectorIndex.load(path)
        run = lambda q: index.search(_query_vector(index.dim, q), limit=DEPTH)  # noqa: E731
    for q in queries:
        run(q)
    print("ready", flush=True)
    sys.stdin.read()


def _query_vector(dim: int, text: str) -> np.ndarray:
    v = np.random.default_rng(abs(hash(text)) % 2**32).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


# --- vectors ------------------------------------------------------------------
def vectors_part(sizes: list[int], workdir: Path) -> list[dict]:
    """hnswlib float32 in each process (vectors.py before) against vectors.py's int8
    usearch graph in a mapped file, on random unit vectors."""
    rows = []
    rng = np.random.default_rng(3)
    for n in sizes:
        data = rng.standard_normal((n, 384)).astype(np.float32)
        data /= np.linalg.norm(data, axis=1, keepdims=True)
        # queries near papers (a paper's vector plus noise), as real queries are near their answers
        queries = data[rng.choice(n, 100, replace=False)] + rng.standard_normal((100, 384)).astype(np.float32) * 0.03
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        truth = [set(np.argpartition(-(data @ q), DEPTH)[:DEPTH].tolist()) for q in queries]
        row = {"vectors": n}
        before, row["hnswlib f32 build s"] = timed_once(lambda: _hnswlib(data))
        before.save_index(str(workdir / "vectors.hnsw"))
        row["hnswlib f32 MiB on disk"] = mib((workdir / "vectors.hnsw").stat().st_size)
        shipped, row["usearch i8 build s"] = timed_once(lambda: _shipped(data))
        row["usearch i8 save s"] = timed_once(lambda: shipped.save(workdir / "vectors.npz"))[1]
        row["usearch i8 MiB on disk"] = mib(sum(f.stat().st_size for f in workdir.glob("vectors.npz*")))
        mapped = VectorIndex.load(workdir / "vectors.npz")
        for name, run in (("hnswlib f32", lambda q: before.knn_query(q, k=DEPTH, num_threads=1)[0][0].tolist()),
                          ("usearch i8", lambda q: [p for p, _ in mapped.search(q, limit=DEPTH)])):
            ms, recall = [], []
            for q, want in zip(queries, truth):
                started = time.perf_counter()
                found = run(q)
                ms.append((time.perf_counter() - started) * 1000)
                recall.append(len(want & set(int(k) for k in found)) / DEPTH)
            row[f"{name} p50 ms"] = round(float(np.percentile(ms, 50)), 2)
            row[f"{name} p95 ms"] = round(float(np.percentile(ms, 95)), 2)
            row[f"{name} recall@100"] = round(float(np.mean(recall)), 4)
        names = [f"q{i}" for i in range(50)]
        row["hnswlib f32 memory"] = memory("hnswlib", workdir / "vectors.hnsw", names)
        row["usearch i8 memory"] = memory("usearch", workdir / "vectors.npz", names)
        print(json.dumps(row, indent=1), flush=True)
        rows.append(row)
        del before, shipped, mapped, data
    return rows


def _hnswlib(data):
    """The graph vectors.py built before (same M, ef_construction, ef)."""
    import hnswlib

    graph = hnswlib.Index(space="ip", dim=data.shape[1])
    graph.init_index(max_elements=len(data), M=vectors.HNSW_M, ef_construction=vectors.HNSW_EF_CONSTRUCTION)
    graph.set_num_threads(os.cpu_count())
    graph.add_items(data, np.arange(len(data)))
    graph.set_ef(vectors.HNSW_EF_SEARCH)
    return graph


def _shipped(data, *, batch: int = BUILD_BATCH) -> VectorIndex:
    """vectors.py's index, built as sync adds vectors: in batches."""
    index = VectorIndex(data.shape[1], threads=os.cpu_count())
    for start in range(0, len(data), batch):
        index.add(list(range(start, min(start + batch, len(data)))), data[start : start + batch])
    return index


# --- shared -------------------------------------------------------------------
def timed_once(fn):
    started = time.perf_counter()
    value = fn()
    return value, round(time.perf_counter() - started, 1)


def mib(size_bytes: float) -> float:
    return round(size_bytes / 2**20, 1)


def loc(path: Path) -> int:
    """Lines that are not blank, comments or docstrings' prose (a rough count: code lines)."""
    return sum(1 for line in path.read_text().splitlines() if line.strip() and not line.strip().startswith("#"))


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        return serve(sys.argv[2], Path(sys.argv[3]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=["keyword", "vectors"], choices=["keyword", "vectors"])
    parser.add_argument("--corpus", type=Path, default=SHARED / "data" / "arxiv" / "papers.jsonl.gz")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--scale", type=int, default=300_000)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--random", type=int, nargs="*", default=[74_728, 1_000_000])
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results["machine"] = f"{platform.platform()}, {os.cpu_count()} cores"
    with tempfile.TemporaryDirectory(prefix="paperwire-engines-") as tmp:
        workdir = Path(tmp)
        if "keyword" in args.parts:
            results["keyword"] = keyword_part(args, workdir)
        if "vectors" in args.parts:  # rows of other sizes from earlier runs are kept
            rows = {row["vectors"]: row for row in results.get("vectors", [])}
            rows.update({row["vectors"]: row for row in vectors_part(args.random, workdir)})
            results["vectors"] = sorted(rows.values(), key=lambda row: row["vectors"])
    print(json.dumps({k: results[k] for k in args.parts}, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"results written to {RESULTS}")


def keyword_part(args, workdir: Path) -> dict:
    from paperwire.search.embed import Embedder

    embedder = Embedder.load(CACHE / "models", threads=1)
    out = {"scifact ndcg@10": scifact_quality(embedder)}
    print(json.dumps(out, indent=1), flush=True)
    kept, held = search_e2e.read_corpus(args.corpus)
    out["arxiv"] = keyword_arxiv(kept, held, workdir, args.queries)
    print(json.dumps(out["arxiv"], indent=1), flush=True)
    texts = [t for _, t in search_e2e.make_queries(held, 50, seed=3)]
    out["memory"] = {"python and imports only": memory("python", workdir, texts),
                     "keywords.py": memory("keywords.py", workdir / "keywords", texts)}
    print(json.dumps(out["memory"], indent=1), flush=True)
    out["code lines"] = {"keywords.py": loc(ROOT / "paperwire/search/keywords.py")}
    if not args.skip_scale:
        out["scale"] = scale_build(kept, args.scale, workdir)
    return out


if __name__ == "__main__":
    main()
