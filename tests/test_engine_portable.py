"""Automations import/export as JSON in the original's stored shapes (case C1 round trip)."""
from __future__ import annotations

import json

import pytest

from store import automations, integrations, teams
from store.db import Database
from store.errors import ValidationError

from desktop.engine.portable import export_automations, import_automations
from desktop.engine.sdk import RunEvent, SendWebhook, create_automation
from tests.support.engine_fixtures import world  # noqa: F401
from tests.support.engine_setup import World
from tests.support.memory_keyring import memory_keyring  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("memory_keyring")
ALIAS_FILTER = {"filter": {"$or": [{"$and": [{"alias": {"$regex": "^prod-.*"}}]}]}}
KEPT = ("name", "description", "enabled", "event_type", "event_filter", "action_type", "action_config",
        "cooldown_seconds", "created_by", "scope_type")


def fields(automation, *, drop=()):
    return {k: getattr(automation, k) for k in KEPT if k not in drop}


def alias_automation(world, hook):  # noqa: F811
    return automations.create_automation(
        world.db, team_id=world.team.id, project_id=world.project.id, name="prod alias", description="deploy",
        event_type="ADD_ARTIFACT_ALIAS", event_filter=ALIAS_FILTER, action_type="GENERIC_WEBHOOK",
        action_config={"integration_id": hook.id, "request_payload": '{"alias": "${alias}"}'},
        created_by="alice", cooldown_seconds=0)


def test_c1_editing_action_or_name_keeps_the_alias_filter_and_export_round_trips(world, tmp_path):  # noqa: F811
    """C1: edit only the action, then only the name: the alias filter stays `^prod-.*`; export →
    import into another database round-trips every field."""
    hook = integrations.create_webhook(world.db, world.team.id, name="deploy", url="https://ci.example/hook")
    auto = alias_automation(world, hook)
    edited = automations.update_automation(world.db, auto.id, action_config={
        "integration_id": hook.id, "request_payload": '{"alias": "${alias}", "v": "${artifact_version_string}"}'})
    assert edited.event_filter == ALIAS_FILTER
    renamed = automations.update_automation(world.db, auto.id, name="prod alias added")
    assert renamed.event_filter == ALIAS_FILTER and renamed.action_config == edited.action_config
    text = export_automations(world.db, world.team.id)
    [exported] = json.loads(text)["automations"]
    assert exported["triggeringEventType"] == "ADD_ARTIFACT_ALIAS"
    assert exported["eventFilter"] == ALIAS_FILTER
    assert exported["scope"] == {"projectName": "digits"} and exported["integration"] == {"kind": "webhook", "name": "deploy"}

    other = Database(f"sqlite:///{tmp_path}/other.db")
    try:
        there = World(other)
        there_hook = integrations.create_webhook(other, there.team.id, name="deploy", url="https://ci.example/hook")
        [imported] = import_automations(other, there.team.id, text)
        assert fields(imported, drop=("action_config",)) == fields(renamed, drop=("action_config",))
        assert imported.action_config == {**renamed.action_config, "integration_id": there_hook.id}
        assert imported.project_id == there.project.id
        [again] = json.loads(export_automations(other, there.team.id))["automations"]
        local_ids = {"triggeredActionConfig": {**exported["triggeredActionConfig"], "integration_id": there_hook.id}}
        assert again == {**exported, **local_ids}
    finally:
        other.dispose()


def test_round_trip_of_every_kind_in_the_same_database(world):  # noqa: F811
    hook = integrations.create_webhook(world.db, world.team.id, name="ci", url="https://ci.example/hook")
    slack = integrations.create_slack(world.db, world.team.id, workspace="acme", channel="#a",
                                      webhook_url="https://hooks.slack.com/services/T1/B1/abcdefghij")
    sweep = teams.get_or_create_project(world.db, world.team.id, "sweep")
    originals = [
        world.automation(name="threshold", action_config={"integration_id": slack.id, "title": "t",
                                                          "message": "m", "severity": "WARN", "notify_desktop": True}),
        create_automation(world.db, world.team.id, sweep.id, "zscore",
                          ((abs(RunEvent.metric("loss").zscore(20)) > 2) & RunEvent.name.contains("x"))
                          >> SendWebhook(hook.id, {"z": "${zscore}"}), description="z", enabled=False),
        world.automation(name="state", event_type="RUN_STATE", action_type="NO_OP",
                         event_filter={"run_filter": '{"$and": []}', "run_state_filter": {"states": ["FAILED"]}}),
        alias_automation(world, hook),
    ]
    text = export_automations(world.db, world.team.id)
    for automation in originals:
        automations.delete_automation(world.db, automation.id)
    imported = import_automations(world.db, world.team.id, text)
    by_name = {a.name: a for a in imported}
    for original in originals:
        assert fields(by_name[original.name]) == fields(original)
        assert by_name[original.name].project_id == original.project_id
    assert json.loads(export_automations(world.db, world.team.id))["automations"] == json.loads(text)["automations"]
    only_sweep = json.loads(export_automations(world.db, world.team.id, project_id=sweep.id))["automations"]
    assert [a["name"] for a in only_sweep] == ["zscore"]


def test_name_conflicts_error_rename_or_skip(world):  # noqa: F811
    world.automation(name="acc watch", action_type="NO_OP")
    text = export_automations(world.db, world.team.id)
    with pytest.raises(ValidationError, match="'acc watch' already exists; import with on_conflict"):
        import_automations(world.db, world.team.id, text)
    assert import_automations(world.db, world.team.id, text, on_conflict="skip") == []
    [renamed] = import_automations(world.db, world.team.id, text, on_conflict="rename")
    assert renamed.name == "acc watch (2)"
    [third] = import_automations(world.db, world.team.id, text, on_conflict="rename")
    assert third.name == "acc watch (3)"


def test_project_map_sends_automations_to_another_project(world):  # noqa: F811
    world.automation(name="acc watch", action_type="NO_OP")
    text = export_automations(world.db, world.team.id)
    [moved] = import_automations(world.db, world.team.id, text, project_map={"digits": "prod"}, on_conflict="rename")
    assert moved.project_id == teams.get_or_create_project(world.db, world.team.id, "prod").id


def document(*items):
    return json.dumps({"format": "runbell-automations", "version": 1, "automations": list(items)})


def item(**overrides):
    base = {"name": "a", "scopeType": "PROJECT", "scope": {"projectName": "digits"},
            "triggeringEventType": "RUN_METRIC",
            "eventFilter": {"run_filter": '{"$and": []}', "run_metric_filter": {"threshold_filter": {
                "name": "loss", "agg_op": None, "window_size": 1, "cmp_op": "$gt", "threshold": 1}}},
            "triggeredActionType": "NO_OP", "triggeredActionConfig": {}}
    return {**base, **overrides}


@pytest.mark.parametrize("text, message", [
    ("{", "invalid JSON"),
    ('{"format": "something"}', "not a Runbell automations file"),
    ('{"format": "runbell-automations", "version": 9, "automations": []}', "version 9 is not supported"),
    (document(item(color="red")), "automation 'a': unknown fields color"),
    (document(item(triggeringEventType="RUN_SOMETHING")), "unknown event type 'RUN_SOMETHING'"),
    (document(item(eventFilter={"run_filter": '{"$and": []}', "run_metric_filter": {"threshold_filter": {
        "name": "loss", "agg_op": "AVERAGE", "window_size": 0, "cmp_op": "$gt", "threshold": 1}}})),
     "window must hold at least 1"),
    (document(item(triggeringEventType="ADD_ARTIFACT_ALIAS",
                   eventFilter={"filter": {"$or": [{"$and": [{"alias": {"$regex": "(prod"}}]}]}})),
     "regular expression '\\(prod' is not valid"),
    (document(item(triggeredActionType="GENERIC_WEBHOOK", triggeredActionConfig={"integration_id": 1},
                   integration={"kind": "webhook", "name": "gone"})), "no webhook integration named 'gone'"),
    (document(item(), item()), "two automations named 'a'"),
    (document(item(cooldownSeconds=-1)), "cooldownSeconds"),
    # wrong JSON types are refused, never coerced ("false" must not become an enabled automation)
    (document(item(enabled="false")), "enabled must be true or false, not \"false\""),
    (document(item(name=None)), "name must be text, not null"),
    (document(item(name=["a"])), "name must be text"),
    (document(item(name="  ")), "name is empty"),
    (document(item(triggeredActionConfig="x")), "triggeredActionConfig must be an object or null"),
    (document(item(scope="digits")), "scope must be an object or null"),
    (document(item(scope={"projectName": ["digits"]})), "scope.projectName must be text"),
    (document(item(triggeredActionType=["NO_OP"])), "triggeredActionType must be text"),
    (document(item(scopeType="TEAM")), "run events exist only at project scope"),
    (document(item(scopeType="GLOBAL")), "scopeType must be PROJECT or TEAM"),
    (document(item(cooldownSeconds=10 ** 30)), "cooldownSeconds must be a whole number of seconds from 0"),
    (document(item(triggeredActionType="DESKTOP_NOTIFICATION", triggeredActionConfig={"severity": "BOGUS"})),
     "unknown severity 'BOGUS'"),
    (document(item(triggeredActionType="DESKTOP_NOTIFICATION", triggeredActionConfig={"title": 5})),
     "the action's title must be text, not int"),
    (document(item(eventFilter={"run_filter": '{"display_name": {"$regex": "a{99999999999}"}}',
                                "run_metric_filter": {"threshold_filter": {
                                    "name": "loss", "agg_op": None, "window_size": 1, "cmp_op": "$gt",
                                    "threshold": 1}}})), "is not valid: the repetition number is too large"),
])
def test_clear_errors_and_nothing_written(world, text, message):  # noqa: F811
    with pytest.raises(ValidationError, match=message):
        import_automations(world.db, world.team.id, text)
    assert automations.list_automations(world.db, team_id=world.team.id) == []


def test_a_graphql_style_string_event_filter_is_accepted(world):  # noqa: F811
    raw = item()
    raw["eventFilter"] = json.dumps(raw["eventFilter"])
    [created] = import_automations(world.db, world.team.id, document(raw))
    assert created.event_filter["run_metric_filter"]["threshold_filter"]["name"] == "loss"
