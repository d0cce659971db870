"""Memory of a process tree from /proc, for the benchmarks that start servers.

RSS counts a page once per process that maps it; PSS shares each page among the
processes that map it, so the PSS of N workers summed is what they really cost
together; "shared" is the part of RSS that another process maps too (a
memory-mapped index, the interpreter's code).
"""

from __future__ import annotations

from pathlib import Path

FIELDS = ("Rss", "Pss", "Shared_Clean", "Shared_Dirty")


def process_mb(pid: int) -> dict[str, float] | None:
    """RSS, PSS and shared MB of one process from /proc/PID/smaps_rollup; None once it has exited."""
    found = dict.fromkeys(FIELDS, 0.0)
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in found:
                found[name] += int(value.split()[0]) / 1024
    except OSError:
        return None
    return {"rss_mb": round(found["Rss"], 1), "pss_mb": round(found["Pss"], 1),
            "shared_mb": round(found["Shared_Clean"] + found["Shared_Dirty"], 1)}


def tree_mb(pid: int) -> dict[str, float]:
    """`process_mb` summed over `pid` and all its descendants (uvicorn's workers)."""
    pids = [pid] + descendants(pid)
    rows = [row for row in map(process_mb, pids) if row is not None]
    totals = {key: round(sum(row[key] for row in rows), 1) for key in ("rss_mb", "pss_mb", "shared_mb")}
    return {**totals, "processes": len(pids)}


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, found by the parent ids in /proc/*/stat (the kernel's
    /proc/PID/task/TID/children needs CONFIG_PROC_CHILDREN, which this machine lacks)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # the command name in parentheses may hold spaces: the fields after its ")" are fixed
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found
