"""How long a week's topic map takes to build, at the shared corpus's busiest week.

    .venv/bin/python bench/topicmap.py [--corpus PATH] [--week 2025-W22]

Reads the week's papers straight from the JSONL corpus (shared/data/arxiv/
papers.jsonl.gz; by default its busiest ISO week) and times topicmap.build three
ways: by words alone (no paper has a vector: TF-IDF + LSA), with a vector for every
paper, and with vectors for half (the rest placed by TF-IDF neighbours). The corpus
has no embeddings, so the vectors are random unit vectors of MiniLM's size (384):
the cost of clustering and t-SNE depends on the count and size of the vectors, not
on their values. Prints one line per path.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np

from paperwire import topicmap
from paperwire.papers import Paper

CORPUS = Path(__file__).resolve().parents[2] / "shared/data/arxiv/papers.jsonl.gz"
DIMENSIONS = 384  # all-MiniLM-L6-v2


def read_week(corpus: Path, week: str | None) -> tuple[str, list[Paper]]:
    records = []
    with gzip.open(corpus, "rt") as lines:
        for line in lines:
            record = json.loads(line)
            if record.get("published"):
                year, number, _ = date.fromisoformat(record["published"][:10]).isocalendar()
                records.append((f"{year}-W{number:02d}", record))
    week = week or Counter(w for w, _ in records).most_common(1)[0][0]
    papers = [
        Paper(arxiv_id=r["id"], title=r["title"], abstract=r.get("abstract") or "",
              published_at=datetime.fromisoformat(r["published"]).replace(tzinfo=timezone.utc))
        for w, r in records if w == week
    ]
    return week, papers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("/work/shared/data/arxiv/papers.jsonl.gz"))
    parser.add_argument("--week")
    args = parser.parse_args()
    week, papers = read_week(args.corpus, args.week)
    rng = np.random.default_rng(0)
    vectors = {p.arxiv_id: rng.standard_normal(DIMENSIONS).astype(np.float32) for p in papers}
    half = {k: v for i, (k, v) in enumerate(vectors.items()) if i % 2 == 0}
    print(f"{week}: {len(papers)} papers")
    topicmap.build(papers[:50], {})  # imports scikit-learn, which a running server has done
    for name, given in (("words (TF-IDF)", {}), ("vectors", vectors), ("half vectors", half)):
        started = time.perf_counter()
        made = topicmap.build(papers, given)
        took = time.perf_counter() - started
        print(f"{name:16s} {took:6.2f} s  {len(made.topics)} topics ({made.basis}): "
              + "; ".join(t.label for t in made.topics[:3]))


if __name__ == "__main__":
    main()
