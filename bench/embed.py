"""Embedding throughput: the pipeline (store in, vectors stored) against the bare model.

    .venv/bin/python bench/embed.py [--corpus PATH] [--papers N] [--batch-size N] [--threads N]

Takes the first N papers of the arXiv corpus into a throwaway SQLite store and
embeds them twice in the same run: with `Embedder.embed_documents` on all their
texts at once (the model alone: no store, sorted by length over the whole set),
and with `pipeline.embed_pending` (papers_to_embed, embed, put_embeddings,
batch by batch). The machine is shared and noisy, so the model runs before and
after the pipeline and the pipeline is compared with their mean.
Target (issue #3): the pipeline at >= 90 % of the model's throughput.
Prints a table and writes bench/results/embed.json.
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

from paperwire.search import pipeline
from paperwire.search.embed import Embedder
from paperwire.sources import files
from paperwire.store import open_store

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "arxiv" / "papers.jsonl.gz"
RESULTS = Path(__file__).parent / "results" / "embed.json"


def first_papers(corpus: Path, count: int):
    papers = (paper for batch in files.fetch([corpus]) for paper in batch.papers)
    return list(islice(papers, count))


def bare_model(embedder: Embedder, texts: list[str]) -> float:
    started = time.perf_counter()
    embedder.embed_documents(texts)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--papers", type=int, default=768)
    parser.add_argument("--batch-size", type=int, default=pipeline.EMBED_BATCH_SIZE)
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: all cores)")
    args = parser.parse_args()
    if not args.corpus.exists():
        sys.exit(f"corpus {args.corpus} not found; pass --corpus PATH (see ../shared/data/README.md)")

    papers = first_papers(args.corpus, args.papers)
    texts = [pipeline.paper_text(p) for p in papers]
    embedder = Embedder.load(threads=args.threads)
    embedder.embed_documents(texts[:32])  # warm up the session
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/bench.db")
        store.upsert_papers(papers, source="bench")
        before = bare_model(embedder, texts)
        report = pipeline.embed_pending(store, embedder, batch_size=args.batch_size)
        after = bare_model(embedder, texts)
        store.close()
    model_rate = (before + after) / 2
    pipeline_rate = report.paper_count / report.elapsed_seconds
    row = {
        "papers": len(papers),
        "batch_size": args.batch_size,
        "model_papers_per_s": [round(before, 1), round(after, 1)],
        "pipeline_papers_per_s": round(pipeline_rate, 1),
        "pipeline_share_of_model": round(pipeline_rate / model_rate, 3),
        "pipeline_time_in_model": round(report.model_seconds / report.elapsed_seconds, 3),
    }
    print(f"{len(papers)} papers of {args.corpus.name}, model {embedder.model_id}")
    print(f"{'':<28} {'papers/s':>9}")
    print(f"{'model alone (before/after)':<28} {before:>9.1f} / {after:.1f}")
    print(f"{'pipeline (store in and out)':<28} {pipeline_rate:>9.1f}  = {row['pipeline_share_of_model']:.0%} of the model;"
          f" {row['pipeline_time_in_model']:.0%} of its time in the model")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": platform.platform(), "model": embedder.model_id, **row}, indent=2) + "\n")
    print(f"results written to {RESULTS}")


if __name__ == "__main__":
    main()
