"""The engine end to end: real temp SQLite, points appended through the store, real HTTP to
loopback fakes (Slack-compatible and a generic webhook), the in-memory keyring. No Qt.

Nothing sleeps: tests wait on the fakes' conditions or poll the database with a bound.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit
from datetime import timedelta

import pytest

from store import automations, events, executions, integrations, runs, secrets, teams

from desktop.engine import resend, send_test
from desktop.engine.actions.desktop_notify import NativeNotifier, NotificationError
from tests.support.engine_fixtures import fake_hook, fake_slack, make_engine, notifier, settled, world  # noqa: F401
from tests.support.engine_setup import RecordingNotifier
from tests.support.fake_webhook import FakeWebhook
from tests.support.memory_keyring import memory_keyring  # noqa: F401  (fixture)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.usefixtures("memory_keyring")
ROOT = Path(__file__).resolve().parents[1]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Slack ---------------------------------------------------------------------------------------

def test_crossing_sends_exactly_the_expected_slack_message(world, fake_slack, make_engine):
    slack = world.slack(fake_slack.webhook_url)
    auto = world.automation(threshold=0.9, action_config={
        "integration_id": slack.id, "title": "Accuracy reached", "message": "Run ${run_name} is good",
        "severity": "INFO"})
    run = world.run()
    make_engine()
    world.log(run, "val/acc", [0.5, 0.95, 0.96])  # windows: 0.80 (false), then the third value...
    world.log(run, "val/acc", [0.97])  # ...AVERAGE(0.95, 0.96, 0.97) = 0.96 > 0.9 at step 3
    [message] = fake_slack.wait_for_messages(1)
    [execution] = settled(world, auto, status="finished")
    header, text, fields, footer = message.blocks
    assert header["text"]["text"] == ":information_source: Accuracy reached"
    assert text["text"]["text"] == "Run golden-sun-3 is good"
    assert [f["text"] for f in fields["fields"]] == [
        "*Project*\ndigits", f"*Run*\ngolden-sun-3 ({run.id})", "*Condition*\nAVERAGE(val/acc) over 3 &gt; 0.9",
        "*Value*\n0.96", "*Step*\n3", "*User*\nalice"]
    assert footer["elements"][0]["text"] == "Runbell automation *acc watch*"
    assert message.text.startswith("[INFO] Accuracy reached: Run golden-sun-3 is good")
    assert message.headers["X-Runbell-Delivery"] == execution.delivery_id
    assert [(a.status_code, a.response_excerpt) for a in execution.attempts] == [(200, "ok")]
    assert execution.action["channel"] == "#ml-alerts"
    assert len(fake_slack.requests) == 1


def test_c5_slack_429_retry_after_is_honoured(world, fake_slack, make_engine):
    """C5: 429 with Retry-After: 2 twice, then 200 → one message, no retry before 2 s, 3 attempts."""
    fake_slack.queue(429, "rate_limited", {"Retry-After": "2"}, times=2)
    slack = world.slack(fake_slack.webhook_url)
    auto = world.automation(agg=None, threshold=0.5, action_config={"integration_id": slack.id})
    make_engine()
    world.log(world.run(), "val/acc", [0.9])
    fake_slack.wait_for_messages(1, timeout=20)
    [execution] = settled(world, auto, status="finished")
    first, second, third = fake_slack.requests
    assert second.arrived_at - first.arrived_at >= 2.0
    assert third.arrived_at - second.arrived_at >= 2.0
    assert [a.status_code for a in execution.attempts] == [429, 429, 200]
    assert "retry after 2 s" in execution.attempts[0].error
    assert len(fake_slack.messages) == 1
    assert {r.headers["X-Runbell-Delivery"] for r in fake_slack.requests} == {execution.delivery_id}


def test_slack_4xx_fails_at_once_without_retry(world, fake_slack, make_engine):
    slack = world.slack(fake_slack.base_url + "/services/TNOPE/BNOPE/unknownhookpath")
    auto = world.automation(agg=None, threshold=0.5, action_config={"integration_id": slack.id})
    make_engine()
    world.log(world.run(), "val/acc", [0.9])
    [execution] = settled(world, auto, status="failed")
    assert [(a.status_code, a.response_excerpt) for a in execution.attempts] == [(404, "no_service")]
    assert execution.reason == "refused (HTTP 404): no_service"
    assert "unknownhookpath" not in json.dumps(execution.action)


def test_missing_slack_credential_fails_with_a_clear_reason(world, fake_slack, make_engine, memory_keyring):  # noqa: F811
    slack = world.slack(fake_slack.webhook_url)
    memory_keyring.values.clear()  # the keyring lost the webhook URL
    auto = world.automation(agg=None, threshold=0.5, action_config={"integration_id": slack.id})
    make_engine()
    world.log(world.run(), "val/acc", [0.9])
    [execution] = settled(world, auto, status="failed")
    assert len(execution.attempts) == 1
    assert "webhook URL of Slack integration 'acme #ml-alerts' is missing from the OS keyring" in execution.reason
    assert fake_slack.requests == []


def test_unreachable_endpoint_fails_after_retries_and_others_still_deliver(world, fake_slack, make_engine):
    dead = integrations.create_slack(world.db, world.team.id, workspace="acme", channel="#dead",
                                     webhook_url=f"http://127.0.0.1:{closed_port()}/services/T9/B9/secretpathtoken")
    live = world.slack(fake_slack.webhook_url)
    doomed = world.automation(name="to dead", agg=None, threshold=0.5, action_config={"integration_id": dead.id})
    fine = world.automation(name="to live", agg=None, threshold=0.5, action_config={"integration_id": live.id})
    make_engine(backoff_base=0.05, max_attempts=4)
    world.log(world.run(), "val/acc", [0.9])
    fake_slack.wait_for_messages(1)
    [failed] = settled(world, doomed, status="failed")
    assert len(failed.attempts) == 4
    assert all("connection refused by 127.0.0.1" in a.error for a in failed.attempts)
    assert failed.reason.startswith("gave up after 4 attempts; last error: connection refused")
    assert "secretpathtoken" not in failed.reason + "".join(a.error for a in failed.attempts)
    settled(world, fine, status="finished")
    world.log(world.run("second"), "val/acc", [0.9])  # the engine keeps serving
    fake_slack.wait_for_messages(2)


def test_a_hung_endpoint_does_not_delay_other_deliveries(world, fake_slack, fake_hook, make_engine):
    fake_hook.queue(200, hang=30)  # the first webhook request never gets an answer in time
    hook = integrations.create_webhook(world.db, world.team.id, name="slow", url=fake_hook.url)
    slack = world.slack(fake_slack.webhook_url)
    slow = world.automation(name="slow hook", agg=None, threshold=0.5, action_type="GENERIC_WEBHOOK",
                            action_config={"integration_id": hook.id, "request_payload": '{"run": "${run_name}"}'})
    world.automation(name="slack", agg=None, threshold=0.5, action_config={"integration_id": slack.id})
    make_engine(http_timeout=3, backoff_base=0.05)
    world.log(world.run(), "val/acc", [0.9])
    [hung] = fake_hook.wait_for_requests(1)
    [message] = fake_slack.wait_for_messages(1)
    assert message.arrived_at - hung.arrived_at < 3.0  # delivered before the hung attempt times out
    [execution] = settled(world, slow, status="finished")
    port = urlsplit(fake_hook.url).port
    assert execution.attempts[0].error == f"no response from 127.0.0.1:{port} within 3 s"
    assert execution.attempts[1].status_code == 200


# --- webhooks ------------------------------------------------------------------------------------

def test_c6_webhook_bearer_signature_and_masked_history(world, fake_hook, make_engine):
    """C6: token GH_PAT=tok-123 and signing secret SIGN=k3y; payload {"auth": "${ACCESS_TOKEN}"}."""
    secrets.set_secret(world.db, world.team.id, "GH_PAT", "tok-123")
    secrets.set_secret(world.db, world.team.id, "SIGN", "k3y")
    hook = integrations.create_webhook(world.db, world.team.id, name="ci", url=fake_hook.url,
                                       access_token_secret="GH_PAT", signing_secret="SIGN")
    auto = world.automation(agg=None, threshold=0.5, action_type="GENERIC_WEBHOOK", action_config={
        "integration_id": hook.id,
        "request_payload": '{"auth": "${ACCESS_TOKEN}", "pat": "${GH_PAT}", "run": "${run_name}", "v": ${metric_value}}'})
    make_engine()
    world.log(world.run('quote"d\\run 🚀'), "val/acc", [0.9])
    [request] = fake_hook.wait_for_requests(1)
    [execution] = settled(world, auto, status="finished")
    assert FakeWebhook.header(request, "Authorization") == "Bearer tok-123"
    assert FakeWebhook.json(request) == {"auth": "tok-123", "pat": "tok-123", "run": 'quote"d\\run 🚀', "v": 0.9}
    assert FakeWebhook.header(request, "X-Wandb-Signature") == FakeWebhook.expected_signature("k3y", request)
    assert FakeWebhook.header(request, "Content-Type") == "application/json"
    assert FakeWebhook.header(request, "X-Runbell-Delivery") == execution.delivery_id
    shown = json.loads(execution.action["rendered_payload"])
    assert shown["auth"] == "********" and shown["pat"] == "********"
    stored = repr(executions.list_executions(world.db))
    assert "tok-123" not in stored and "k3y" not in stored


def test_webhook_retry_keeps_the_delivery_id(world, fake_hook, make_engine):
    fake_hook.queue(503, "busy")
    hook = integrations.create_webhook(world.db, world.team.id, name="flaky", url=fake_hook.url)
    auto = world.automation(agg=None, threshold=0.5, action_type="GENERIC_WEBHOOK",
                            action_config={"integration_id": hook.id, "request_payload": '{"a": 1}'})
    make_engine(backoff_base=0.05)
    world.log(world.run(), "val/acc", [0.9])
    first, second = fake_hook.wait_for_requests(2)
    [execution] = settled(world, auto, status="finished")
    assert FakeWebhook.header(first, "X-Runbell-Delivery") == FakeWebhook.header(second, "X-Runbell-Delivery")
    assert [a.status_code for a in execution.attempts] == [503, 200]


def test_missing_secret_fails_without_retry_and_without_leaking(world, fake_hook, make_engine, memory_keyring):  # noqa: F811
    secrets.set_secret(world.db, world.team.id, "GH_PAT", "tok-123")
    secrets.set_secret(world.db, world.team.id, "SIGN", "k3y")
    hook = integrations.create_webhook(world.db, world.team.id, name="ci", url=fake_hook.url,
                                       access_token_secret="GH_PAT", signing_secret="SIGN")
    memory_keyring.values = {k: v for k, v in memory_keyring.values.items() if v != "k3y"}
    auto = world.automation(agg=None, threshold=0.5, action_type="GENERIC_WEBHOOK",
                            action_config={"integration_id": hook.id, "request_payload": "{}"})
    make_engine()
    world.log(world.run(), "val/acc", [0.9])
    [execution] = settled(world, auto, status="failed")
    assert len(execution.attempts) == 1 and fake_hook.requests == []
    assert execution.reason == ("the signing secret SIGN of webhook 'ci' is not in the OS keyring; "
                                "set it again in Team Settings → Secrets")
    assert "tok-123" not in repr(execution)


# --- desktop, restart, resend, test ---------------------------------------------------------------

def test_notify_desktop_and_run_alert_reach_the_notifier(world, fake_slack, make_engine, notifier):
    slack = world.slack(fake_slack.webhook_url)
    auto = world.automation(agg=None, threshold=0.5, action_config={
        "integration_id": slack.id, "title": "Acc ${metric_value}", "notify_desktop": True, "severity": "WARN"})
    run = world.run()
    make_engine()
    world.log(run, "val/acc", [0.75])
    runs.record_alert(world.db, run.id, "Loss exploded", "loss=1e9", "ERROR")
    shown = notifier.wait_for(2)
    fake_slack.wait_for_messages(1)
    assert sorted((s.title, s.severity) for s in shown) == [("Acc 0.75", "WARN"), ("Loss exploded", "ERROR")]
    assert all(s.target["run_id"] == run.id for s in shown)
    assert [x.status for x in settled(world, auto, n=2)] == ["finished", "finished"]


def test_failing_desktop_notification_is_recorded_and_engine_continues(world, db, fake_slack, make_engine):
    broken = RecordingNotifier(fail_with="no desktop notification shown: no notification server")
    slack = world.slack(fake_slack.webhook_url)
    auto = world.automation(agg=None, threshold=0.5, action_config={"integration_id": slack.id, "notify_desktop": True})
    make_engine(notifier=broken)
    world.log(world.run(), "val/acc", [0.9])
    fake_slack.wait_for_messages(1)
    primary, desktop = settled(world, auto, n=2)
    assert (primary.status, desktop.status) == ("finished", "failed")
    assert desktop.reason == "no desktop notification shown: no notification server"


def test_restarting_the_engine_never_fires_twice(world, fake_slack, make_engine):
    slack = world.slack(fake_slack.webhook_url)
    auto = world.automation(agg=None, threshold=0.5, action_config={"integration_id": slack.id})
    run = world.run()
    first = make_engine()
    world.log(run, "val/acc", [0.1, 0.9])
    fake_slack.wait_for_messages(1)
    settled(world, auto, status="finished")
    first.stop()
    second = make_engine()
    world.log(run, "val/acc", [0.95, 0.97])  # still true: no new edge
    target = events.last_event_id(world.db)
    wait_until(lambda: (events.get_cursor(world.db, "engine") or 0) >= target)
    assert second.evaluator.holds_lease()
    assert len(world.executions(auto)) == 1 and len(fake_slack.messages) == 1


def test_resend_delivers_a_new_copy(world, fake_slack, make_engine):
    slack = world.slack(fake_slack.webhook_url)
    auto = world.automation(agg=None, threshold=0.5, action_config={"integration_id": slack.id})
    engine = make_engine()
    world.log(world.run(), "val/acc", [0.9])
    [original] = settled(world, auto, status="finished")
    copy = resend(world.db, original.id)
    engine.wake()
    a, b = fake_slack.wait_for_messages(2)
    assert a.payload == b.payload
    assert copy.delivery_id != original.delivery_id and copy.event["resend_of"] == original.id
    settled(world, auto, n=2, status="finished")


def test_send_test_records_a_test_execution(world, fake_hook):
    secrets.set_secret(world.db, world.team.id, "GH_PAT", "tok-123")
    hook = integrations.create_webhook(world.db, world.team.id, name="ci", url=fake_hook.url,
                                       access_token_secret="GH_PAT")
    result = send_test(world.db, hook.id, payload='{"hello": "${event_type}", "t": "${ACCESS_TOKEN}"}')
    [request] = fake_hook.requests
    assert FakeWebhook.json(request) == {"hello": "TEST", "t": "tok-123"}
    assert result.is_test and result.status == "finished" and result.attempts[0].status_code == 200
    assert "tok-123" not in repr(result)


def test_send_test_to_slack(world, fake_slack):
    slack = world.slack(fake_slack.webhook_url)
    result = send_test(world.db, slack.id)
    [message] = fake_slack.messages
    assert message.blocks[0]["text"]["text"] == ":information_source: Runbell test"
    assert (result.status, result.reason, result.action_type) == ("finished", "test delivered", "NOTIFICATION")


def test_native_notifier_without_a_notification_server_fails_clearly(monkeypatch):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/runbell-test-bus")
    notifier = NativeNotifier()
    try:
        with pytest.raises(NotificationError, match="no desktop notification shown"):
            notifier.notify("t", "m", timeout=5)
    finally:
        notifier.close()


def test_stale_runs_are_marked_crashed(world, db, make_engine):
    run = world.run()
    make_engine(heartbeat_timeout=timedelta(seconds=0))
    wait_until(lambda: runs.get_run(db, run.id).state == "crashed")


def test_headless_engine_stops_cleanly_on_sigterm(tmp_path, db_url, db):
    """`runbell engine`: logs to stderr and a rotating file, exits 0 on SIGTERM."""
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"), PYTHONPATH=str(ROOT))
    code = "import sys; from desktop.engine.service import run_headless; sys.exit(run_headless(sys.argv[1]))"
    with subprocess.Popen([sys.executable, "-c", code, db_url], env=env, stderr=subprocess.PIPE, text=True) as proc:
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True)
        reader.start()
        try:
            seen = ""
            while "engine running on" not in seen:
                seen = lines.get(timeout=30)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            reader.join(5)
    log_file = Path(os.environ["RUNBELL_HOME"]) / "logs" / "engine.log"  # conftest's private home
    assert "engine stopped" in log_file.read_text()


def test_c8_burst_of_finished_runs_fires_only_in_its_project_and_loses_nothing(world, db, fake_slack, make_engine):
    """C8: 200 runs of project `sweep` finish within a minute; a "run finished" automation in
    `prod` fires for none of them; moved to `sweep`, it fires 200 times and delivers all 200."""
    sweep = teams.get_or_create_project(db, world.team.id, "sweep")
    prod = teams.get_or_create_project(db, world.team.id, "prod")
    slack = world.slack(fake_slack.webhook_url)
    auto = automations.create_automation(
        db, team_id=world.team.id, project_id=prod.id, name="run finished", event_type="RUN_STATE",
        event_filter={"run_filter": '{"$and": []}', "run_state_filter": {"states": ["FINISHED"]}},
        action_type="NOTIFICATION", action_config={"integration_id": slack.id})
    engine = make_engine()
    burst = [runs.create_run(db, sweep.id, name=f"step-{i}") for i in range(200)]
    for run in burst:
        runs.set_state(db, run.id, "finished", exit_code=0)
    target = events.last_event_id(db)
    wait_until(lambda: (events.get_cursor(db, "engine") or 0) >= target)
    assert executions.list_executions(db, automation_id=auto.id) == []
    automations.update_automation(db, auto.id, project_id=sweep.id)
    for run in [runs.create_run(db, sweep.id, name=f"again-{i}") for i in range(200)]:
        runs.set_state(db, run.id, "finished", exit_code=0)
    fake_slack.wait_for_messages(200, timeout=60)
    done = wait_until(lambda: len(executions.list_executions(db, automation_id=auto.id, status="finished")) == 200,
                      timeout=30) and executions.list_executions(db, automation_id=auto.id)
    assert len(done) == 200 and len({x.run_id for x in done}) == 200
    assert len(fake_slack.messages) == 200 and engine.last_error is None


def test_a_deleted_webhooks_id_given_to_a_new_one_receives_nothing_meant_for_the_old(world, make_engine):  # noqa: F811
    from tests.support.fake_webhook import FakeWebhook

    with FakeWebhook() as old_hook, FakeWebhook() as unrelated:
        old = integrations.create_webhook(world.db, world.team.id, name="old", url=old_hook.url)
        auto = world.automation(agg=None, threshold=0.5, action_type="GENERIC_WEBHOOK", cooldown_seconds=0,
                                action_config={"integration_id": old.id, "request_payload": '{"run": "${run_name}"}'})
        queued = executions.record_firing(
            world.db, automation=auto, project_id=world.project.id, run_id=None, event_type="RUN_METRIC",
            event={}, action_type="GENERIC_WEBHOOK", action=dict(auto.action_config), status="pending", reason="")
        integrations.delete_integration(world.db, old.id)
        new = integrations.create_webhook(world.db, world.team.id, name="unrelated", url=unrelated.url)
        assert new.id == old.id  # SQLite hands the freed id out again
        assert executions.get_execution(world.db, queued.id).status == "failed"
        make_engine()
        world.log(world.run(name="secret-run"), "val/acc", [0.9])
        [firing] = settled(world, auto, n=2, status=None)[1:]
        assert firing.status == "failed" and unrelated.requests == []
