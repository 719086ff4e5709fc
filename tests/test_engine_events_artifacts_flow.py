"""Artifact automations end to end: the digits demo's model linked to Model/digits-classifier and
promoted to `production` delivers a webhook; the C7 alias loop stops at the chain depth; the GitHub
repository_dispatch and Teams MessageCard templates render to bodies those services accept."""
from __future__ import annotations

import json

from desktop import demo_training
from desktop.engine import artifact_events as ae_engine
from desktop.engine import templating
from store import artifacts, automations, executions, integrations, registries, registry_links, teams
from tests.support.engine_fixtures import make_engine, notifier  # noqa: F401
from tests.support.fake_webhook import FakeWebhook
from tests.support.waiting import wait_until

GITHUB = json.dumps({"event_type": "BUILD_AND_DEPLOY", "client_payload": {
    "event_author": "${event_author}", "artifact_version": "${artifact_version}",
    "artifact_version_string": "${artifact_version_string}", "artifact_collection_name": "${artifact_collection_name}",
    "project_name": "${project_name}", "entity_name": "${entity_name}"}})
TEAMS = json.dumps({"@type": "MessageCard", "@context": "http://schema.org/extensions", "summary": "New Notification",
                    "sections": [{"activityTitle": "Notification from WANDB", "text": "Alias ${alias} on ${artifact_version_string}",
                                  "facts": [{"name": "Author", "value": "${event_author}"},
                                            {"name": "Event Type", "value": "${event_type}"}],
                                  "markdown": True}]})


def _demo_model_link(db, db_url):
    assert demo_training.main(["--epochs", "1", "--step-delay", "0", "--seed", "0", "--db-url", db_url]) == 0
    team, user = teams.ensure_default_team(db)
    project = teams.get_or_create_project(db, team.id, demo_training.PROJECT)
    version = artifacts.find_version(db, project.id, demo_training.MODEL_ARTIFACT)
    model = registries.find_registry(db, team.id, "Model")
    return team, model, version, user.username


def _hook_automation(db, team, model, hook_url, name, template, collection_id=None):
    hook = integrations.create_webhook(db, team.id, name=name.replace(" ", "-"), url=hook_url)
    return automations.create_automation(
        db, team_id=team.id, project_id=None, name=name, event_type="ADD_ARTIFACT_ALIAS",
        scope_type="collection" if collection_id else "registry",
        event_filter=ae_engine.scoped_filter(registry_id=model.id, collection_id=collection_id,
                                             alias_regex="^production$" if not collection_id else ".+"),
        action_type="GENERIC_WEBHOOK", action_config={"integration_id": hook.id, "request_payload": template})


def test_demo_model_promoted_to_production_delivers_github_and_teams_bodies(db, db_url, make_engine):  # noqa: F811
    team, model, version, username = _demo_model_link(db, db_url)
    with FakeWebhook() as github, FakeWebhook() as teams_hook:
        deploy = _hook_automation(db, team, model, github.url, "deploy on production", GITHUB)
        card = _hook_automation(db, team, model, teams_hook.url, "teams card", TEAMS)
        link = registry_links.link_version(db, version.id, model.id, "digits-classifier", username=username)
        make_engine()
        registry_links.add_alias(db, link.id, "production", username=username)
        registry_links.add_alias(db, link.id, "staging", username=username)  # no match
        wait_until(lambda: len(github.requests) == 1 and len(teams_hook.requests) == 1, timeout=20)
        body = FakeWebhook.json(github.requests[0])
        assert body["event_type"] == "BUILD_AND_DEPLOY" and len(body["event_type"]) <= 100
        assert len(body["client_payload"]) <= 10
        assert body["client_payload"]["artifact_collection_name"] == "digits-classifier"
        assert body["client_payload"]["artifact_version_string"].endswith("/wandb-registry-model/digits-classifier:v0")
        assert body["client_payload"]["event_author"] == username
        assert body["client_payload"]["artifact_version"] == f"runbell-artifact://_id/{version.id}"
        card_body = FakeWebhook.json(teams_hook.requests[0])
        assert card_body["@type"] == "MessageCard" and card_body["summary"]
        facts = {f["name"]: f["value"] for f in card_body["sections"][0]["facts"]}
        assert facts == {"Author": username, "Event Type": "ADD_ARTIFACT_ALIAS"}
        assert "production" in card_body["sections"][0]["text"]
        history = wait_until(lambda: [x for x in executions.list_executions(db, automation_id=deploy.id)
                                      if x.status == "finished"] or None)
        assert history[0].event["alias"] == "production" and history[0].event_type == "ADD_ARTIFACT_ALIAS"
        assert json.loads(history[0].action["rendered_payload"]) == body
        assert [x.status for x in executions.list_executions(db, automation_id=card.id)] == ["finished"]


def test_c7_alias_adding_receiver_stops_at_the_chain_depth_limit(db, tmp_path, make_engine):  # noqa: F811
    team, _ = teams.ensure_default_team(db, "alice")
    project = teams.get_or_create_project(db, team.id, "digits")
    model = registries.find_registry(db, team.id, "Model")
    path = tmp_path / "w.bin"
    path.write_bytes(b"weights")
    from store import artifact_files
    version = artifacts.log_version(db, project.id, "digits-mlp", "model", artifact_files.store_files(path),
                                    username="alice")
    link = registry_links.link_version(db, version.id, model.id, "digits-classifier", username="alice")
    hops: list[str] = []

    class AliasAdder(FakeWebhook):
        def handle(self, method, path, headers, body):
            delivery = next(v for k, v in headers.items() if k.lower() == "x-runbell-delivery")
            hops.append(delivery)
            registry_links.add_alias(db, link.id, f"hop-{len(hops)}", username="alice", caused_by=delivery)
            return 200, "{}", {}

    with AliasAdder() as receiver:
        loop = _hook_automation(db, team, model, receiver.url, "alias loop", '{"alias": "${alias}"}',
                                collection_id=link.collection_id)
        make_engine()
        registry_links.add_alias(db, link.id, "candidate", username="alice")
        # the skip can be recorded while the third delivery is still finishing: wait for both
        found = wait_until(lambda: (lambda xs: xs if any(x.status == "skipped" for x in xs)
                                    and all(x.status != "pending" for x in xs) else None)(
            executions.list_executions(db, automation_id=loop.id)), timeout=20)
        found = sorted(found, key=lambda x: x.id)
        assert [x.status for x in found] == ["finished", "finished", "finished", "skipped"]
        assert [x.event["chain_depth"] for x in found] == [1, 2, 3, 4]
        assert "chain depth limit (3)" in found[-1].reason and found[-1].event["caused_by"] == hops[-1]
        assert len(receiver.requests) == 3


def test_templates_pass_the_editor_check_for_artifact_events():
    assert templating.check_webhook_payload(GITHUB, "LINK_ARTIFACT") == []
    assert templating.check_webhook_payload(TEAMS, "ADD_ARTIFACT_ALIAS") == []
