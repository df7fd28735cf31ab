#!/usr/bin/env python3
"""Prints the median time and throughput of each benchmark in a Google Benchmark JSON file."""
import json
import sys


def main(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    ctx = report.get("context", {})
    print(f"# {ctx.get('cpu_model', '?')}, {ctx.get('cores', '?')} cores, "
          f"{ctx.get('kernel', '?')}, {ctx.get('compiler', '?')}")
    quiet = {"true": "quiet", "false": "NOT QUIET"}.get(ctx.get("quiet", ""), "quiet not recorded")
    print(f"# commit {ctx.get('git_commit', '?')}, load average {ctx.get('load_average', 'not recorded')} "
          f"at the start ({quiet})")
    rows = [b for b in report["benchmarks"] if b.get("aggregate_name") == "median"]
    if not rows:  # run without repetitions: every entry is a single run
        rows = [b for b in report["benchmarks"] if b.get("run_type") == "iteration"]
    width = max((len(b["run_name"]) for b in rows), default=10)
    for b in rows:
        items = b.get("items_per_second")
        rate = f"{items / 1e6:10.2f} M items/s" if items else ""
        print(f"{b['run_name']:<{width}}  {b['real_time']:12.1f} {b['time_unit']:<2}  {rate}")


if __name__ == "__main__":
    for p in sys.argv[1:]:
        main(p)
