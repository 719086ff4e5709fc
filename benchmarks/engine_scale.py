"""Engine at scale (issue 3): 1,000 enabled automations over 100 live runs.

Setup: 10 projects × 10 runs; in each project 100 RUN_METRIC automations (10 metrics m0..m9 ×
10 thresholds 10, 15, ..., 55; half on the latest value, half on MAX over 5), each a webhook to a
loopback receiver. Every run logs the 10 metrics at 10 steps/s (values in [0, 1)), written like
the tracking client does (one batch per run every `--flush` seconds). One run per project (10 %)
jumps m0 to ~100 at a random moment: that crosses all 10 m0 thresholds of its project, so the
minute should deliver 10 × 10 = 100 webhooks.

The engine is the headless `runbell engine` in its own process (default settings). Printed:
- latency crossing→delivery: from the commit of the batch holding the crossing to the request's
  arrival at the receiver; and detection→delivery: from the execution's `triggered_at`;
- the engine process's CPU % (of one core) over the run, and its RSS: peak, and after 25 % and
  100 % of the run (flat memory = the two close);
- how long the engine took to catch up with the event log after the writers stopped.

    python benchmarks/engine_scale.py [--seconds 60] [--flush 1.0]
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from store import automations, events, executions, integrations, runs, teams  # noqa: E402
from store.db import Database  # noqa: E402

from desktop.engine import conditions  # noqa: E402
from tests.support.fake_webhook import FakeWebhook  # noqa: E402

PROJECTS, RUNS_PER_PROJECT, METRICS, THRESHOLDS = 10, 10, 10, 10
STEPS_PER_SECOND = 10
ENGINE = "import sys; from desktop.engine.service import run_headless; sys.exit(run_headless(sys.argv[1]))"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


class ProcessMeter:
    """CPU time and RSS of a process, from psutil if installed, else Linux /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        try:
            import psutil

            self._proc = psutil.Process(pid)
        except ImportError:
            self._proc = None
        self.samples: list[tuple[float, int]] = []

    def cpu_seconds(self) -> float:
        if self._proc is not None:
            times = self._proc.cpu_times()
            return times.user + times.system
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss(self) -> int:
        if self._proc is not None:
            return self._proc.memory_info().rss
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def sample(self) -> None:
        self.samples.append((time.monotonic(), self.rss()))


def setup(db: Database, receiver: FakeWebhook) -> list[tuple[str, bool]]:
    """Projects, runs, automations; returns [(run id, crosses)]."""
    team, _ = teams.ensure_default_team(db, "bench")
    hook = integrations.create_webhook(db, team.id, name="receiver", url=receiver.url)
    payload = '{"run": "${run_id}", "automation": "${automation_name}", "step": ${step}}'
    out = []
    for p in range(PROJECTS):
        project = teams.get_or_create_project(db, team.id, f"project-{p}")
        for m in range(METRICS):
            for t in range(THRESHOLDS):
                agg = "MAX" if t % 2 else None
                automations.create_automation(
                    db, team_id=team.id, project_id=project.id, name=f"p{p} m{m} t{t}", event_type="RUN_METRIC",
                    event_filter=conditions.threshold_filter(f"m{m}", agg=agg, window=5, cmp="$gt",
                                                             threshold=10 + 5 * t),
                    action_type="GENERIC_WEBHOOK",
                    action_config={"integration_id": hook.id, "request_payload": payload})
        for r in range(RUNS_PER_PROJECT):
            run = runs.create_run(db, project.id, name=f"p{p}-run{r}", username="bench")
            out.append((run.id, r == 0))
    return out


def write_loop(db: Database, plan: list[tuple[str, bool]], seconds: float, flush: float,
               meter: ProcessMeter) -> dict[str, float]:
    """Log every run's metrics in real time; returns {run id: wall time the crossing was committed}."""
    rng = random.Random(7)
    jump_at = {run_id: rng.uniform(0.15, 0.85) * seconds for run_id, crosses in plan if crosses}
    committed: dict[str, float] = {}
    step = {run_id: 0 for run_id, _ in plan}
    start = time.monotonic()
    next_tick, next_sample = start + flush, start
    while True:
        now = time.monotonic()
        if now >= next_sample:
            meter.sample()
            next_sample += 1.0
        if now < next_tick:
            time.sleep(min(next_tick, next_sample) - now)  # pacing the writer, not waiting on a result
            continue
        elapsed = next_tick - start
        target = int(elapsed * STEPS_PER_SECOND)
        for run_id, _ in plan:
            points, wall = [], time.time()
            for s in range(step[run_id], target):
                for m in range(METRICS):
                    value = rng.random()
                    if m == 0 and run_id in jump_at and s / STEPS_PER_SECOND >= jump_at[run_id]:
                        value += 100.0
                    points.append((f"m{m}", s, value, wall))
            if points:
                runs.append_points(db, run_id, points)
                if run_id in jump_at and run_id not in committed and any(v > 50 for _, _, v, _ in points):
                    committed[run_id] = time.time()
            step[run_id] = target
        for run_id, _ in plan:
            runs.heartbeat(db, run_id)
        next_tick += flush
        if elapsed >= seconds:
            return committed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the runs log (default 60)")
    parser.add_argument("--flush", type=float, default=1.0, help="seconds between a run's batches (default 1)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="runbell-scale-"))
    db_url = f"sqlite:///{tmp / 'scale.db'}"
    db = Database(db_url)
    with FakeWebhook() as receiver:
        plan = setup(db, receiver)
        expected = sum(crosses for _, crosses in plan) * THRESHOLDS
        print(f"{len(automations.list_automations(db, enabled_only=True))} enabled automations, {len(plan)} runs × "
              f"{METRICS} metrics at {STEPS_PER_SECOND} steps/s for {args.seconds:g} s (batches every {args.flush:g} s); "
              f"{expected} crossings expected")
        env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_STATE_HOME=str(tmp / "state"))
        engine_log = (tmp / "engine-stderr.log").open("w")
        engine = subprocess.Popen([sys.executable, "-c", ENGINE, db_url], env=env,
                                  stdout=subprocess.DEVNULL, stderr=engine_log)
        meter = ProcessMeter(engine.pid)
        try:
            time.sleep(2.0)  # let the engine start (imports, first evaluation pass) before measuring
            cpu0, wall0 = meter.cpu_seconds(), time.monotonic()
            committed = write_loop(db, plan, args.seconds, args.flush, meter)
            wrote_until = time.monotonic()
            last = events.last_event_id(db)
            while (events.get_cursor(db, "engine") or 0) < last and time.monotonic() - wrote_until < 120:
                time.sleep(0.1)
            caught_up = time.monotonic() - wrote_until
            deadline = time.monotonic() + 60
            while len(receiver.requests) < expected and time.monotonic() < deadline:
                time.sleep(0.1)
            cpu1, wall1 = meter.cpu_seconds(), time.monotonic()
            meter.sample()
        finally:
            engine.send_signal(signal.SIGTERM)
            try:
                stopped = f"exit code {engine.wait(60)}"
            except subprocess.TimeoutExpired:
                engine.kill()
                stopped = "did NOT stop within 60 s of SIGTERM (killed)"
            engine_log.close()
        offset = time.time() - time.monotonic()
        import json

        end_to_end, detection = [], []
        fired = {x.delivery_id: x for x in executions.list_executions(db, limit=100_000)}
        for received in receiver.requests:
            body = json.loads(received.body)
            arrived = received.arrived_at + offset
            if body["run"] in committed:
                end_to_end.append(arrived - committed[body["run"]])
            execution = fired.get(FakeWebhook.header(received, "X-Runbell-Delivery") or "")
            if execution is not None:
                detection.append(arrived - execution.triggered_at.timestamp())
    print(f"delivered {len(receiver.requests)} of {expected}")
    for name, values in (("crossing→delivery", end_to_end), ("detection→delivery", detection)):
        if values:
            print(f"{name:>19}: p50 {percentile(values, 50) * 1000:7.0f} ms   p99 {percentile(values, 99) * 1000:7.0f} ms"
                  f"   max {max(values) * 1000:7.0f} ms   (n={len(values)})")
    rss = [r for _, r in meter.samples]
    quarter = rss[max(0, len(rss) // 4 - 1)] if rss else 0
    print(f"engine CPU: {100 * (cpu1 - cpu0) / (wall1 - wall0):.0f} % of one core over {wall1 - wall0:.0f} s")
    print(f"engine RSS: peak {max(rss) / 2**20:.0f} MiB; at 25 % {quarter / 2**20:.0f} MiB, at end {rss[-1] / 2**20:.0f} MiB")
    print(f"engine caught up with the event log {caught_up:.1f} s after the writers stopped"
          + ("" if caught_up < 120 else " (gave up waiting)"))
    print(f"engine on SIGTERM: {stopped}; its log: {tmp / 'engine-stderr.log'}")
    db.dispose()
    return 0 if len(receiver.requests) >= expected else 1


if __name__ == "__main__":
    sys.exit(main())
