"""bench/web.py's second load generator: wrk (Debian's `wrk`, `apt-get install -y wrk`).

The httpx client is Python on the same 2 cores as the server, so at 20 clients it
spends much of the machine itself: the static file's own p95 was 209 ms (283
requests/s) on a quiet machine. wrk is C with an event loop per thread and costs a
fraction of that, so its numbers are closer to what the server alone does. Its Lua
script cycles through the page's URL sample (each thread from its own offset) and
prints wrk's latency percentiles and error counts as one JSON line, which `load()`
returns in the shape of web.py's httpx `load()` summary. Only for the bench: CI
does not need wrk.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

MARKER = "PAPERWIRE_WRK "
THREADS_MAX = 2  # the machine's cores; the server needs them more than wrk does
LUA = r"""
local paths = {}
for line in io.lines(os.getenv("PAPERWIRE_WRK_PATHS")) do paths[#paths + 1] = line end
local ids = 0

function setup(thread)
  thread:set("id", ids)
  ids = ids + 1
end

local turn = 0
function init(args)
  turn = (id or 0) * 7919
end

function request()
  turn = turn + 1
  return wrk.format("GET", paths[(turn % #paths) + 1])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('PAPERWIRE_WRK {"requests": %d, "duration_us": %d, "connect": %d, "read": %d,'
    .. ' "write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def load(base_url: str, urls: list[str], *, clients: int, seconds: float, warm_up_seconds: float,
         timeout_seconds: float, after_warm_up: Callable[[], object] = lambda: None) -> dict:
    """wrk with `clients` connections over `urls` for `seconds` (after a warm-up run, then
    `after_warm_up()`: the requests wrk left in flight are still being served):
    requests, seconds, p50/p95/p99 in seconds and the failed requests."""
    with tempfile.TemporaryDirectory() as folder:
        script, paths = Path(folder) / "cycle.lua", Path(folder) / "paths.txt"
        script.write_text(LUA)
        paths.write_text("\n".join(urls) + "\n")
        _run(base_url, script, paths, clients, warm_up_seconds, timeout_seconds)
        after_warm_up()
        found = _run(base_url, script, paths, clients, seconds, timeout_seconds)
    errors = found["connect"] + found["read"] + found["write"] + found["timeout"]
    return {
        "requests": found["requests"], "elapsed_s": found["duration_us"] / 1e6,
        "p50_s": found["p50_us"] / 1e6, "p95_s": found["p95_us"] / 1e6, "p99_s": found["p99_us"] / 1e6,
        # wrk counts an answer >= 400 as a status error and a socket failure apart
        "non_2xx": found["status"] + errors, "socket_errors": errors,
    }


def _run(base_url: str, script: Path, paths: Path, clients: int, seconds: float, timeout_seconds: float) -> dict:
    command = ["wrk", "-t", str(min(THREADS_MAX, clients)), "-c", str(clients), "-d", f"{max(1, round(seconds))}s",
               "--timeout", f"{round(timeout_seconds)}s", "-s", str(script), base_url]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PAPERWIRE_WRK_PATHS": str(paths)},
                          timeout=seconds + timeout_seconds + 30)
    for line in done.stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line.removeprefix(MARKER))
    raise SystemExit(f"wrk printed no summary (exit {done.returncode}): {done.stderr.strip() or done.stdout[-500:]}")
