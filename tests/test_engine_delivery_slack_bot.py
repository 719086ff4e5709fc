"""Slack with a bot token (`chat.postMessage`): the Web API answers HTTP 200 with `ok: false` for
refusals, which fail at once with Slack's error code; 429 Retry-After is honoured."""
from __future__ import annotations

import json

import pytest

from store import integrations
from store.errors import ValidationError

from desktop.engine import send_test
from tests.support.engine_fixtures import fake_slack, make_engine, notifier, settled, world  # noqa: F401
from tests.support.memory_keyring import memory_keyring  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("memory_keyring")


def bot(world, fake_slack, *, channel_id="C0ALERTS01", token=None):  # noqa: F811
    return integrations.create_slack_bot(world.db, world.team.id, workspace="acme", channel_id=channel_id,
                                         channel_name="#alerts" if channel_id == "C0ALERTS01" else "",
                                         bot_token=token or fake_slack.bot_token, api_url=fake_slack.api_url)


def slack_automation(world, integration, **config):  # noqa: F811
    return world.automation(agg=None, threshold=0.5, action_config={
        "integration_id": integration.id, "title": "Acc ${metric_value}", "message": "run ${run_name}",
        "severity": "WARN", **config})


def test_bot_posts_the_message_to_the_channel(world, fake_slack, make_engine, memory_keyring):  # noqa: F811
    integration = bot(world, fake_slack)
    assert integration.config == {"workspace": "acme", "channel": "#alerts", "channel_id": "C0ALERTS01",
                                  "mode": "bot", "api_url": fake_slack.api_url}
    assert fake_slack.bot_token in memory_keyring.values.values()
    assert fake_slack.bot_token not in json.dumps(integration.config)
    auto = slack_automation(world, integration)
    make_engine()
    world.log(world.run("bot-run"), "val/acc", [0.75])
    [message] = fake_slack.wait_for_messages(1)
    [execution] = settled(world, auto, status="finished")
    assert message.path == "/api/chat.postMessage"
    assert message.payload["channel"] == "C0ALERTS01"
    assert message.blocks[0]["text"]["text"] == ":warning: Acc 0.75"
    assert message.blocks[1]["text"]["text"] == "run bot-run"
    assert message.headers["Authorization"] == f"Bearer {fake_slack.bot_token}"
    assert execution.attempts[0].status_code == 200
    assert '"ok": true' in execution.attempts[0].response_excerpt
    assert execution.action["channel"] == "#alerts"


@pytest.mark.parametrize("setup, error", [
    (dict(token="xoxb-wrong-token"), "invalid_auth"),
    (dict(channel_id="C0NOSUCH00"), "channel_not_found"),
    (dict(channel_id="C0PRIVATE9"), "not_in_channel"),
])
def test_web_api_refusals_fail_at_once_with_slacks_error(world, fake_slack, make_engine, setup, error):  # noqa: F811
    auto = slack_automation(world, bot(world, fake_slack, **setup))
    make_engine()
    world.log(world.run(), "val/acc", [0.9])
    [execution] = settled(world, auto, status="failed")
    assert len(execution.attempts) == 1 and execution.attempts[0].status_code == 200
    assert execution.reason.startswith(f"Slack refused the message: {error} (")
    assert fake_slack.messages == []
    assert "xoxb-" not in repr(execution)


def test_fake_answers_no_text_and_msg_too_long_like_slack(fake_slack):  # noqa: F811
    headers = {"Authorization": f"Bearer {fake_slack.bot_token}", "Content-Type": "application/json"}

    def post(payload):
        status, body, _ = fake_slack.handle("POST", "/api/chat.postMessage", headers, json.dumps(payload).encode())
        return status, json.loads(body)

    assert post({"channel": "C0ALERTS01"}) == (200, {"ok": False, "error": "no_text"})
    assert post({"channel": "C0ALERTS01", "text": "x" * 40_001}) == (200, {"ok": False, "error": "msg_too_long"})
    status, body = post({"channel": "C0ALERTS01", "text": "hi"})
    assert status == 200 and body["ok"] is True and body["ts"]


def test_bot_429_retry_after_is_honoured(world, fake_slack, make_engine):  # noqa: F811
    fake_slack.queue(429, '{"ok": false, "error": "ratelimited"}', {"Retry-After": "1"})
    auto = slack_automation(world, bot(world, fake_slack))
    make_engine()
    world.log(world.run(), "val/acc", [0.9])
    fake_slack.wait_for_messages(1, timeout=20)
    [execution] = settled(world, auto, status="finished")
    first, second = fake_slack.requests
    assert second.arrived_at - first.arrived_at >= 1.0
    assert [a.status_code for a in execution.attempts] == [429, 200]


def test_send_test_through_the_bot(world, fake_slack):  # noqa: F811
    result = send_test(world.db, bot(world, fake_slack).id)
    [message] = fake_slack.messages
    assert message.payload["channel"] == "C0ALERTS01"
    assert (result.status, result.reason) == ("finished", "test delivered")


@pytest.mark.parametrize("kwargs, message", [
    (dict(channel_id="#alerts"), "channel id looks like C0123456789"),
    (dict(bot_token="xoxp-user-token"), "bot token starts with xoxb-"),
    (dict(api_url="http://example.com/api"), "must use https://"),
])
def test_create_slack_bot_validates(world, kwargs, message):  # noqa: F811
    args = dict(workspace="acme", channel_id="C0ALERTS01", bot_token="xoxb-1", api_url="https://slack.com/api")
    with pytest.raises(ValidationError, match=message):
        integrations.create_slack_bot(world.db, world.team.id, **{**args, **kwargs})
