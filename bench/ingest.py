"""Ingest throughput: parse + store of the arXiv corpus, first pass and re-ingest.

    .venv/bin/python bench/ingest.py [--corpus PATH] [--backend sqlite|postgres|both] [--limit N]

Prints a table and writes bench/results/ingest.json. Parsing alone is measured in
the same run as the baseline, because these machines are noisy: compare ratios.
Targets (issue #2): >= 5,000 papers/s first pass on SQLite, re-ingest >= 3x faster;
(issue #4): >= 3,000 papers/s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

from paperwire import ingest
from paperwire.sources import files
from paperwire.store import open_store

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "arxiv" / "papers.jsonl.gz"
RESULTS = Path(__file__).parent / "results" / "ingest.json"


def _limited(batches, limit: int | None):
    if limit is None:
        return batches
    def gen():
        seen = 0
        for batch in batches:
            yield batch
            seen += len(batch.papers) + len(batch.skipped) + batch.unchanged_count
            if seen >= limit:
                return
    return gen()


def parse_only(corpus: Path, limit: int | None) -> tuple[int, float]:
    started = time.perf_counter()
    count = sum(len(b.papers) for b in _limited(files.fetch([corpus]), limit))
    return count, time.perf_counter() - started


def ingest_pass(store, corpus: Path, limit: int | None) -> tuple[ingest.IngestReport, float]:
    started = time.perf_counter()
    batches = files.fetch([corpus], seen=lambda hashes: store.seen_records(files.SOURCE, hashes))
    report = ingest.run(store, _limited(batches, limit), source=files.SOURCE)
    return report, time.perf_counter() - started


def postgres_url() -> tuple[str, object]:
    """A throwaway PostgreSQL database: PAPERWIRE_BENCH_DATABASE_URL (an empty database), else pgserver."""
    import os

    url = os.environ.get("PAPERWIRE_BENCH_DATABASE_URL")
    if url:
        return url, None
    import pgserver

    # Its own folder outside ours: pgserver runs the server as a separate system user.
    server = pgserver.get_server(tempfile.mkdtemp(prefix="paperwire-bench-pg-"), cleanup_mode="delete")
    return server.get_uri(), server


def run_backend(name: str, corpus: Path, limit: int | None, workdir: Path) -> dict:
    server = None
    if name == "sqlite":
        url = f"sqlite:///{workdir}/bench.db"
    else:
        url, server = postgres_url()
    store = open_store(url)
    try:
        first, first_s = ingest_pass(store, corpus, limit)
        again, again_s = ingest_pass(store, corpus, limit)
    finally:
        store.close()
        if server is not None:
            server.cleanup()
    papers = first.new_count + first.updated_count + first.unchanged_count
    return {
        "backend": name,
        "papers": papers,
        "first_pass_s": round(first_s, 2),
        "first_pass_papers_per_s": round(papers / first_s),
        "reingest_s": round(again_s, 2),
        "reingest_papers_per_s": round(papers / again_s),
        "reingest_speedup": round(first_s / again_s, 2),
        "first_pass": first.summary(),
        "reingest": again.summary(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--limit", type=int, default=None, help="stop after about N records")
    args = parser.parse_args()
    if not args.corpus.exists():
        sys.exit(f"corpus {args.corpus} not found; pass --corpus PATH (see ../shared/data/README.md)")
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]

    parsed, parse_s = parse_only(args.corpus, args.limit)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in backends:
            rows.append(run_backend(name, args.corpus, args.limit, Path(tmp)))

    print(f"corpus: {args.corpus.name}; parse only: {parsed} papers in {parse_s:.2f} s "
          f"= {parsed / parse_s:,.0f} papers/s (baseline)")
    header = f"{'backend':<9} {'papers':>7} {'first pass/s':>13} {'vs parse':>9} {'re-ingest/s':>12} {'speed-up':>9}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['backend']:<9} {row['papers']:>7} {row['first_pass_papers_per_s']:>13,} "
              f"{row['first_pass_papers_per_s'] / (parsed / parse_s):>9.2f} "
              f"{row['reingest_papers_per_s']:>12,} {row['reingest_speedup']:>8.2f}x")
        print(f"          first: {row['first_pass']}; again: {row['reingest']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "corpus": str(args.corpus.name),
        "machine": platform.platform(),
        "parse_only_papers_per_s": round(parsed / parse_s),
        "rows": rows,
    }, indent=2) + "\n")
    print(f"results written to {RESULTS}")


if __name__ == "__main__":
    main()
