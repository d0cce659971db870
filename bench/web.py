"""Web latency under concurrent clients, against a running `paperwire serve` on loopback.

    .venv/bin/python bench/web.py [--papers N] [--clients 20,50] [--seconds 15] [--workers 1]
                                  [--pages static,day,week,month,paper,search,trending,map,author,status,mixed,upvote]
                                  [--client httpx|wrk] [--corpus PATH]

What a reader waits for: the day page, a week's and a month's page, a paper page
(with its similar papers), a search, the trending page (skipped while the server
has no /trending), the topic maps of those days, weeks and months, an author's
page, the status page (with its chart) and a mix of day, paper and search, each under N concurrent clients for a fixed time. A
static file (/static/style.css) is fetched the same way in the same run as the
baseline, because this machine is shared and noisy: compare ratios to it (the
static row is measured even when --pages leaves it out).

The store holds a community too (bench/web_community.py): 1,000 generated users
with their upvotes and comments with replies, so the pages show and rank what a
busy instance would. The `upvote` phase is the write load: N clients vote and
unvote through the API v1 with the users' personal tokens, and the store's counts
afterwards must equal what the acknowledged answers imply (the oracle).

The store is the shared arXiv corpus (shared/data/arxiv/papers.jsonl.gz, 74,728
papers, or the first --papers of it) in SQLite, with its search indexes built
and saved before the server starts, so the server loads them instead of
building them, and the recent topic maps made as the server's maps job makes them
(topicmap.make_ahead: the latest 60 days, their weeks and months, which is where
the map phase's URLs come from). Store and indexes are cached under
~/.cache/paperwire-bench/web-<corpus hash>-<papers>, and the same with the community
under web-community<version>-<corpus hash>-<papers>-<day generated> (a new day
makes a new one: /trending reads the wall clock); the server runs with
--no-harvest --no-embed (keywords only: the corpus is not embedded here).

The upvote phase measures the server, not the rate limiter: the per-account limit
(60 a minute, ratelimit.UPVOTE_PER_ACCOUNT, unchanged) stays on, and each client acts
in turn for its own 1,000/N users, so at a few hundred votes a second each account
votes well under its refill of one a second; any 429 would show in non-2xx.

The load comes from this process (asyncio + httpx, one keep-alive connection
per client), on the same 2 cores as the server: the baseline row shows what
the client and the loopback cost alone. `--client wrk` loads the pages with
Debian's wrk instead (bench/web_wrk.py: C, a fraction of httpx's CPU); the upvote
phase always uses httpx, which checks every answer. The server's memory (all its
processes: RSS, PSS and the shared part) is read from /proc before and after each phase.

Prints a table (with each page's p95 over the static file's p95 at the same
client count) and writes bench/results/web.json. Targets: p95 <= 100 ms for
the day, week, month, paper, trending, map, author, status and search pages at 20 clients (issues #10, #14, #15),
<= 300 ms at 50 clients, no non-2xx answer, memory flat after warm-up (#15); they
are judged with `--client wrk` (docs/web.md).
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
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import quote

import httpx

from paperwire import ingest, topicmap
from paperwire.search.service import SearchService
from paperwire.sources import files
from paperwire.store import open_store

import procmem  # bench/, beside this script
import web_community
import web_wrk

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "arxiv" / "papers.jsonl.gz"
RESULTS = Path(__file__).parent / "results" / "web.json"
CACHE = Path("~/.cache/paperwire-bench").expanduser()
PAGES = ("static", "day", "week", "month", "paper", "search", "trending", "map", "author", "status", "mixed", "upvote")
CLIENTS = ("httpx", "wrk")
SAMPLE_SIZE = 300  # distinct URLs per page kind
START_TIMEOUT_SECONDS = 600  # loading saved indexes of 75k papers takes a while
WARM_UP_SECONDS = 3.0
REQUEST_TIMEOUT_SECONDS = 30.0
SEED = 7
FEW_REQUESTS_PER_CLIENT = 5  # under this many wrk answers per connection, its percentiles read low
DRAIN_MAX_SECONDS = 60.0
IDLE_PROBE_SECONDS = 0.5
IDLE_CPU_SHARE = 0.1  # of one core: the background jobs' polling, not a request being served


def prepared_folder(corpus: Path, papers: int | None) -> Path:
    """A folder holding the store and its saved indexes, built once per corpus and size."""
    digest = hashlib.blake2b(f"{corpus.resolve()}:{corpus.stat().st_size}".encode(), digest_size=6).hexdigest()
    folder = CACHE / f"web-{digest}-{papers or 'all'}"
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder}/paperwire.db"
    store = open_store(url)
    try:
        if store.stats().paper_count == 0:
            print(f"ingesting {corpus} into {folder} ...", file=sys.stderr)
            ingest.run(store, _first(files.fetch([corpus]), papers), source=files.SOURCE)
        service = SearchService(folder / "cache" / "indexes")
        started = time.perf_counter()
        service.catch_up(store)  # loads saved indexes, or builds them on the first run
        service.save()
        print(f"indexes ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        started = time.perf_counter()  # what the server's maps job would do first, done before it starts
        summary = topicmap.make_ahead(store, now=datetime.now(timezone.utc))
        print(f"topic maps: {summary or 'all current'} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    finally:
        store.close()
    return folder


def _first(batches, limit: int | None):
    seen = 0
    for batch in batches:
        yield batch
        seen += len(batch.papers)
        if limit is not None and seen >= limit:
            return


def sample_urls(folder: Path, rng: random.Random) -> dict[str, list[str]]:
    """SAMPLE_SIZE URLs per page kind, drawn from what the store holds."""
    store = open_store(f"sqlite:///{folder}/paperwire.db")
    try:
        papers = list(store.iter_papers())
        days, day = [], store.latest_day()
        while day is not None and len(days) < 60:
            days.append(day)
            day = store.adjacent_days(day)[0]
    finally:
        store.close()
    chosen = rng.sample(papers, min(SAMPLE_SIZE, len(papers)))
    queries = []
    for paper in chosen:
        words = re.findall(r"[A-Za-z]{4,}", paper.title)
        if len(words) >= 2:
            start = rng.randrange(len(words) - 1)
            queries.append("+".join(words[start:start + rng.choice((2, 3))]))
    urls = {
        "static": ["/static/style.css"],
        "day": [f"/day/{rng.choice(days).isoformat()}" for _ in range(SAMPLE_SIZE)],
        "paper": [f"/paper/{p.arxiv_id}" for p in chosen],
        "search": [f"/search?q={q}" for q in queries],
        "trending": ["/trending", "/trending?window=week", "/trending?window=month"],
        "week": [f"/week/{_iso_week(rng.choice(days))}" for _ in range(SAMPLE_SIZE)],
        "month": [f"/month/{rng.choice(days):%Y-%m}" for _ in range(SAMPLE_SIZE)],
        # the topic maps of the same days, their weeks and their months, first views included
        "map": [rng.choice((f"/day/{d.isoformat()}/map", f"/week/{_iso_week(d)}/map", f"/month/{d:%Y-%m}/map"))
                for d in (rng.choice(days) for _ in range(SAMPLE_SIZE))],
        "author": [f"/author/{quote(p.authors[0].name, safe='')}" for p in chosen if p.authors],
        "status": ["/status"],  # kept at most 5 s (it shows this process's jobs; pages.STATUS_MAX_AGE_SECONDS)
    }
    urls["mixed"] = urls["day"][:100] + urls["paper"][:100] + urls["search"][:100]
    return urls


def _iso_week(day) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(folder: Path, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder}/paperwire.db", "PAPERWIRE_CACHE_DIR": str(folder / "cache")}
    process = subprocess.Popen(
        [sys.executable, "-m", "paperwire", "serve", "--no-harvest", "--no-embed", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"paperwire serve exited with {process.returncode}")
        try:  # up, and its indexes loaded: a search answers 200, not 503
            if httpx.get(f"http://127.0.0.1:{port}/search?q=model", timeout=5).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit(f"paperwire serve did not answer a search within {START_TIMEOUT_SECONDS} s")


def server_memory_mb(pid: int) -> dict[str, float]:
    """Memory of `pid` and all its descendants (uvicorn's workers), in MB (bench/procmem.py)."""
    return procmem.tree_mb(pid)


async def load(base_url: str, urls: list[str], *, clients: int, seconds: float, rng: random.Random) -> dict:
    """`clients` concurrent loops fetching random `urls` for `seconds`; latencies and statuses."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=REQUEST_TIMEOUT_SECONDS) as client:
        async def one_client(deadline: float, record: bool) -> None:
            while time.monotonic() < deadline:
                url = rng.choice(urls)
                started = time.perf_counter()
                try:
                    status = (await client.get(url)).status_code
                except httpx.HTTPError:
                    status = 0
                if record:
                    latencies.append(time.perf_counter() - started)
                    statuses[status] = statuses.get(status, 0) + 1

        await asyncio.gather(*(one_client(time.monotonic() + WARM_UP_SECONDS, False) for _ in range(clients)))
        started = time.monotonic()
        await asyncio.gather(*(one_client(started + seconds, True) for _ in range(clients)))
        elapsed = time.monotonic() - started
    return {"latencies": latencies, "statuses": statuses, "elapsed_s": elapsed}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run(args) -> dict:
    rng = random.Random(SEED)
    base = prepared_folder(args.corpus, args.papers)
    community = web_community.prepare(base, now=datetime.now(timezone.utc))
    print("community: " + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in community.counts.items()))
    folder = community.folder
    urls = sample_urls(folder, rng)
    port = free_port()
    server = start_server(folder, port, args.workers)
    base_url = f"http://127.0.0.1:{port}"
    rows = []
    try:
        pages = _pages(args.pages, base_url)
        for clients in [int(c) for c in args.clients.split(",")]:
            for page in pages:
                before = server_memory_mb(server.pid)
                if page == "upvote":
                    row = upvote_row(base_url, community, clients=clients, seconds=args.seconds)
                else:
                    row = page_row(base_url, urls[page], client=args.client, clients=clients,
                                   seconds=args.seconds, rng=rng, drain=lambda: wait_until_idle(server.pid))
                row["drain_s"] = wait_until_idle(server.pid)
                after = server_memory_mb(server.pid)
                rows.append({"page": page, "clients": clients, **row,
                             "rss_mb_before": before["rss_mb"], "rss_mb_after": after["rss_mb"],
                             "pss_mb_after": after["pss_mb"], "shared_mb_after": after["shared_mb"],
                             "processes": after["processes"]})
                static = next((r for r in rows if r["page"] == "static" and r["clients"] == clients), None)
                if static and static["p95_ms"] and rows[-1]["p95_ms"] is not None:  # the same run's baseline:
                    rows[-1]["p95_vs_static"] = round(rows[-1]["p95_ms"] / static["p95_ms"], 1)  # the machine alone
                print_row(rows[-1])
    finally:
        server.terminate()
        server.wait(30)
    return {
        "machine": platform.platform(), "papers": args.papers or "all", "workers": args.workers,
        "client": args.client, "seconds_per_phase": args.seconds, "community": community.counts, "rows": rows,
    }


def _pages(raw: str, base_url: str) -> list[str]:
    """The phases in order: the static baseline first whatever was asked, the upvote phase last
    (its writes then cannot warm or cool a read phase's caches)."""
    pages = [p for p in raw.split(",") if p]
    unknown = sorted(set(pages) - set(PAGES))
    if unknown:
        raise SystemExit(f"unknown pages {unknown}; choose among {','.join(PAGES)}")
    if "trending" in pages and httpx.get(base_url + "/trending", timeout=30).status_code == 404:
        print("no /trending on this server yet: skipped", file=sys.stderr)
        pages.remove("trending")
    reads = [p for p in pages if p not in ("static", "upvote")]
    return ["static", *reads] + (["upvote"] if "upvote" in pages else [])


def page_row(base_url: str, urls: list[str], *, client: str, clients: int, seconds: float,
             rng: random.Random, drain: Callable[[], object]) -> dict:
    """One read phase with the chosen load generator: its rate, latency and failures;
    `drain` waits for the server to finish what a wrk warm-up left behind."""
    if client == "wrk":
        found = web_wrk.load(base_url, urls, clients=clients, seconds=seconds, warm_up_seconds=WARM_UP_SECONDS,
                             timeout_seconds=REQUEST_TIMEOUT_SECONDS, after_warm_up=drain)
        # wrk counts only the answers that came within the time: up to `clients` requests still
        # in flight at the end are left out, the slowest ones, so with few requests per client
        # its percentiles read low (or, with none, mean nothing): flagged, not hidden.
        is_too_few = found["requests"] < FEW_REQUESTS_PER_CLIENT * clients
        if is_too_few:
            print(f"  only {found['requests']} answers from wrk for {clients} clients: its percentiles leave out"
                  f" up to {clients} slower requests; use more --seconds or --client httpx", file=sys.stderr)
        return {"client": "wrk", "requests": found["requests"],
                "per_s": round(found["requests"] / found["elapsed_s"], 1),
                **{f"{q}_ms": round(found[f"{q}_s"] * 1000, 1) if found["requests"] else None
                   for q in ("p50", "p95", "p99")},
                "non_2xx": found["non_2xx"], "socket_errors": found["socket_errors"], "is_too_few": is_too_few}
    return {"client": "httpx", **_summary(asyncio.run(load(base_url, urls, clients=clients, seconds=seconds, rng=rng)))}


def wait_until_idle(pid: int) -> float:
    """Seconds until the server's processes use under IDLE_CPU_SHARE of a core (at most
    DRAIN_MAX_SECONDS): requests a load generator gave up on (wrk at its deadline, a
    client timeout) are still being served, and must not slow the next phase."""
    started = time.monotonic()
    ticks = os.sysconf("SC_CLK_TCK")
    while time.monotonic() - started < DRAIN_MAX_SECONDS:
        before = _cpu_ticks(pid)
        time.sleep(IDLE_PROBE_SECONDS)
        if (_cpu_ticks(pid) - before) / ticks / IDLE_PROBE_SECONDS < IDLE_CPU_SHARE:
            break
    return round(time.monotonic() - started, 1)


def _cpu_ticks(pid: int) -> int:
    """User and system CPU ticks of `pid` and its descendants (fields 14 and 15 of stat)."""
    total = 0
    for p in [pid] + procmem.descendants(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def upvote_row(base_url: str, community, *, clients: int, seconds: float) -> dict:
    """The upvote phase (bench/web_community.py) with its oracle's verdict."""
    found = web_community.upvote_phase(base_url, community, clients=clients, seconds=seconds,
                                       warm_up_seconds=WARM_UP_SECONDS, timeout_seconds=REQUEST_TIMEOUT_SECONDS)
    oracle = found.pop("oracle")
    if not oracle["is_exact"]:
        print(f"upvote counts differ from the acknowledged votes: {oracle}", file=sys.stderr)
    return {"client": "httpx", **_summary(found), "oracle": oracle}


def _summary(result: dict) -> dict:
    lat, statuses = result["latencies"], result["statuses"]
    ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
    return {
        "requests": len(lat), "per_s": round(len(lat) / result["elapsed_s"], 1),
        "p50_ms": round(percentile(lat, 0.50) * 1000, 1), "p95_ms": round(percentile(lat, 0.95) * 1000, 1),
        "p99_ms": round(percentile(lat, 0.99) * 1000, 1),
        "non_2xx": len(lat) - ok, "statuses": {str(k): v for k, v in statuses.items()},
    }


HEADER = (f"{'page':<9} {'clients':>7} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
          f" {'non-2xx':>7} {'RSS0 MB':>8} {'RSS1 MB':>8} {'PSS1 MB':>8} {'shared1':>8} {'p95/stat':>8}")


def print_row(row: dict) -> None:
    oracle = row.get("oracle")
    verdict = "" if oracle is None else f"  oracle: {'exact' if oracle['is_exact'] else 'MISMATCH'}" \
        f" ({oracle['pairs_checked']} pairs, {oracle['papers_checked']} papers)"
    p50, p95, p99 = (_cell(row[f"{q}_ms"]) for q in ("p50", "p95", "p99"))
    few = "  (few answers: percentiles read low)" if row.get("is_too_few") else ""
    print(f"{row['page']:<9} {row['clients']:>7} {row['requests']:>8} {row['per_s']:>7} {p50:>8}"
          f" {p95:>8} {p99:>8} {row['non_2xx']:>7} {row['rss_mb_before']:>8.0f}"
          f" {row['rss_mb_after']:>8.0f} {row['pss_mb_after']:>8.0f} {row['shared_mb_after']:>8.0f}"
          f" {_cell(row.get('p95_vs_static', '')):>8}{verdict}{few}", flush=True)


def _cell(value) -> str:
    return "n/a" if value is None else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--papers", type=int, default=None, help="the first N papers of the corpus (default: all)")
    parser.add_argument("--clients", default="20,50", help="concurrent clients, comma-separated")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per page and client count")
    parser.add_argument("--workers", type=int, default=1, help="web processes of paperwire serve")
    parser.add_argument("--pages", default=",".join(PAGES), help="phases, comma-separated (static always runs)")
    parser.add_argument("--client", choices=CLIENTS, default="httpx",
                        help="load generator of the page phases (wrk: Debian's wrk, bench/web_wrk.py)")
    args = parser.parse_args()
    if not args.corpus.exists():
        raise SystemExit(f"no corpus at {args.corpus}; pass --corpus")
    if args.client == "wrk" and not web_wrk.available():
        raise SystemExit("--client wrk needs wrk on the PATH: apt-get install -y wrk")
    print(HEADER)
    results = run(args)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
