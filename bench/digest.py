"""A daily digest run for 10,000 confirmed subscribers, delivered to a local SMTP server.

    .venv/bin/python bench/digest.py [--subscribers 10000] [--papers 20000] [--nagle-sample 300]
        [--connections 1 4] [--send-only-sample 2000]

Setup (not timed): the latest --papers papers of the shared arXiv corpus in a SQLite
store, a Hugging Face daily list for the last day (so the day has trending papers),
--subscribers confirmed daily subscribers at 08:00 UTC, half of them with an account
and two saved searches from a pool of 200 (queries made of title words). The run is
`paperwire.digest.run.run` at 09:00 UTC of the next announcement morning, with saved
searches through the real keyword search (SearchService, no embedder).

Each variant runs in a process of its own on a copy of the same store, against aiosmtpd
in another process (so the server does not share our interpreter), and reports its
wall time, its own CPU time (the wall time on a shared machine depends on the load),
mails/s and peak RSS:

* `build only`: a dry run (gather, build, render, MIME), nothing written or sent;
* `send, Nagle on`: the full run with TCP_NODELAY off, as the first core measured
  (about 8 mails/s), on --nagle-sample subscribers, extrapolated to all;
* `send, TCP_NODELAY`: the full run as shipped (mail.Connection sets TCP_NODELAY);
* `send only, N connections`: the stored messages of a queued run sent by N threads,
  each with its own connection and no store, to see what parallel connections would add.

Prints a table and writes bench/results/digest.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time as clock_time, timedelta, timezone
from pathlib import Path

DATA = Path("/work/shared/data/arxiv/papers.jsonl.gz")
RESULTS = Path(__file__).parent / "results" / "digest.json"
TARGET_SECONDS = 180
SEARCH_POOL = 200
SEARCHES_PER_USER = 2
LISTED = 30  # papers on the last day's Hugging Face list
SECRET_KEY = "bench-secret-key-0123456789abcdef-xyz"


# --- the SMTP server, in its own process ------------------------------------------------

def _serve(port_value, count_value, ready) -> None:
    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server, session, envelope):
            with count_value.get_lock():
                count_value.value += 1
            return "250 2.0.0 accepted"

    port = _closed_port()  # free now; the server takes it
    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    port_value.value = port
    ready.set()
    threading.Event().wait()


def start_server():
    port, count, ready = multiprocessing.Value("i", 0), multiprocessing.Value("l", 0), multiprocessing.Event()
    process = multiprocessing.Process(target=_serve, args=(port, count, ready), daemon=True)
    process.start()
    ready.wait(30)
    return process, port.value, count


# --- setup ----------------------------------------------------------------------------

def setup(path: Path, *, paper_count: int, subscriber_count: int) -> datetime:
    """The store at `path`; returns the `now` of the run."""
    from paperwire.feed import DailyEntry
    from paperwire.papers import Author, Paper
    from paperwire.store import open_store

    with gzip.open(DATA, "rt") as lines:
        records = [json.loads(line) for line in lines][-paper_count:]
    papers = [Paper(arxiv_id=r["id"], title=r["title"], abstract=r["abstract"],
                    authors=tuple(Author(a) for a in r["authors"]), categories=tuple(r["categories"]),
                    primary_category=r["categories"][0], source="bench",
                    published_at=datetime.fromisoformat(r["published"]).replace(tzinfo=timezone.utc))
              for r in records]
    store = open_store(f"sqlite:///{path}")
    for start in range(0, len(papers), 2000):
        store.upsert_papers(papers[start:start + 2000], source="bench")
    last_day = max(p.published_at for p in papers).date()
    now = _next_digest_morning(last_day)
    store.upsert_daily_entries([DailyEntry(day=now.date() - timedelta(days=1), arxiv_id=p.arxiv_id,
                                           upvote_count=5 + i)
                                for i, p in enumerate(p for p in papers if p.published_at.date() == last_day)
                                if i < LISTED])
    rng = random.Random(12)
    words = [w for p in papers[-3000:] for w in p.title.lower().split() if w.isalpha() and len(w) > 5]
    queries = [f"q={'+'.join(rng.sample(words, 1 + i % 2))}" for i in range(SEARCH_POOL)]
    long_ago = now - timedelta(days=30)
    _add_subscribers(store, subscriber_count, queries, rng, long_ago)
    store.close()
    return now


def _add_subscribers(store, count: int, queries: list[str], rng, long_ago: datetime) -> None:
    """`count` confirmed daily subscribers, every other one with an account and saved searches,
    in one transaction (the store's one-at-a-time methods would take minutes here)."""
    t = store.engine.time(long_ago)
    with store.engine.write() as db:
        for i in range(count):
            email = f"reader{i}@example.org"
            user_id = None
            if i % 2 == 0:
                user_id = db.rows("INSERT INTO users (username, email, password_hash, created_at, password_changed_at)"
                                  " VALUES (?, ?, 'x', ?, ?) RETURNING id", (f"reader{i}", email, t, t))[0]["id"]
                for query in rng.sample(queries, SEARCHES_PER_USER):
                    db.execute("INSERT INTO saved_searches (user_id, name, query, mode, is_in_digest, created_at)"
                               " VALUES (?, ?, ?, 'lexical', 1, ?)", (user_id, query[2:], query, t))
            subscriber_id = db.rows("INSERT INTO subscribers (email, user_id, created_at, confirmed_at)"
                                    " VALUES (?, ?, ?, ?) RETURNING id", (email, user_id, t, t))[0]["id"]
            db.execute("INSERT INTO subscriptions (subscriber_id, frequency, send_time, timezone, weekday, paper_count,"
                       " includes, created_at, updated_at) VALUES (?, 'daily', '08:00', 'UTC', 0, 10, ?, ?, ?)",
                       (subscriber_id, json.dumps(["saved-search", "trending"]), t, t))


def _next_digest_morning(last_day) -> datetime:
    """09:00 UTC of the first Monday-to-Friday after `last_day`: the morning after an announcement."""
    day = last_day + timedelta(days=1)
    while day.weekday() > 4:
        day += timedelta(days=1)
    return datetime.combine(day, clock_time(9, 0), tzinfo=timezone.utc)


# --- one variant, in its own process ------------------------------------------------------

def variant(name: str, db: str, port: int, now: str, limit: int | None, connections: int) -> dict:
    from paperwire import config
    from paperwire.digest import run as digest_run
    from paperwire.search.service import SearchService
    from paperwire.store import open_store

    settings = config.load({}, database_url=f"sqlite:///{db}", smtp_host="127.0.0.1", smtp_port=str(port),
                           smtp_security="none", smtp_from="paperwire <digest@paperwire.example.org>",
                           secret_key=SECRET_KEY, base_url="https://paperwire.example.org")
    store = open_store(settings.database_url)
    if limit is not None:  # keep the first `limit` subscribers
        with store.engine.write() as db_session:
            db_session.execute("DELETE FROM subscribers WHERE id > ?", (limit,))
    search = SearchService(None)
    search.catch_up(store)  # the index a serving process already holds
    at = datetime.fromisoformat(now)
    started, cpu_started = time.monotonic(), _cpu_seconds()
    if name.startswith("send only"):
        # Queue everything with no server to take it (a closed port: each send fails at once
        # as temporary), then send the stored bytes when their retry is due.
        closed = config.load(config.to_environ(settings), smtp_port=str(_closed_port()))
        digest_run.run(store, closed, now=at, search=search)
        at += timedelta(minutes=10)
        started, cpu_started = time.monotonic(), _cpu_seconds()
        return _result(name, started, _send_parallel(store, settings, at, connections), store, cpu_started)
    report = digest_run.run(store, settings, now=at, search=search, is_dry_run=name == "build only",
                            is_nodelay="Nagle" not in name)
    count = report.queued_count if name == "build only" else report.sent_count
    result = _result(name, started, count, store, cpu_started)
    result["summary"] = report.summary(is_dry_run=name == "build only")
    return result


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _send_parallel(store, settings, at, connections: int) -> int:
    """The due digests' stored bytes, sent by `connections` threads with a connection each."""
    from paperwire.digest import mail

    smtp = mail.SmtpConfig.from_settings(settings)
    pending = store.sendable_digests(now=at, limit=10**6)
    shards = [pending[i::connections] for i in range(connections)]

    def send(shard) -> int:
        with mail.Connection(smtp) as connection:
            return sum(connection.send_bytes(row.email, row.message).is_sent for row in shard)

    with ThreadPoolExecutor(connections) as pool:
        return sum(pool.map(send, shards))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _result(name: str, started: float, count: int, store, cpu_started: float) -> dict:
    """Wall time, and this process's CPU time: on a shared machine the wall time depends on
    the load, the CPU time much less (the server's CPU, in its own process, is not in it)."""
    seconds, cpu = time.monotonic() - started, _cpu_seconds() - cpu_started
    store.close()
    return {"method": name, "mails": count, "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
            "mails_per_second": round(count / seconds, 1) if seconds else None,
            "cpu_ms_per_mail": round(1000 * cpu / count, 2) if count else None,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


# --- the whole bench ---------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--papers", type=int, default=20_000)
    parser.add_argument("--nagle-sample", type=int, default=300)
    parser.add_argument("--connections", type=int, nargs="*", default=[1, 4])
    parser.add_argument("--send-only-sample", type=int, default=2000,
                        help="subscribers for the send-only variants (they first queue with no server)")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(variant(args.variant, args.db, args.port, args.now, args.limit, args.threads)))
        return
    folder = Path(tempfile.mkdtemp(prefix="paperwire-bench-digest-"))
    try:
        _bench(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _bench(args, folder: Path) -> None:
    base = folder / "base.db"
    started = time.monotonic()
    now = setup(base, paper_count=args.papers, subscriber_count=args.subscribers)
    print(f"setup: {args.papers} papers, {args.subscribers} subscribers in {time.monotonic() - started:.0f} s; "
          f"run at {now.isoformat()}", flush=True)
    server, port, count = start_server()
    plan = [("build only", None, 1), ("send, Nagle on", args.nagle_sample, 1), ("send, TCP_NODELAY", None, 1)]
    plan += [(f"send only, {n} connection{'s' if n > 1 else ''}", args.send_only_sample, n) for n in args.connections]
    rows = []
    for name, limit, threads in plan:
        db = folder / f"{len(rows)}.db"
        for suffix in ("", "-wal"):  # the store is in WAL mode: the last writes may be in the -wal file
            if Path(f"{base}{suffix}").exists():
                shutil.copy(f"{base}{suffix}", f"{db}{suffix}")
        before = count.value
        done = subprocess.run([sys.executable, __file__, "--variant", name, "--db", str(db), "--port", str(port),
                               "--now", now.isoformat(), "--threads", str(threads),
                               *(["--limit", str(limit)] if limit else [])],
                              capture_output=True, text=True, check=True, env={**os.environ})
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row["received"] = count.value - before
        if limit and limit < args.subscribers:
            row["extrapolated_seconds"] = round(row["seconds"] * args.subscribers / max(row["mails"], 1), 1)
        rows.append(row)
        print(f"{name:28} {row['mails']:6} mails {row['seconds']:8.1f} s {row['mails_per_second'] or 0:8.1f}/s "
              f"cpu {row['cpu_ms_per_mail'] or 0:6.1f} ms/mail peak {row['peak_rss_mb']:6.0f} MB"
              + (f"  (all: ~{row['extrapolated_seconds']:.0f} s)" if "extrapolated_seconds" in row else ""),
              flush=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    server.terminate()
    shipped = next(r for r in rows if r["method"] == "send, TCP_NODELAY")
    result = {"subscribers": args.subscribers, "papers": args.papers, "target_seconds": TARGET_SECONDS,
              "is_within_target": shipped["seconds"] <= TARGET_SECONDS, "cpu_count": os.cpu_count(),
              "load_average": os.getloadavg(), "rows": rows}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"shipped run: {shipped['seconds']:.0f} s for {shipped['mails']} mails (target {TARGET_SECONDS} s), "
          f"{shipped['cpu_seconds']:.0f} CPU s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
          f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
