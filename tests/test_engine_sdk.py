"""The Python API (desktop.engine.sdk): stored shapes, the original's validation rules, and
automations created with it firing in a real engine."""
from __future__ import annotations

import json

import pytest

from store import automations, integrations
from store.errors import ValidationError

from desktop.engine import run_events
from desktop.engine.sdk import (
    DoNothing, RunEvent, SendDesktopNotification, SendNotification, SendWebhook, create_automation,
)
from tests.support.engine_fixtures import fake_hook, make_engine, notifier, settled, world  # noqa: F401
from tests.support.fake_webhook import FakeWebhook
from tests.support.memory_keyring import memory_keyring  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("memory_keyring")
ALL = '{"$and": []}'


def stored(condition):
    return condition.event_filter()


@pytest.mark.parametrize("condition, expected", [
    (RunEvent.metric("val/acc").avg(5) > 0.9,
     {"name": "val/acc", "agg_op": "AVERAGE", "window_size": 5, "cmp_op": "$gt", "threshold": 0.9}),
    (RunEvent.metric("loss").min(3) <= 0.1,
     {"name": "loss", "agg_op": "MIN", "window_size": 3, "cmp_op": "$lte", "threshold": 0.1}),
    (RunEvent.metric("loss").max(10).gte(2),
     {"name": "loss", "agg_op": "MAX", "window_size": 10, "cmp_op": "$gte", "threshold": 2}),
    (RunEvent.metric("loss") > 1,
     {"name": "loss", "agg_op": None, "window_size": 1, "cmp_op": "$gt", "threshold": 1}),
    (RunEvent.metric("loss").latest < 0.5,
     {"name": "loss", "agg_op": None, "window_size": 1, "cmp_op": "$lt", "threshold": 0.5}),
])
def test_threshold_conditions_store_the_original_shape(condition, expected):
    assert stored(condition) == {"run_filter": ALL, "run_metric_filter": {"threshold_filter": expected}}
    assert condition.event_type == "RUN_METRIC"


def test_change_conditions_store_the_original_shape():
    absolute = RunEvent.metric("loss").avg(10).decreases_by(diff=0.25, prior_window=50)
    assert stored(absolute)["run_metric_filter"] == {"change_filter": {
        "name": "loss", "agg_op": "AVERAGE", "current_window_size": 10, "prior_window_size": 50,
        "change_type": "ABSOLUTE", "change_dir": "DECREASE", "change_amount": 0.25}}
    relative = RunEvent.metric("acc").changes_by(frac=0.1)
    assert stored(relative)["run_metric_filter"]["change_filter"] == {
        "name": "acc", "agg_op": None, "current_window_size": 1, "prior_window_size": 1,
        "change_type": "RELATIVE", "change_dir": "ANY", "change_amount": 0.1}
    assert stored(RunEvent.metric("acc").increases_by(frac=0.05))["run_metric_filter"]["change_filter"][
        "change_dir"] == "INCREASE"
    assert relative.event_type == "RUN_METRIC_CHANGE"


def test_zscore_conditions_store_the_original_shape():
    def z(condition):
        return stored(condition)["run_metric_filter"]["zscore_filter"]

    assert z(RunEvent.metric("loss").zscore(30) > 3) == {"name": "loss", "window_size": 30, "threshold": 3,
                                                         "change_dir": "INCREASE"}
    assert z(RunEvent.metric("loss").zscore(20) < -2)["change_dir"] == "DECREASE"
    assert z(RunEvent.metric("loss").zscore(20) < -2)["threshold"] == 2
    assert z(abs(RunEvent.metric("loss").zscore()) > 2.5) == {"name": "loss", "window_size": 30,
                                                              "threshold": 2.5, "change_dir": "ANY"}


def test_state_and_run_filters_combine_with_and():
    condition = RunEvent.state.in_(["failed", "crashed"]) & RunEvent.name.matches_regex("^prod")
    assert stored(condition) == {"run_filter": '{"$and": [{"display_name": {"$regex": "^prod"}}]}',
                                 "run_state_filter": {"states": ["FAILED"]}}
    both = (RunEvent.metric("loss") > 1) & RunEvent.name.contains("exp") & (RunEvent.user == "alice")
    assert json.loads(stored(both)["run_filter"]) == {"$and": [{"display_name": {"$contains": "exp"}},
                                                               {"username": {"$eq": "alice"}}]}
    reverse = RunEvent.name.contains("exp") & (RunEvent.state == "finished")
    assert stored(reverse)["run_state_filter"] == {"states": ["FINISHED"]}
    for condition in (condition, both, reverse):
        run_events.parse_event(condition.event_type, stored(condition))  # what the evaluator reads


@pytest.mark.parametrize("build, error, message", [
    (lambda: RunEvent.metric("x").avg(0) > 1, ValidationError, "between 1 and"),
    (lambda: RunEvent.metric("x").avg(-3) > 1, ValidationError, "between 1 and"),
    (lambda: RunEvent.metric("x").avg(2.5) > 1, ValidationError, "whole number"),
    (lambda: RunEvent.metric("x").avg(5).max(3), AttributeError, "aggregate once"),
    (lambda: RunEvent.metric("x") > True, ValidationError, "finite number"),
    (lambda: RunEvent.metric("x") > "1", ValidationError, "finite number"),
    (lambda: RunEvent.metric("x").changes_by(diff=0.1, frac=0.1), ValidationError, "exactly one of diff"),
    (lambda: RunEvent.metric("x").changes_by(), ValidationError, "exactly one of diff"),
    (lambda: RunEvent.metric("x").changes_by(diff=0), ValidationError, "greater than 0"),
    (lambda: RunEvent.metric("x").zscore(0), ValidationError, "between 1 and"),
    (lambda: RunEvent.metric("x").zscore(30) > 0, ValidationError, "greater than 0"),
    (lambda: RunEvent.metric("x").zscore(30) < 2, ValidationError, "negative threshold"),
    (lambda: abs(RunEvent.metric("x").zscore(30)) < -2, ValidationError, "abs"),
    (lambda: RunEvent.state.in_(["killed"]), ValidationError, "unknown run state"),
    (lambda: RunEvent.name.matches_regex("(unclosed"), ValidationError, "not valid"),
    (lambda: (RunEvent.metric("a") > 1) & (RunEvent.metric("b") > 1), ValidationError, "one condition"),
    (lambda: RunEvent.metric(""), ValidationError, "name the metric"),
    (lambda: SendNotification(1, level="LOUD"), ValidationError, "unknown severity"),
])
def test_the_originals_validation_rules(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_create_automation_validates_name_uniqueness_and_integrations(world, fake_hook):  # noqa: F811
    hook = integrations.create_webhook(world.db, world.team.id, name="ci", url=fake_hook.url)
    event = RunEvent.metric("loss") > 1
    create_automation(world.db, world.team.id, world.project.id, "loss high", event >> DoNothing())
    with pytest.raises(ValidationError, match="'loss high' already exists"):
        create_automation(world.db, world.team.id, world.project.id, "loss high", event >> DoNothing())
    with pytest.raises(ValidationError, match="at most 255 characters"):
        create_automation(world.db, world.team.id, world.project.id, "x" * 256, event >> DoNothing())
    assert create_automation(world.db, world.team.id, world.project.id, "y" * 255, event >> DoNothing()).name == "y" * 255
    with pytest.raises(ValidationError, match="needs a name"):
        create_automation(world.db, world.team.id, world.project.id, "  ", event >> DoNothing())
    with pytest.raises(ValidationError, match="no slack integration with id"):
        create_automation(world.db, world.team.id, world.project.id, "s", event >> SendNotification(999))
    with pytest.raises(ValidationError, match="not a slack integration"):
        create_automation(world.db, world.team.id, world.project.id, "s", event >> SendNotification(hook.id))
    with pytest.raises(ValidationError, match="payload is not valid JSON"):
        create_automation(world.db, world.team.id, world.project.id, "w", event >> SendWebhook(hook.id, '{"a": '))
    assert [a.name for a in automations.list_automations(world.db, team_id=world.team.id)] == ["loss high", "y" * 255]


def test_actions_store_the_shapes_the_engine_sends(world, fake_hook):  # noqa: F811
    hook = integrations.create_webhook(world.db, world.team.id, name="ci", url=fake_hook.url)
    slack = integrations.create_slack(world.db, world.team.id, workspace="acme", channel="#a",
                                      webhook_url="http://127.0.0.1:9/services/T1/B1/abcdefghij")
    event = RunEvent.state == "failed"

    def config(name, action):
        created = create_automation(world.db, world.team.id, world.project.id, name, event >> action,
                                    description="d", enabled=False)
        assert (created.description, created.enabled, created.event_type) == ("d", False, "RUN_STATE")
        return created.action_type, created.action_config

    assert config("w", SendWebhook(hook.id, {"run": "${run_name}"})) == (
        "GENERIC_WEBHOOK", {"integration_id": hook.id, "request_payload": '{"run": "${run_name}"}'})
    assert config("s", SendNotification(slack.id, "T", message="M", severity="warn", notify_desktop=True)) == (
        "NOTIFICATION", {"integration_id": slack.id, "title": "T", "message": "M", "severity": "WARN",
                         "notify_desktop": True})
    assert config("d", SendDesktopNotification("T", "M", "ERROR")) == (
        "DESKTOP_NOTIFICATION", {"title": "T", "message": "M", "severity": "ERROR"})
    assert config("n", DoNothing()) == ("NO_OP", {})


def test_an_sdk_automation_fires_in_the_engine(world, fake_hook, make_engine):  # noqa: F811
    hook = integrations.create_webhook(world.db, world.team.id, name="ci", url=fake_hook.url)
    event = (RunEvent.metric("val/acc").avg(3) > 0.9) & RunEvent.name.matches_regex("^prod")
    auto = create_automation(world.db, world.team.id, world.project.id, "acc high",
                             event >> SendWebhook(hook.id, {"run": "${run_name}", "v": "${metric_value}"}))
    make_engine()
    world.log(world.run("dev-1"), "val/acc", [0.95, 0.96, 0.97])
    world.log(world.run("prod-1"), "val/acc", [0.5, 0.95, 0.96, 0.97])
    [received] = fake_hook.wait_for_requests(1)
    [execution] = settled(world, auto, status="finished")
    assert FakeWebhook.json(received) == {"run": "prod-1", "v": "0.96"}
    assert execution.event["run_name"] == "prod-1"


def test_an_sdk_change_automation_fires_in_the_engine(world, fake_hook, make_engine):  # noqa: F811
    hook = integrations.create_webhook(world.db, world.team.id, name="ci", url=fake_hook.url)
    event = RunEvent.metric("loss").avg(2).decreases_by(diff=0.5, prior_window=2)
    auto = create_automation(world.db, world.team.id, world.project.id, "loss drop",
                             event >> SendWebhook(hook.id, {"v": "${metric_value}"}))
    make_engine()
    world.log(world.run(), "loss", [2.0, 2.0, 1.8, 1.6, 1.2, 1.0])  # avg(2, 1.8) → avg(1.6, 1.2): −0.5
    [received] = fake_hook.wait_for_requests(1)
    [execution] = settled(world, auto, status="finished")
    assert FakeWebhook.json(received) == {"v": "1.4"} and execution.event["step"] == 4
