"""Alert latency: from logging a value that crosses a threshold to the Slack message arriving.

Two paths, each with N crossings (one run, cooldown 0, latest value > 0.5):
  store: `store.runs.append_points` of the crossing value
  client: the tracking client's `run.log()` (includes its background flush, 0.1 s by default)
The engine runs with its defaults (poll every 0.2 s); Slack is the loopback fake. Each crossing
waits a random fraction of the poll interval first, so crossings do not phase-lock to the poll.

    python benchmarks/alert_latency.py [--crossings 40] [--poll 0.2]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keyring  # noqa: E402

from store import automations, integrations, runs, teams, tracking  # noqa: E402
from store.db import Database  # noqa: E402

from desktop.engine import Engine, conditions  # noqa: E402
from tests.support.engine_setup import RecordingNotifier  # noqa: E402
from tests.support.fake_slack import FakeSlack  # noqa: E402
from tests.support.memory_keyring import MemoryKeyring  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def setup(db: Database, fake: FakeSlack, project_name: str) -> None:
    team, _ = teams.ensure_default_team(db, "bench")
    project = teams.get_or_create_project(db, team.id, project_name)
    slack = integrations.create_slack(db, team.id, workspace="bench", channel=f"#{project_name}",
                                      webhook_url=fake.add_hook())
    automations.create_automation(
        db, team_id=team.id, project_id=project.id, name=f"latency {project_name}", event_type="RUN_METRIC",
        event_filter=conditions.threshold_filter("val/acc", agg=None, cmp="$gt", threshold=0.5),
        action_type="NOTIFICATION", action_config={"integration_id": slack.id, "title": "crossing"},
        cooldown_seconds=0,
    )


def pause(poll: float) -> None:
    time.sleep(random.uniform(0, poll))


def via_store(db: Database, fake: FakeSlack, crossings: int, poll: float) -> list[float]:
    setup(db, fake, "store-path")
    team, _ = teams.ensure_default_team(db, "bench")
    run = runs.create_run(db, teams.get_or_create_project(db, team.id, "store-path").id, name="bench")
    latencies, step, base = [], 0, len(fake.messages)
    for i in range(crossings):
        runs.append_points(db, run.id, [("val/acc", step, 0.1, time.time())])
        pause(poll)
        sent = time.monotonic()
        runs.append_points(db, run.id, [("val/acc", step + 1, 0.9, time.time())])
        step += 2
        message = fake.wait_for_messages(base + i + 1, timeout=30)[-1]
        latencies.append(message.arrived_at - sent)
    return latencies


def via_client(db_url: str, db: Database, fake: FakeSlack, crossings: int, poll: float) -> list[float]:
    setup(db, fake, "client-path")
    latencies, base = [], len(fake.messages)
    with tracking.init(project="client-path", name="bench", db_url=db_url, username="bench") as run:
        for i in range(crossings):
            run.log({"val/acc": 0.1}, step=2 * i)
            pause(poll)
            sent = time.monotonic()
            run.log({"val/acc": 0.9}, step=2 * i + 1)
            message = fake.wait_for_messages(base + i + 1, timeout=30)[-1]
            latencies.append(message.arrived_at - sent)
    return latencies


def report(name: str, latencies: list[float]) -> None:
    ms = [x * 1000 for x in latencies]
    print(f"{name:>6}: n={len(ms)}  p50={percentile(ms, 50):7.1f} ms  p99={percentile(ms, 99):7.1f} ms  "
          f"mean={statistics.fmean(ms):7.1f} ms  max={max(ms):7.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crossings", type=int, default=40)
    parser.add_argument("--poll", type=float, default=0.2, help="engine poll interval in seconds")
    args = parser.parse_args()
    keyring.set_keyring(MemoryKeyring())
    with tempfile.TemporaryDirectory() as tmp, FakeSlack() as fake:
        db_url = f"sqlite:///{tmp}/bench.db"
        db = Database(db_url)
        engine = Engine(db, poll_seconds=args.poll, notifier=RecordingNotifier())
        engine.start()
        try:
            store_lat = via_store(db, fake, args.crossings, args.poll)
            client_lat = via_client(db_url, db, fake, args.crossings, args.poll)
        finally:
            engine.stop()
            db.dispose()
    print(f"alert latency, engine poll {args.poll:g} s, {args.crossings} crossings per path")
    report("store", store_lat)
    report("client", client_lat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
