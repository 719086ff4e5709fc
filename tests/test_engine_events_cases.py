"""Field cases through the running engine (threads, loopback HTTP, a real training process):
C4 (SIGKILL → crashed → one firing), C7 (a webhook loop stopped by the chain depth), C8 (200 runs
finishing at once, project scope)."""
from __future__ import annotations

import json
import os
import signal
from datetime import timedelta

from store import automations, events, executions, integrations, runs, teams

from desktop.engine import run_events
from desktop.engine.actions.webhook import DELIVERY_HEADER
from desktop.engine.evaluator import CURSOR
from tests.support.engine_fixtures import make_engine, notifier, world  # noqa: F401  (fixtures)
from tests.support.fake_webhook import FakeWebhook
from tests.support.waiting import wait_until
from tests.test_tracking_states import Child


def test_c4_sigkilled_training_becomes_crashed_and_fires_failed_exactly_once(world, db, db_url, make_engine):
    project = teams.get_or_create_project(db, world.team.id, "paced")
    auto = automations.create_automation(
        db, team_id=world.team.id, project_id=project.id, name="run failed", event_type="RUN_STATE",
        event_filter=run_events.state_filter(["FAILED"]), action_type="NO_OP", action_config={})
    make_engine(heartbeat_timeout=timedelta(seconds=2))
    child = Child("paced", db_url, "0.05")
    child.expect("READY")
    os.kill(child.proc.pid, signal.SIGKILL)
    assert child.finish()[0] == -signal.SIGKILL
    wait_until(lambda: runs.get_run(db, child.run_id).state == "crashed", timeout=15,
               message="the SIGKILLed run was not marked crashed")
    found = wait_until(lambda: [x for x in _executions(db, project.id) if x.automation_id == auto.id], timeout=10)
    assert [(x.run_id, x.status, x.event["new_run_state"]) for x in found] == [(child.run_id, "finished", "crashed")]
    wait_until(lambda: (events.get_cursor(db, CURSOR) or 0) >= _last_run_event(db), timeout=10)
    assert len([x for x in _executions(db, project.id) if x.automation_id == auto.id]) == 1


def _executions(db, project_id):
    return executions.list_executions(db, project_id=project_id)


def _last_run_event(db) -> int:
    found = events.events_after(db, 0, limit=100_000, types=(events.RUN_STATE, events.METRICS))
    return found[-1].id if found else 0


class LoopingReceiver(FakeWebhook):
    """Reacts to every delivery by starting a new run in the project, caused by that delivery:
    with a "run started" automation posting here, a loop with no natural end."""

    def __init__(self, db, project_id: int) -> None:
        super().__init__()
        self.db, self.project_id = db, project_id

    def handle(self, method, path, headers, body):
        delivery = next(v for k, v in headers.items() if k.lower() == DELIVERY_HEADER.lower())
        runs.create_run(self.db, self.project_id, caused_by=delivery)
        return 200, '{"ok": true}', {}


def test_c7_a_webhook_that_triggers_its_own_automation_stops_at_the_chain_depth(world, db, make_engine):
    with LoopingReceiver(db, world.project.id) as receiver:
        hook = integrations.create_webhook(db, world.team.id, name="retrain", url=receiver.url)
        auto = world.automation(name="on run start", event_type="RUN_STATE", action_type="GENERIC_WEBHOOK",
                                event_filter=run_events.state_filter(["RUNNING"]),
                                action_config={"integration_id": hook.id, "request_payload": '{"run": "${run_id}"}'})
        make_engine()
        world.run("origin")
        found = wait_until(lambda: (lambda xs: xs if any(x.status == "skipped" for x in xs)
                                    and all(x.status != "pending" for x in xs) else None)(world.executions(auto)),
                           timeout=20, message="the chain did not stop")
        assert [(x.status, x.event["chain_depth"]) for x in found] == \
            [("finished", 1), ("finished", 2), ("finished", 3), ("skipped", 4)]
        assert found[-1].reason.startswith("chain depth limit (3) reached")
        assert len(receiver.requests) == 3
        assert [json.loads(r.body)["run"] for r in receiver.requests] == [x.run_id for x in found[:3]]


def test_c8_two_hundred_runs_finishing_fire_only_where_the_automation_lives(world, db, make_engine):
    prod = teams.get_or_create_project(db, world.team.id, "prod")
    sweep = teams.get_or_create_project(db, world.team.id, "sweep")
    with FakeWebhook() as receiver:
        hook = integrations.create_webhook(db, world.team.id, name="finished", url=receiver.url)
        auto = automations.create_automation(
            db, team_id=world.team.id, project_id=prod.id, name="run finished", event_type="RUN_STATE",
            event_filter=run_events.state_filter(["FINISHED"]), action_type="GENERIC_WEBHOOK",
            action_config={"integration_id": hook.id, "request_payload": '{"run": "${run_id}"}'})
        make_engine()

        def finish_200() -> set[str]:
            ids = set()
            for i in range(200):
                run = runs.create_run(db, sweep.id, name=f"step-{i}")
                runs.set_state(db, run.id, "finished", exit_code=0)
                ids.add(run.id)
            return ids

        finish_200()
        last = events.last_event_id(db)
        wait_until(lambda: (events.get_cursor(db, CURSOR) or 0) >= last, timeout=30)
        assert _executions(db, sweep.id) == [] and receiver.requests == []
        automations.update_automation(db, auto.id, project_id=sweep.id)
        ids = finish_200()
        done = wait_until(lambda: (lambda xs: xs if len(xs) >= 200 and all(x.status == "finished" for x in xs)
                                   else None)(_executions(db, sweep.id)), timeout=60)
        assert len(done) == 200 and {x.run_id for x in done} == ids
        receiver.wait_for_requests(200)
        assert {json.loads(r.body)["run"] for r in receiver.requests} == ids
