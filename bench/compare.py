"""Run one benchmark at two commits, alternately, and report the ratios.

    .venv/bin/python bench/compare.py BASE_REV [--rounds 2] -- ingest.py --backend both --limit 20000

These machines are shared and noisy, so a change is judged against the code
before it in the same run: the benchmark runs at BASE_REV (checked out into a
temporary worktree, imported from there) and at the working tree, alternately,
`--rounds` times each. Every numeric field of each result row (matched by its
`backend` / `method` / `page` and `clients` keys) is reported as the median over
rounds at each side and the ratio new/base. Prints a table and writes
bench/results/compare-<benchmark>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("backend", "method", "page", "clients", "mode")  # what names a row across runs


def run_at(tree: Path, script: str, args: list[str]) -> dict:
    """Run bench/`script` from `tree` (its code imported first) and return what this run
    wrote to its results file (a benchmark that keeps earlier runs in it adds its own)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    path = tree / "bench" / "results" / f"{Path(script).stem}.json"
    before = json.loads(path.read_text()) if path.exists() else {}
    subprocess.run([sys.executable, str(tree / "bench" / script), *args], cwd=tree, env=env, check=True)
    return this_run(before, json.loads(path.read_text()))


def this_run(before: dict, after: dict) -> dict:
    """`after` less the runs that `before` already held."""
    if "runs" not in after:
        return after
    return {**after, "runs": [run for run in after["runs"] if run not in before.get("runs", [])]}


def rows_by_key(result: dict) -> dict[tuple, dict]:
    return {tuple(str(row.get(k)) for k in KEYS if k in row): row for row in flat_rows(result)}


def flat_rows(result: dict) -> list[dict]:
    """The result's rows; a result of several runs (one per backend, say) gives each
    run's own numbers as a row, then its rows labelled with the run's backend."""
    if "runs" not in result:
        return result.get("rows", [])
    rows = []
    for run in result["runs"]:
        rows.append({k: v for k, v in run.items() if not isinstance(v, (list, dict))})
        rows.extend({"backend": run.get("backend"), **row} for row in run.get("rows", []))
    return rows


def numeric_fields(row: dict) -> dict[str, float]:
    return {k: v for k, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in KEYS}


def compare(base: list[dict], new: list[dict]) -> list[dict]:
    """Median of each numeric field per row at each side, and new / base."""
    out = []
    for key in rows_by_key(new[0]):
        fields = numeric_fields(rows_by_key(new[0])[key])
        for name in fields:
            base_values = [rows_by_key(r)[key][name] for r in base if key in rows_by_key(r)]
            new_values = [rows_by_key(r)[key][name] for r in new]
            if not base_values:
                continue
            b, n = statistics.median(base_values), statistics.median(new_values)
            out.append({"row": " ".join(key), "field": name, "base": b, "new": n,
                        "ratio": round(n / b, 3) if b else None})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the commit to compare against, e.g. HEAD~3")
    parser.add_argument("--rounds", type=int, default=2)
    argv = sys.argv[1:]
    if argv[:1] == ["--again"]:  # recompute the table of a saved comparison
        saved = json.loads(Path(argv[1]).read_text())
        return report(saved["base"], saved["rounds"], saved["bench"], saved["base_runs"], saved["new_runs"])
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    bench = argv[split + 1:]
    if not bench:
        parser.error("name the benchmark after --, e.g. -- ingest.py --limit 20000")
    script, script_args = bench[0], bench[1:]
    with tempfile.TemporaryDirectory(prefix="paperwire-base-") as folder:
        base_tree = Path(folder) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base_tree), args.base], cwd=ROOT, check=True)
        # Benchmarks find the shared data sets beside the repository root.
        (Path(folder) / "shared").symlink_to(ROOT.parent / "shared")
        try:
            base, new = [], []
            for _ in range(args.rounds):
                base.append(run_at(base_tree, script, script_args))
                new.append(run_at(ROOT, script, script_args))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT, check=False)
    report(args.base, args.rounds, bench, base, new)


def report(base_rev: str, rounds: int, bench: list[str], base: list[dict], new: list[dict]) -> None:
    """Print the table of medians and ratios and write bench/results/compare-<benchmark>.json."""
    script, script_args = bench[0], bench[1:]
    rows = compare(base, new)
    print(f"\n{script} {' '.join(script_args)}: base {base_rev}, {rounds} rounds each, medians")
    print(f"{'row':<28} {'field':<28} {'base':>12} {'new':>12} {'new/base':>9}")
    for row in rows:
        print(f"{row['row']:<28} {row['field']:<28} {row['base']:>12} {row['new']:>12} {row['ratio']!s:>9}")
    results = ROOT / "bench" / "results" / f"compare-{Path(script).stem}.json"
    results.write_text(json.dumps({"base": base_rev, "rounds": rounds, "bench": bench,
                                   "base_runs": base, "new_runs": new, "rows": rows}, indent=2) + "\n")
    print(f"wrote {results}")


if __name__ == "__main__":
    main()
