"""Searches per second of N threads sharing one SearchService, with the follower idle and
while it applies a stream of new papers (issue #15: one lock held for a whole search).

    .venv/bin/python bench/concurrent_search.py [--papers 10000] [--threads 8] [--seconds 15]
    .venv/bin/python bench/compare.py BASE -- concurrent_search.py      # before / after

A SQLite store of the first `--papers` papers of the shared corpus, keyword indexes
built by the service (no embedder: keyword search, no model time); then `--threads`
threads search titles' words for `--seconds`, first with nothing changing, then
while a writer thread adds WRITE_BATCH papers every WRITE_INTERVAL_SECONDS and runs
the follower's catch-up. Prints a table and writes bench/results/concurrent_search.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from paperwire import ingest
from paperwire.search.service import SearchBusy, SearchService
from paperwire.sources import Batch, files
from paperwire.store import open_store

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "arxiv" / "papers.jsonl.gz"
RESULTS = Path(__file__).parent / "results" / "concurrent_search.json"
WRITE_BATCH = 300
WRITE_INTERVAL_SECONDS = 0.5


def run_phase(service, store, queries, *, threads: int, seconds: float, writer=None) -> dict:
    latencies, busy, stop = [], [0], threading.Event()

    def search(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            started = time.perf_counter()
            try:
                service.search(store, rng.choice(queries), mode="lexical")
            except SearchBusy:
                busy[0] += 1
                continue
            latencies.append(time.perf_counter() - started)

    workers = [threading.Thread(target=search, args=(n,)) for n in range(threads)]
    if writer is not None:
        workers.append(threading.Thread(target=writer, args=(stop,)))
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    ms = np.array(latencies) * 1000 if latencies else np.zeros(1)
    return {"searches_per_s": round(len(latencies) / seconds, 1), "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2), "max_ms": round(float(ms.max()), 1),
            "busy_errors": busy[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    if not args.corpus.is_file():
        sys.exit(f"corpus {args.corpus} not found; pass --corpus PATH")
    papers = []
    for batch in files.fetch([args.corpus]):
        papers.extend(batch.papers)
        if len(papers) >= args.papers * 2:
            break
    first, later = papers[: args.papers], papers[args.papers :]
    rng = random.Random(3)
    queries = [" ".join(rng.sample(p.title.split(), min(3, len(p.title.split())))) for p in rng.sample(first, 500)]
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        ingest.run(store, [Batch(papers=first)], source="bench")
        service = SearchService(Path(tmp) / "indexes")
        started = time.perf_counter()
        service.catch_up(store)
        build_s = time.perf_counter() - started
        pending = list(later)

        def writer(stop: threading.Event) -> None:
            while not stop.is_set() and pending:
                chunk = [pending.pop() for _ in range(min(WRITE_BATCH, len(pending)))]
                ingest.run(store, [Batch(papers=chunk)], source="bench")
                service.catch_up(store)
                stop.wait(WRITE_INTERVAL_SECONDS)

        rows = [
            {"method": f"{args.threads} searchers, follower idle",
             **run_phase(service, store, queries, threads=args.threads, seconds=args.seconds)},
            {"method": f"{args.threads} searchers, follower applying changes",
             **run_phase(service, store, queries, threads=args.threads, seconds=args.seconds, writer=writer)},
            {"method": "1 searcher, follower idle",
             **run_phase(service, store, queries, threads=1, seconds=args.seconds)},
        ]
        store.close()
    print(f"{args.papers} papers, keyword index built in {build_s:.1f} s")
    print(f"{'':50} {'search/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'busy':>6}")
    for row in rows:
        print(f"{row['method']:50} {row['searches_per_s']:9.1f} {row['p50_ms']:8.2f} {row['p95_ms']:8.2f} "
              f"{row['max_ms']:8.1f} {row['busy_errors']:6d}")
    result = {"machine": platform.platform(), "papers": args.papers, "threads": args.threads,
              "seconds": args.seconds, "build_s": round(build_s, 1), "rows": rows}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"runs": [result]}, indent=1) + "\n")


if __name__ == "__main__":
    main()
