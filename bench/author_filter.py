"""The vector side of an `author:` search: reading the allowed papers' vectors out of an
hnswlib graph (get_items: vectors.py before) against vectors.py's usearch int8 graph (`get`),
the same vectors, same run. Needs the `bench` extra (hnswlib).

    .venv/bin/python bench/author_filter.py [--corpus PATH] [--filters 150]

The shared corpus's 74,728 papers with random unit vectors (the graph built with
ef_construction 40: its quality does not matter here), `author:<surname>` filters of
random papers' first authors; for each, the allowed papers' vectors read and scored
both ways (asserted equal to 1e-2: int8 codes). Prints the timings; writes bench/results/author_filter.json.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from paperwire.search import vectors
from paperwire.search.keywords import KeywordIndex, PaperFields
from paperwire.search.query import parse
from paperwire.sources import files

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "arxiv" / "papers.jsonl.gz"
RESULTS = Path(__file__).parent / "results" / "author_filter.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--filters", type=int, default=150)
    args = parser.parse_args()
    papers = [p for batch in files.fetch([args.corpus]) for p in batch.papers]
    lexical = KeywordIndex.open(None)
    lexical.add([PaperFields(i, "", "", authors=tuple(a.name for a in p.authors)) for i, p in enumerate(papers)])
    rng = np.random.default_rng(5)
    matrix = rng.standard_normal((len(papers), 384)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    vectors.HNSW_EF_CONSTRUCTION = 40
    index = vectors.VectorIndex(384, threads=2)
    started = time.perf_counter()
    index.add(list(range(len(papers))), matrix)
    build_s = time.perf_counter() - started
    import hnswlib

    old_graph = hnswlib.Index(space="ip", dim=384)
    old_graph.init_index(max_elements=len(papers), ef_construction=40, M=vectors.HNSW_M)
    old_graph.add_items(matrix, np.arange(len(papers)), num_threads=2)
    query = rng.standard_normal(384).astype(np.float32)
    query /= np.linalg.norm(query)
    before, after, sizes = [], [], []
    for paper in random.Random(7).sample(papers, args.filters):
        if not paper.authors:
            continue
        allowed = np.flatnonzero(lexical.filter_mask(parse(f"author:{paper.authors[0].name.split()[-1]}")))
        if not 0 < len(allowed) <= vectors.EXACT_FILTER_MAX:
            continue
        sizes.append(len(allowed))
        started = time.perf_counter()
        old = np.asarray(old_graph.get_items(allowed.tolist()), dtype=np.float32) @ query
        before.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        new = index.vectors(allowed) @ query
        after.append((time.perf_counter() - started) * 1000)
        assert np.allclose(old, new, atol=1e-2)
    rows = [{"method": name, "p50_ms": round(float(np.percentile(ms, 50)), 2),
             "p95_ms": round(float(np.percentile(ms, 95)), 2), "max_ms": round(max(ms), 1)}
            for name, ms in (("hnswlib get_items (before)", before), ("usearch int8 get (now)", after))]
    print(f"{len(papers)} papers, graph in {build_s:.0f} s; {len(sizes)} author filters, papers allowed: "
          f"median {int(np.median(sizes))}, p95 {int(np.percentile(sizes, 95))}")
    for row in rows:
        print(f"{row['method']:28} p50 {row['p50_ms']:8.2f} ms  p95 {row['p95_ms']:8.2f} ms  max {row['max_ms']:8.1f} ms")
    RESULTS.write_text(json.dumps({"papers": len(papers), "filters": len(sizes),
                                   "allowed_median": int(np.median(sizes)), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
