"""Ingest benchmark: Runbell's tracking client against wandb's client in offline mode.

Same workload for both, each in a fresh process: init → 10 metrics × 20,000 steps → finish().
Reports points/s (init to finish() returning) and log() call latency.

    python benchmarks/ingest.py [--steps 20000] [--metrics 10]

wandb is optional (`pip install wandb`, the `bench` extra); without it only Runbell is measured.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def workload(steps: int, metrics: int) -> list[dict[str, float]]:
    """Built before timing starts, so both clients time only their own work."""
    return [{f"train/m{k}": 1.0 / (step + k + 1) for k in range(metrics)} for step in range(steps)]


def percentiles_us(latencies_ns: list[int]) -> dict[str, float]:
    ordered = sorted(latencies_ns)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000

    return {"p50": at(0.50), "p99": at(0.99), "p999": at(0.999), "max": ordered[-1] / 1000}


def measure_runbell(rows: list[dict[str, float]], workdir: str) -> dict:
    from store import runs
    from store import tracking as rb
    from store.db import Database

    db_url = f"sqlite:///{workdir}/bench.db"
    Database(db_url).dispose()  # migrate up front: schema creation is not ingest
    latencies = []
    clock = time.perf_counter_ns
    start = time.perf_counter()
    run = rb.init(project="bench", db_url=db_url)
    for step, row in enumerate(rows):
        t0 = clock()
        run.log(row, step=step)
        latencies.append(clock() - t0)
    logged = time.perf_counter()
    run.finish()
    end = time.perf_counter()

    db = Database(db_url)
    stored = sum(len(runs.metric_series(db, run.id, key)[0]) for key in rows[0])
    db.dispose()
    return {"seconds": end - start, "log_loop_seconds": logged - start, "stored": stored,
            "latency_us": percentiles_us(latencies)}


def measure_wandb(rows: list[dict[str, float]], workdir: str) -> dict:
    os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=workdir,
                      WANDB_CONSOLE="off", WANDB_DISABLE_GIT="true", WANDB__DISABLE_STATS="true")
    import wandb

    latencies = []
    clock = time.perf_counter_ns
    start = time.perf_counter()
    run = wandb.init(project="bench", dir=workdir, mode="offline")
    for step, row in enumerate(rows):
        t0 = clock()
        run.log(row, step=step)
        latencies.append(clock() - t0)
    logged = time.perf_counter()
    run.finish()
    end = time.perf_counter()
    return {"seconds": end - start, "log_loop_seconds": logged - start, "stored": None,
            "version": wandb.__version__, "latency_us": percentiles_us(latencies)}


def child(client: str, steps: int, metrics: int) -> None:
    rows = workload(steps, metrics)
    with tempfile.TemporaryDirectory(prefix=f"ingest-{client}-") as workdir:
        result = measure_runbell(rows, workdir) if client == "runbell" else measure_wandb(rows, workdir)
    print("RESULT " + json.dumps(result), flush=True)


def run_child(client: str, steps: int, metrics: int) -> tuple[dict | None, str]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", client, "--steps", str(steps), "--metrics", str(metrics)],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=900,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):]), ""
    problem = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
    return None, problem


def report(name: str, result: dict, points: int) -> None:
    lat = result["latency_us"]
    stored = "" if result["stored"] is None else f", {result['stored']:,} points read back"
    print(f"{name:<22} {points / result['seconds']:>12,.0f} points/s   total {result['seconds']:6.2f} s "
          f"(log loop {result['log_loop_seconds']:.2f} s){stored}")
    print(f"{'':<22} log() latency µs: p50 {lat['p50']:.1f}  p99 {lat['p99']:.1f}  "
          f"p99.9 {lat['p999']:.1f}  max {lat['max']:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--child", choices=("runbell", "wandb"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.steps, args.metrics)
        return
    points = args.steps * args.metrics
    print(f"workload: {args.metrics} metrics x {args.steps:,} steps = {points:,} points, one process, "
          f"Python {sys.version.split()[0]}")
    ours, problem = run_child("runbell", args.steps, args.metrics)
    if ours is None:
        print(f"runbell client failed: {problem}")
        sys.exit(1)
    report("runbell (SQLite)", ours, points)
    theirs, problem = run_child("wandb", args.steps, args.metrics)
    if theirs is None:
        print(f"wandb offline: not measured ({problem})")
        return
    report(f"wandb {theirs['version']} offline", theirs, points)
    print(f"ratio: runbell ingests {theirs['seconds'] / ours['seconds']:.2f}x the points/s of wandb; "
          f"wandb's log() p99 is {theirs['latency_us']['p99'] / ours['latency_us']['p99']:.1f}x runbell's")


if __name__ == "__main__":
    main()
