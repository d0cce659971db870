"""Search latency end to end, through the store, at the arXiv corpus's size and up to all of arXiv.

    .venv/bin/python bench/search_e2e.py [--papers 75000|2700000] [--backend sqlite|postgres|both]
                                         [--vectors model|random] [--queries 500] [--corpus PATH]
                                         [--keep DIR] [--serve-processes 4]

What a search costs the way the web page runs it (`SearchService.search`, a page
of 20): parsing, embedding the query, BM25, the vector search, fusion and
reading the papers from the store. Plain BM25 (`KeywordIndex.ranked` alone,
top 20 and the count) is timed in the same run as the baseline, since this machine is shared.
bench/search.py times the index side alone; this one adds the store.

Corpus: shared/data/arxiv/papers.jsonl.gz (74,728 papers), ingested with
`sources.files.fetch` + `ingest.run`, less every 100th paper, which is held out
to make queries from. For --papers above the corpus, perturbed copies are
added: new arXiv-style ids (0001.00000, ...), title and abstract of a real paper
with a title word and an abstract sentence dropped and the sentences shuffled,
its authors and categories, a day up to a year later, and its vector plus
Gaussian noise (cosine about 0.9 to the original), normalised.

Vectors: `--vectors model` embeds the papers with the pipeline (about 25 min
for 75k on 2 cores), cached under PAPERWIRE_CACHE_DIR/bench by corpus hash and
model id, so later runs load them; `--vectors random` uses random unit vectors
for a quick structural run (latency is the same; quality is not measured here).

Queries (500 by default, seeded): 40 % full titles of held-out papers, 30 %
title fragments (3-5 consecutive words), 20 % two or three content words of a
held-out abstract, 10 % `author:<surname>`, half of them with a title word.

`--keep DIR` builds the SQLite store and its indexes in DIR and reuses them
on a later run with the same corpus, size and vectors (DIR/built.json says
what was built and how long it took): 2.7M papers take about an hour.
`--serve-processes N` then starts `paperwire serve --workers N` on them, sends
every query over HTTP twice (N clients, a new connection each, so every worker
serves), and reports each worker's RSS, PSS and shared memory, and whether it
maps the vector graph file (bench/procmem.py): issue #9's 4 processes <= 12 GB.

Prints a table and writes bench/results/search_e2e.json. Peak memory is this
process's maximum resident size (getrusage), which on PostgreSQL leaves out the
server. Targets (issue #3): hybrid p95 <= 20 ms at 75k and <= 60 ms at 1M on
SQLite; PostgreSQL hybrid within 2x of SQLite at 75k.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import random
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np

from paperwire import ingest
from paperwire.papers import Paper, display_text, text_hash
from paperwire.search import pipeline
from paperwire.search.embed import Embedder
from paperwire.search.engine import GRAPH_THREADS, KEYWORDS_FOLDER, VECTORS_FILE
from paperwire.search.query import parse
from paperwire.search.service import SearchService
from paperwire.search.text import STOP_WORDS
from paperwire.sources import Batch, files
from paperwire.store import open_store

import procmem  # bench/, beside this script

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "arxiv" / "papers.jsonl.gz"
RESULTS = Path(__file__).parent / "results" / "search_e2e.json"
HOLD_OUT_EVERY = 100  # every 100th paper of the corpus is kept out, for queries
PAGE_SIZE = 20
BATCH_SIZE = 2_000
COPY_NOISE = 0.025  # per dimension: a copy's vector has cosine ~0.9 to its original
MODES = ("lexical", "semantic", "hybrid")
BUILD_NOTE = "built.json"  # in a --keep folder: what was built there, and how long it took
SERVE_START_SECONDS = 1800  # each worker opens the indexes before its first answer


def read_corpus(path: Path) -> tuple[list[Paper], list[Paper]]:
    """(papers to index, held-out papers) of the corpus file."""
    papers = [p for batch in files.fetch([path]) for p in batch.papers]
    kept = [p for i, p in enumerate(papers) if i % HOLD_OUT_EVERY != HOLD_OUT_EVERY // 2]
    held = [p for i, p in enumerate(papers) if i % HOLD_OUT_EVERY == HOLD_OUT_EVERY // 2]
    return kept, held


def copies(papers: list[Paper], count: int, *, seed: int = 11):
    """`count` perturbed copies of `papers` (see the module doc), in batches, with their source index."""
    rng = random.Random(seed)
    batch = []
    for j in range(count):
        source = j % len(papers)
        batch.append((source, perturbed(papers[source], j, rng)))
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def perturbed(paper: Paper, j: int, rng: random.Random) -> Paper:
    words = paper.title.split()
    if len(words) > 3:
        del words[rng.randrange(len(words))]
    sentences = [s for s in re.split(r"(?<=\.)\s+", paper.abstract) if s]
    if len(sentences) > 2:
        del sentences[rng.randrange(len(sentences))]
    rng.shuffle(sentences)
    published_at = paper.published_at + timedelta(days=rng.randrange(365)) if paper.published_at else None
    return replace(
        paper, arxiv_id=f"{j // 100_000 + 1:04d}.{j % 100_000:05d}", title=" ".join(words),
        abstract=" ".join(sentences), published_at=published_at, updated_at=published_at, versions=(),
    )


def corpus_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def real_vectors(kept: list[Paper], store, embedder: Embedder, how: str, cache: Path, digest: str) -> np.ndarray:
    """Vectors of `kept` in order: embedded (and cached) or random."""
    if how == "random":
        rng = np.random.default_rng(5)
        vectors = rng.standard_normal((len(kept), embedder.dim)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    model_key = hashlib.blake2b(embedder.model_id.encode(), digest_size=6).hexdigest()
    path = cache / f"arxiv-{digest[:16]}-{model_key}-holdout{HOLD_OUT_EVERY}.npy"
    if path.is_file():
        return np.load(path)
    print(f"embedding {len(kept)} papers (cached afterwards in {path}) ...", flush=True)
    bulk = Embedder.load(cache.parent / "models")  # every core, unlike the one-thread query embedder
    report = pipeline.embed_pending(store, bulk)
    print(f"  {report.summary()}", flush=True)
    rows = store.paper_ids(p.arxiv_id for p in kept)
    found = store.get_embeddings(embedder.model_id, rows.values())
    vectors = np.stack([found[rows[p.arxiv_id]] for p in kept])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def put_vectors(store, model_id: str, papers: list[Paper], vectors: np.ndarray) -> None:
    rows = store.paper_ids(p.arxiv_id for p in papers)
    store.put_embeddings(model_id, [(rows[p.arxiv_id], text_hash(p), v) for p, v in zip(papers, vectors)])


def load_store(store, corpus: Path, kept: list[Paper], held_ids: set[str], total: int, embedder, how: str,
               cache: Path) -> dict:
    """Ingest, add copies up to `total`, store every vector; returns the seconds each step took."""
    timings = {}
    started = time.perf_counter()
    batches = (Batch(papers=[p for p in b.papers if p.arxiv_id not in held_ids]) for b in files.fetch([corpus]))
    ingest.run(store, batches, source=files.SOURCE)
    timings["ingest_s"] = time.perf_counter() - started
    vectors = real_vectors(kept, store, embedder, how, cache, corpus_digest(corpus))
    started = time.perf_counter()
    rng = np.random.default_rng(9)
    with getattr(store, "bulk_embeddings", _nothing)():
        if store.embedding_count(embedder.model_id) < len(kept):
            for start in range(0, len(kept), BATCH_SIZE):
                put_vectors(store, embedder.model_id, kept[start:start + BATCH_SIZE], vectors[start:start + BATCH_SIZE])
        for batch in copies(kept, max(total - len(kept), 0)):
            papers = [p for _, p in batch]
            store.upsert_papers(papers, source="bench")
            noisy = vectors[[s for s, _ in batch]] + rng.standard_normal((len(batch), embedder.dim)) * COPY_NOISE
            put_vectors(store, embedder.model_id, papers, noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
    timings["copies_and_vectors_s"] = time.perf_counter() - started
    return timings


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def make_queries(held: list[Paper], count: int, *, seed: int = 7) -> list[tuple[str, str]]:
    """(kind, query text) of `count` queries from the held-out papers (see the module doc)."""
    rng = random.Random(seed)
    plan = [("title", 0.4), ("fragment", 0.3), ("keywords", 0.2), ("author", 0.1)]
    queries = []
    for kind, share in plan:
        for _ in range(round(count * share)):
            paper = rng.choice(held)
            title = display_text(paper.title)
            words = title.split()
            if kind == "title":
                text = title
            elif kind == "fragment":
                size = min(rng.randint(3, 5), len(words))
                start = rng.randrange(len(words) - size + 1)
                text = " ".join(words[start:start + size])
            elif kind == "keywords":
                content = [w for w in re.findall(r"[a-z]{5,}", paper.abstract.lower()) if w not in STOP_WORDS]
                text = " ".join(rng.sample(content, min(rng.randint(2, 3), len(content))))
            else:
                surname = paper.authors[0].name.split()[-1] if paper.authors else "smith"
                text = f'author:"{surname}"'
                if rng.random() < 0.5:
                    text += " " + rng.choice(words)
            queries.append((kind, text))
    return queries


def timed(fn, queries) -> np.ndarray:
    milliseconds = []
    for _, text in queries:
        started = time.perf_counter()
        fn(text)
        milliseconds.append((time.perf_counter() - started) * 1000)
    return np.array(milliseconds)


def summary(name: str, ms: np.ndarray) -> dict:
    return {"method": name, "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2), "mean_ms": round(float(ms.mean()), 2)}


def run_backend(backend: str, args, kept, held, embedder, workdir: Path) -> dict:
    server = None
    if backend == "sqlite":
        url = f"sqlite:///{workdir}/bench.db"
    else:
        import pgserver

        server = pgserver.get_server(tempfile.mkdtemp(prefix="paperwire-bench-pg-"), cleanup_mode="delete")
        url = server.get_uri()
    store = open_store(url)
    try:
        built = _reusable_build(workdir, args) if backend == "sqlite" else None
        timings = dict(built["timings"]) if built else load_store(
            store, args.corpus, kept, {p.arxiv_id for p in held}, args.papers, embedder, args.vectors, args.cache / "bench")
        keep = backend == "sqlite" and args.keep is not None
        if keep:
            _note_build(workdir, args, timings)
        is_indexed = "index_build_s" in timings
        # Where `paperwire serve` looks with PAPERWIRE_CACHE_DIR=workdir/cache, for the serving phase.
        service = SearchService(workdir / "cache" / "indexes", embedder=embedder)
        started = time.perf_counter()
        service.catch_up(store)
        service.save()
        timings["index_load_s" if is_indexed else "index_build_s"] = time.perf_counter() - started
        if keep and not is_indexed:
            _note_build(workdir, args, timings)
        rss_built = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sizes = _disk_mb(workdir, backend)
        queries = make_queries(held, args.queries)
        lexical = service.indexes.lexical
        for mode in MODES:  # warm up each path (model session, page cache)
            service.search(store, queries[0][1], mode=mode, limit=PAGE_SIZE)
        rows = [summary("bm25 index alone", timed(lambda q: lexical.ranked(parse(q), depth=PAGE_SIZE), queries))]
        for mode in MODES:
            ms = timed(lambda q: service.search(store, q, mode=mode, limit=PAGE_SIZE), queries)
            rows.append(summary(f"{mode} (whole search)", ms))
            if mode == "hybrid":
                by_kind = {kind: summary(kind, ms[[i for i, (k, _) in enumerate(queries) if k == kind]])
                           for kind in dict.fromkeys(k for k, _ in queries)}
        paper_count = store.stats().paper_count
    finally:
        store.close()
        if server is not None:
            server.cleanup()
    serving = serve_phase(url, workdir, args, queries) if args.serve_processes and backend == "sqlite" else None
    return {
        "backend": backend, "keyword_engine": "tantivy", "papers": paper_count, "queries": len(queries), "vectors": args.vectors,
        **{k: round(v, 1) for k, v in timings.items()}, **sizes, "graph_threads": GRAPH_THREADS,
        "peak_rss_mb_after_build": round(rss_built), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rows": rows, "hybrid_by_query_kind": by_kind, **({"serving": serving} if serving else {}),
    }


def _reusable_build(workdir: Path, args) -> dict | None:
    """The note of a store built earlier in `workdir` (--keep) for the same corpus, size
    and vectors, or None: building 2.7M papers takes about an hour. The note is written
    once the store is loaded and again once its indexes are built (`index_build_s`)."""
    note = workdir / BUILD_NOTE
    if not note.is_file():
        return None
    built = json.loads(note.read_text())
    return built if built["build"] == _build_key(args) else None


def _note_build(workdir: Path, args, timings: dict) -> None:
    path = workdir / BUILD_NOTE
    note = json.loads(path.read_text()) if path.is_file() else {}
    note.update(build=_build_key(args), timings=timings)
    path.write_text(json.dumps(note, indent=2) + "\n")


def _build_key(args) -> dict:
    return {"corpus": str(args.corpus), "corpus_bytes": args.corpus.stat().st_size, "papers": args.papers,
            "vectors": args.vectors, "hold_out_every": HOLD_OUT_EVERY}


def _disk_mb(workdir: Path, backend: str) -> dict:
    """Sizes on disk: the SQLite store (with its WAL) and the search indexes (keyword folder, vector files)."""
    def mb(paths) -> float:
        return round(sum(p.stat().st_size for p in paths if p.is_file()) / 2**20, 1)

    indexes = list((workdir / "cache" / "indexes").rglob("*"))
    found = {"keyword_index_mb": mb(p for p in indexes if KEYWORDS_FOLDER in p.relative_to(workdir).parts),
             "vector_index_mb": mb(p for p in indexes if p.name.startswith(VECTORS_FILE))}
    if backend == "sqlite":
        found["store_mb"] = mb(workdir.glob("bench.db*"))
    return found


def serve_phase(url: str, workdir: Path, args, queries) -> dict:
    """`paperwire serve --workers N` on the built store and indexes: every query sent over
    HTTP (new connections, so the kernel spreads them over the workers) by N clients, twice;
    then each worker's memory (bench/procmem.py) and whether it maps the vector graph
    file (shared between them by the page cache, not copied)."""
    cache = workdir / "cache"
    models = cache / "models"
    if not models.exists():  # the query model, converted once under the usual cache
        models.symlink_to((args.cache / "models").resolve(), target_is_directory=True)
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "PAPERWIRE_CACHE_DIR": str(cache)}
    server = subprocess.Popen(
        [sys.executable, "-m", "paperwire", "serve", "--no-harvest", "--no-embed", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(args.serve_processes)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        _wait_for_search(base, server)
        ready_s = time.perf_counter() - started
        before = [procmem.process_mb(pid) for pid in procmem.descendants(server.pid)]
        ms = asyncio.run(_http_searches(base, [q for _, q in queries] * 2, clients=args.serve_processes))
        workers = procmem.descendants(server.pid)
        rows = [{"pid": pid, **(procmem.process_mb(pid) or {}), "maps_vector_graph": _maps_graph(pid)}
                for pid in workers]
    finally:
        server.terminate()
        server.wait(timeout=60)
    total = {key: round(sum(r.get(key, 0) for r in rows), 1) for key in ("rss_mb", "pss_mb", "shared_mb")}
    return {"processes": args.serve_processes, "ready_s": round(ready_s, 1), "http": summary("http search", ms),
            "rss_mb_before": round(sum(r["rss_mb"] for r in before if r), 1), "workers": rows, "total": total}


def _wait_for_search(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVE_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"paperwire serve exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/search?q=model", timeout=30).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise SystemExit(f"paperwire serve did not answer a search within {SERVE_START_SECONDS} s")


async def _http_searches(base: str, texts: list[str], *, clients: int) -> np.ndarray:
    todo = list(enumerate(texts))
    found = np.zeros(len(texts))

    async def client():
        # no keep-alive: each search is a new connection, which any worker may accept
        async with httpx.AsyncClient(base_url=base, timeout=120, limits=httpx.Limits(max_keepalive_connections=0)) as http:
            while todo:
                at, text = todo.pop()
                started = time.perf_counter()
                response = await http.get("/search", params={"q": text})
                found[at] = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"/search?q={text} answered {response.status_code}")

    await asyncio.gather(*(client() for _ in range(clients)))
    return found


def _maps_graph(pid: int) -> bool:
    try:
        return ".usearch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def print_serving(serving: dict) -> None:
    http = serving["http"]
    print(f"  paperwire serve --workers {serving['processes']}: ready in {serving['ready_s']} s; "
          f"HTTP search p50 / p95 {http['p50_ms']} / {http['p95_ms']} ms")
    print(f"  {'worker':>8} {'RSS MB':>8} {'PSS MB':>8} {'shared':>8} {'maps graph':>10}")
    for row in serving["workers"]:
        print(f"  {row['pid']:>8} {row.get('rss_mb', 0):>8.0f} {row.get('pss_mb', 0):>8.0f} "
              f"{row.get('shared_mb', 0):>8.0f} {str(row['maps_vector_graph']):>10}")
    total = serving["total"]
    print(f"  {'total':>8} {total['rss_mb']:>8.0f} {total['pss_mb']:>8.0f} {total['shared_mb']:>8.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--papers", type=int, default=74_728, help="papers in the store (copies above the corpus)")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--vectors", choices=["model", "random"], default="model")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--keep", type=Path, default=None,
                        help="build the SQLite store and indexes in this folder and reuse them on later runs")
    parser.add_argument("--serve-processes", type=int, default=0,
                        help="then serve them with paperwire serve --workers N and report each worker's memory")
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("PAPERWIRE_CACHE_DIR", "~/.cache/paperwire")).expanduser())
    args = parser.parse_args()
    if not args.corpus.exists():
        sys.exit(f"corpus {args.corpus} not found; pass --corpus PATH (see ../shared/data/README.md)")
    kept, held = read_corpus(args.corpus)
    embedder = Embedder.load(args.cache / "models", threads=1)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = []
    with tempfile.TemporaryDirectory(prefix="paperwire-bench-") as tmp:
        for backend in backends:
            workdir = Path(tmp)
            if args.keep and backend == "sqlite":
                workdir = args.keep
                workdir.mkdir(parents=True, exist_ok=True)
            results.append(run_backend(backend, args, kept, held, embedder, workdir))
    for result in results:
        print(f"\n{result['backend']}, {result.get('keyword_engine', 'lexical')}: {result['papers']:,} papers, {result['queries']} queries, "
              f"{result['vectors']} vectors; index build {result.get('index_build_s')} s; "
              f"peak RSS {result['peak_rss_mb']:,} MB ({result['peak_rss_mb_after_build']:,} MB after the build)")
        print(f"  {'method':<24} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
        for row in result["rows"]:
            print(f"  {row['method']:<24} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['mean_ms']:>8}")
        print("  hybrid p50 / p95 by query kind: " + ", ".join(
            f"{k} {v['p50_ms']} / {v['p95_ms']}" for k, v in result["hybrid_by_query_kind"].items()))
        print(f"  on disk: store {result.get('store_mb', '-')} MB, keyword index {result['keyword_index_mb']} MB, "
              f"vector index {result['vector_index_mb']} MB")
        if "serving" in result:
            print_serving(result["serving"])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    def key(r):
        return f"{r['backend']}-{r.get('keyword_engine', 'lexical')}-{r['papers']}-{r['vectors']}"

    runs = {key(r): r for r in previous.get("runs", [])}
    runs.update({key(r): r for r in results})
    RESULTS.write_text(json.dumps({"machine": platform.platform(), "model": embedder.model_id,
                                   "runs": list(runs.values())}, indent=2) + "\n")
    print(f"\nresults written to {RESULTS}")


if __name__ == "__main__":
    main()
