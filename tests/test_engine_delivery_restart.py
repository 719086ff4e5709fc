"""The durable outbox across a killed engine, and Resend of failed deliveries."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from store import executions, integrations

from desktop.engine import resend
from tests.support.engine_fixtures import fake_hook, make_engine, notifier, settled, world  # noqa: F401
from tests.support.fake_webhook import FakeWebhook
from tests.support.memory_keyring import memory_keyring  # noqa: F401  (fixture)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.usefixtures("memory_keyring")
ROOT = Path(__file__).resolve().parents[1]
ENGINE = ("import sys; from desktop.engine.service import run_headless; "
          "sys.exit(run_headless(sys.argv[1], http_timeout=float(sys.argv[2]), poll_seconds=0.05))")


def start_engine(db_url: str, tmp_path: Path, timeout: float) -> subprocess.Popen:
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"), PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", ENGINE, db_url, str(timeout)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_killed_engine_resumes_the_delivery_with_the_same_id(world, fake_hook, db_url, tmp_path):  # noqa: F811
    fake_hook.queue(200, hang=120)  # the first request is held open: the engine is mid-delivery
    hook = integrations.create_webhook(world.db, world.team.id, name="slow", url=fake_hook.url)
    auto = world.automation(agg=None, threshold=0.5, action_type="GENERIC_WEBHOOK",
                            action_config={"integration_id": hook.id, "request_payload": '{"run": "${run_name}"}'})
    world.log(world.run("resumed"), "val/acc", [0.9])
    first_engine = start_engine(db_url, tmp_path, timeout=2)
    try:
        [held] = fake_hook.wait_for_requests(1, timeout=60)
        first_engine.send_signal(signal.SIGKILL)
        assert first_engine.wait(timeout=30) == -signal.SIGKILL
    finally:
        if first_engine.poll() is None:
            first_engine.kill()
    [pending] = world.executions(auto)
    assert pending.status == "pending" and pending.attempts == ()
    second_engine = start_engine(db_url, tmp_path, timeout=2)
    try:
        _, resumed = fake_hook.wait_for_requests(2, timeout=60)
        [execution] = settled(world, auto, status="finished", timeout=30)
        second_engine.send_signal(signal.SIGTERM)
        assert second_engine.wait(timeout=30) == 0
    finally:
        if second_engine.poll() is None:
            second_engine.kill()
    assert FakeWebhook.header(held, "X-Runbell-Delivery") == execution.delivery_id
    assert FakeWebhook.header(resumed, "X-Runbell-Delivery") == execution.delivery_id
    assert FakeWebhook.json(resumed) == {"run": "resumed"}
    assert [a.status_code for a in execution.attempts] == [200]
    assert len(fake_hook.requests) == 2 and len(world.executions()) == 1


def test_resend_of_a_failed_delivery_sends_a_new_copy(world, fake_hook, make_engine):  # noqa: F811
    fake_hook.queue(400, "bad request")
    hook = integrations.create_webhook(world.db, world.team.id, name="picky", url=fake_hook.url)
    auto = world.automation(agg=None, threshold=0.5, action_type="GENERIC_WEBHOOK",
                            action_config={"integration_id": hook.id, "request_payload": '{"v": ${metric_value}}'})
    engine = make_engine()
    world.log(world.run(), "val/acc", [0.9])
    [failed] = settled(world, auto, status="failed")
    assert failed.reason == "refused (HTTP 400): bad request"
    copy = resend(world.db, failed.id)
    engine.wake()
    first, second = fake_hook.wait_for_requests(2)
    original, again = settled(world, auto, n=2)
    assert (original.id, original.status) == (failed.id, "failed")
    assert (again.id, again.status, again.reason) == (copy.id, "finished", "delivered on attempt 1 (HTTP 200)")
    assert first.body == second.body == b'{"v": 0.9}'
    assert FakeWebhook.header(second, "X-Runbell-Delivery") == copy.delivery_id != failed.delivery_id
    assert copy.event["resend_of"] == failed.id


def test_resend_of_a_pending_delivery_makes_it_due_now(world, fake_hook):  # noqa: F811
    hook = integrations.create_webhook(world.db, world.team.id, name="later", url=fake_hook.url)
    auto = world.automation(agg=None, threshold=0.5, action_type="GENERIC_WEBHOOK",
                            action_config={"integration_id": hook.id, "request_payload": "{}"})
    record = executions.record_firing(world.db, automation=auto, project_id=world.project.id, run_id=None,
                                      event_type="RUN_METRIC", event={}, action_type="GENERIC_WEBHOOK",
                                      action=dict(auto.action_config))
    far = record.next_attempt_at.replace(year=record.next_attempt_at.year + 1)
    executions.schedule_retry(world.db, record.id, far, "waiting")
    again = resend(world.db, record.id)
    assert again.id == record.id and again.delivery_id == record.delivery_id
    assert wait_until(lambda: executions.claim_due(world.db, limit=5))[0].id == record.id
