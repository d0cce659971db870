"""What keeping rate-limit buckets in the store costs, and what it buys.

    .venv/bin/python bench/ratelimit.py [--attempts 2000] [--processes 4] [--postgres URL]

For each way of keeping buckets (in memory: the baseline, measured in the same run;
in SQLite; in PostgreSQL when --postgres names a database) it times `--attempts`
log-in checks on distinct keys from one thread (microseconds per attempt, median
of 5 rounds), and counts how many of 100 attempts at one account's bucket
`--processes` independent RateLimits admit between them (what N web processes do:
in memory each has its own buckets). Prints a table and writes
bench/results/ratelimit.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from paperwire.ratelimit import LOGIN_PER_ACCOUNT, RateLimits
from paperwire.store import open_store

RESULTS = Path(__file__).resolve().parent / "results" / "ratelimit.json"
ROUNDS = 5
T0 = 1_780_000_000.0


def per_attempt_us(make_limits, attempts: int) -> float:
    times = []
    for round_ in range(ROUNDS):
        limits = make_limits()
        start = time.perf_counter()
        for n in range(attempts):
            limits.login(f"user{round_}-{n}", f"10.{round_}.{n // 250}.{n % 250}", T0)
        times.append((time.perf_counter() - start) / attempts * 1e6)
    return statistics.median(times)


def admitted(make_limits, processes: int) -> int:
    every = [make_limits() for _ in range(processes)]
    return sum(every[n % processes].login("ada", f"10.9.{n}.1", T0) is None for n in range(100))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--postgres", help="a PostgreSQL URL to measure too (its rate_buckets table is used)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    stores = {"sqlite": open_store(f"sqlite:///{folder}/bench.db")}
    if args.postgres:
        stores["postgres"] = open_store(args.postgres)
    ways = {"memory": lambda: RateLimits()}
    for name, store in stores.items():
        ways[name] = (lambda s: lambda: RateLimits(store=s))(store)
    rows = []
    for name, make in ways.items():
        rows.append({"backend": name, "us_per_attempt": round(per_attempt_us(make, args.attempts), 1),
                     "admitted_of_100": admitted(make, args.processes), "processes": args.processes,
                     "limit": LOGIN_PER_ACCOUNT.count})
        for store in stores.values():
            with store.engine.write() as db:
                db.execute("DELETE FROM rate_buckets")
    base = rows[0]["us_per_attempt"]
    print(f"{'backend':10} {'µs/attempt':>11} {'x memory':>9} {'admitted of 100':>16} (limit {LOGIN_PER_ACCOUNT.count}, "
          f"{args.processes} processes)")
    for row in rows:
        row["ratio_to_memory"] = round(row["us_per_attempt"] / base, 1)
        print(f"{row['backend']:10} {row['us_per_attempt']:11.1f} {row['ratio_to_memory']:9.1f} {row['admitted_of_100']:16}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"attempts": args.attempts, "rows": rows}, indent=2) + "\n")
    for store in stores.values():
        store.close()


if __name__ == "__main__":
    main()
