"""Webhook delivery: Standard Webhooks headers, only the webhook's own secrets, every payload
variable, the hard per-attempt deadline, and secrets masked in logs and in the database file."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from store import integrations, secrets

from desktop.engine import masking, templating
from desktop.engine.actions import http, webhook
from tests.support.engine_fixtures import fake_hook, make_engine, notifier, settled, world  # noqa: F401
from tests.support.fake_webhook import FakeWebhook
from tests.support.memory_keyring import memory_keyring  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("memory_keyring")
KEY = b"standard-webhooks-key-bytes-0001"


def hook_automation(world, hook, payload, **kwargs):  # noqa: F811
    return world.automation(agg=None, threshold=0.5, action_type="GENERIC_WEBHOOK",
                            action_config={"integration_id": hook.id, "request_payload": payload}, **kwargs)


def verify_standard(received, secret_key: bytes) -> bool:
    """What a Standard Webhooks receiver does (standardwebhooks.com, 'Verifying webhooks')."""
    msg_id = FakeWebhook.header(received, "webhook-id")
    timestamp = FakeWebhook.header(received, "webhook-timestamp")
    signed = f"{msg_id}.{timestamp}.".encode() + received.body
    expected = base64.b64encode(hmac.new(secret_key, signed, hashlib.sha256).digest()).decode()
    versions = FakeWebhook.header(received, "webhook-signature").split(" ")
    return any(v == f"v1,{expected}" for v in versions)


def test_standard_webhooks_headers_sign_and_keep_the_id_across_retries(world, fake_hook, make_engine):  # noqa: F811
    secrets.set_secret(world.db, world.team.id, "SIGN", "whsec_" + base64.b64encode(KEY).decode())
    hook = integrations.create_webhook(world.db, world.team.id, name="std", url=fake_hook.url, signing_secret="SIGN")
    integrations.set_webhook_options(world.db, hook.id, standard_webhooks=True)
    fake_hook.queue(503, "busy")
    auto = hook_automation(world, hook, '{"run": "${run_name}"}')
    make_engine(backoff_base=0.05)
    before = int(time.time())
    world.log(world.run(), "val/acc", [0.9])
    first, second = fake_hook.wait_for_requests(2)
    [execution] = settled(world, auto, status="finished")
    for received in (first, second):
        assert FakeWebhook.header(received, "webhook-id") == execution.delivery_id
        assert FakeWebhook.header(received, "X-Runbell-Delivery") == execution.delivery_id
        assert before <= int(FakeWebhook.header(received, "webhook-timestamp")) <= int(time.time())
        assert verify_standard(received, KEY)
    # The W&B-compatible signature uses the secret text as its key, as before.
    assert FakeWebhook.header(second, "X-Wandb-Signature") == FakeWebhook.expected_signature(
        "whsec_" + base64.b64encode(KEY).decode(), second)


def test_standard_webhooks_headers_are_off_unless_asked_for(world, fake_hook, make_engine):  # noqa: F811
    hook = integrations.create_webhook(world.db, world.team.id, name="plain", url=fake_hook.url)
    hook_automation(world, hook, "{}")
    make_engine()
    world.log(world.run(), "val/acc", [0.9])
    [received] = fake_hook.wait_for_requests(1)
    assert FakeWebhook.header(received, "webhook-id") is None
    assert FakeWebhook.header(received, "webhook-signature") is None


def test_standard_signature_with_a_plain_secret_uses_its_text():
    signature = webhook.standard_signature("k3y", "msg_1", 1700000000, b'{"a":1}')
    expected = base64.b64encode(hmac.new(b"k3y", b'msg_1.1700000000.{"a":1}', hashlib.sha256).digest()).decode()
    assert signature == f"v1,{expected}"


def test_only_the_webhooks_own_secrets_resolve(world, fake_hook, make_engine):  # noqa: F811
    secrets.set_secret(world.db, world.team.id, "GH_PAT", "tok-123")
    secrets.set_secret(world.db, world.team.id, "OTHER", "not-for-this-hook")
    hook = integrations.create_webhook(world.db, world.team.id, name="ci", url=fake_hook.url,
                                       access_token_secret="GH_PAT")
    template = '{"token": "${ACCESS_TOKEN}", "pat": "${GH_PAT}", "other": "${OTHER}"}'
    names = webhook.secret_names(hook)
    assert templating.check_webhook_payload(template, "RUN_METRIC", names) == [
        "these variables do not apply and will be empty: ${OTHER}"]
    hook_automation(world, hook, template)
    make_engine()
    world.log(world.run(), "val/acc", [0.9])
    [received] = fake_hook.wait_for_requests(1)
    assert FakeWebhook.json(received) == {"token": "tok-123", "pat": "tok-123", "other": ""}


def test_every_run_metric_variable_reaches_the_receiver(world, fake_hook, make_engine):  # noqa: F811
    hook = integrations.create_webhook(world.db, world.team.id, name="all", url=fake_hook.url)
    names = [n for n in templating.RUN_METRIC_VARIABLES]
    template = "{" + ", ".join(f'"{n}": ${{{n}}}' for n in names) + "}"
    assert templating.check_webhook_payload(template, "RUN_METRIC") == []
    auto = hook_automation(world, hook, template, name="every variable")
    run = world.run("var-run")
    make_engine()
    world.log(run, "val/acc", [0.2, 0.75])
    [received] = fake_hook.wait_for_requests(1)
    body = FakeWebhook.json(received)
    assert body == {
        "event_type": "RUN_METRIC", "event_author": "alice", "entity_name": world.team.name,
        "project_name": "digits", "automation_name": auto.name, "run_name": "var-run", "run_id": run.id,
        "run_url": f"runbell://projects/digits/runs/{run.id}", "metric_name": "val/acc", "metric_value": 0.75,
        "metric_values": [0.75], "metric_filter": "val/acc > 0.5", "metric_filter_short": "val/acc > 0.5",
        "metric_current_status": True, "comparison_op": ">", "threshold": 0.5, "step": 1,
    }


def test_payload_validation_knows_each_events_variables():
    assert templating.check_webhook_payload('{"v": "${artifact_metadata.accuracy}", "a": "${alias}"}',
                                            "ADD_ARTIFACT_ALIAS") == []
    assert templating.check_webhook_payload('{"a": "${alias}"}', "ADD_ARTIFACT_TAG") == [
        "these variables do not apply and will be empty: ${alias}"]
    assert templating.check_webhook_payload('{"s": "${run_status}", "r": "${run_url}"}', "RUN_STATE") == []
    assert templating.check_webhook_payload('{"z": ${zscore}}', "RUN_METRIC_ZSCORE") == []
    assert templating.check_webhook_payload('{"z": ${zscore}}', "RUN_METRIC") == [
        "these variables do not apply and will be empty: ${zscore}"]
    problems = templating.check_webhook_payload('{"a": ${run_name', "RUN_METRIC")
    assert problems and problems[0].startswith("not valid JSON")


def test_the_timeout_bounds_the_whole_attempt_not_each_read(fake_hook):  # noqa: F811
    """A slow-drip endpoint (one byte every 0.2 s, ~10 s for the answer) is cut at 1 s."""
    fake_hook.queue(200, "x" * 20, drip=0.2)
    started = time.monotonic()
    outcome = http.post(fake_hook.url, b"{}", {"Content-Type": "application/json"}, timeout=1.0)
    elapsed = time.monotonic() - started
    port = urlsplit(fake_hook.url).port
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert outcome.error == f"no response from 127.0.0.1:{port} within 1 s"
    assert 0.9 <= elapsed < 2.0
    fresh = http.post(fake_hook.url, b"{}", {"Content-Type": "application/json"}, timeout=1.0)
    assert (fresh.ok, fresh.status_code) == (True, 200)  # the thread's next attempt is not poisoned


def test_secret_values_never_reach_logs_history_or_the_database_file(world, fake_hook, make_engine, caplog,  # noqa: F811
                                                                        tmp_path):
    token = "tok-SECRET-4711-abcdef"
    secrets.set_secret(world.db, world.team.id, "GH_PAT", token)
    hook = integrations.create_webhook(world.db, world.team.id, name="ci", url=fake_hook.url,
                                       access_token_secret="GH_PAT")
    fake_hook.queue(500, f"upstream rejected token {token}")  # an endpoint that echoes the token
    fake_hook.queue(302, "", {"Location": f"https://elsewhere.example/?t={token}"})
    auto = hook_automation(world, hook, '{"auth": "${ACCESS_TOKEN}", "again": "${GH_PAT}"}')
    caplog.set_level(logging.INFO, logger="runbell")
    make_engine(backoff_base=0.05)
    world.log(world.run(), "val/acc", [0.9])
    [execution] = settled(world, auto, status="failed")
    assert [a.status_code for a in execution.attempts] == [500, 302]
    assert FakeWebhook.header(fake_hook.requests[0], "Authorization") == f"Bearer {token}"
    logging.getLogger("runbell.engine.later").error("a careless message: %s", token)
    try:
        raise RuntimeError(f"boom with {token}")
    except RuntimeError:
        logging.getLogger("runbell.engine.later").exception("failure")
    assert "upstream rejected token ********" in execution.attempts[0].response_excerpt
    assert "?t=********" in execution.reason
    assert "a careless message: ********" in caplog.text and "boom with ********" in caplog.text
    assert token not in caplog.text
    assert token not in repr(world.executions())
    db_files = [Path(p) for p in Path(world.db.url.split("///", 1)[1]).parent.glob("*.db*")]
    assert db_files and all(token.encode() not in f.read_bytes() for f in db_files)
    assert masking.redact(f"x {token} y") == "x ******** y"


def test_secret_values_and_webhook_urls_that_would_leak_or_never_send_are_refused(world):  # noqa: F811
    from store.errors import ValidationError

    for bad in ("tok\nen", "token\r", "to\x00ken"):
        with pytest.raises(ValidationError, match="line breaks or other control characters"):
            secrets.set_secret(world.db, world.team.id, "TOKEN", bad)
    with pytest.raises(ValidationError, match="letters, digits or underscores"):
        secrets.set_secret(world.db, world.team.id, "TOKEN\n", "x")
    for url, message in (("https://admin:pa55@example.com/hook", "cannot carry a user name or password"),
                         ("https://example.com:abc/x", "not a valid URL"),
                         ("https://example.com:99999/x", "not a valid URL"),
                         ("https://[::1/x", "not a valid URL"),
                         ("https://exa mple.com/x", "cannot contain spaces")):
        with pytest.raises(ValidationError, match=message):
            integrations.create_webhook(world.db, world.team.id, name="hook", url=url)
    assert integrations.list_integrations(world.db, world.team.id) == []


def test_a_token_http_cannot_carry_fails_clearly_and_is_masked_in_every_form(world, fake_hook):  # noqa: F811
    outcome = http.post(fake_hook.url, b"{}", {"Authorization": "Bearer tökén€-123"}, timeout=5,
                        secrets=["tökén€-123"])
    assert not outcome.ok and not outcome.retryable and "characters HTTP headers cannot" in outcome.error
    assert fake_hook.requests == []
    # an error text that quotes a secret escaped still masks it
    assert masking.redact("header value: 'Bearer tok\\nen-NLSECRET'", ["tok\nen-NLSECRET"]) == \
        f"header value: 'Bearer {templating.SECRET_MASK}'"


def test_secret_names_differ_by_more_than_case(world):  # noqa: F811
    from store.errors import ValidationError

    secrets.set_secret(world.db, world.team.id, "TOKEN", "first-value")
    secrets.set_secret(world.db, world.team.id, "TOKEN", "replaced")  # the same name replaces
    with pytest.raises(ValidationError, match="already has a secret TOKEN"):
        secrets.set_secret(world.db, world.team.id, "token", "second-value")
    assert [x.name for x in secrets.list_secrets(world.db, world.team.id)] == ["TOKEN"]
    assert secrets.secret_value(world.team.id, "TOKEN") == "replaced"
