"""Artifact automations: each event at each scope fires or not (project vs registry populations),
alias/tag regexes, the automatic `latest`, invalid scopes, and the payload variables."""
from __future__ import annotations

import json

import pytest

from desktop.engine import artifact_events as ae_engine
from desktop.engine import templating
from desktop.engine.evaluator import Evaluator
from store import artifact_files, artifacts, automations, executions, registries, registry_links, runs, teams


class Setup:
    def __init__(self, db, tmp_path) -> None:
        self.db, self.tmp = db, tmp_path
        self.team, _ = teams.ensure_default_team(db, "alice")
        self.project = teams.get_or_create_project(db, self.team.id, "digits")
        self.other = teams.get_or_create_project(db, self.team.id, "sweep")
        self.model = registries.find_registry(db, self.team.id, "Model")
        self.run = runs.create_run(db, self.project.id, name="golden-sun-3", username="alice")
        self.n = 0
        self.evaluator = Evaluator(db)

    def automation(self, name, event_type, scope_type="project", event_filter=None, project=None, **kw):
        project_id = (project or self.project).id if scope_type != "registry" else None
        return automations.create_automation(
            self.db, team_id=self.team.id, project_id=kw.pop("project_id", project_id), name=name,
            event_type=event_type, scope_type=scope_type, event_filter=event_filter or ae_engine.scoped_filter(),
            action_type="NO_OP", action_config={}, **kw)

    def version(self, project=None, name="digits-mlp", metadata=None):
        self.n += 1
        path = self.tmp / f"w{self.n}.bin"
        path.write_bytes(f"weights {self.n}".encode())
        return artifacts.log_version(self.db, (project or self.project).id, name, "model",
                                     artifact_files.store_files(path), metadata=metadata or {"val_acc": 0.9},
                                     run_id=self.run.id, username="alice")

    def link(self, version, collection="digits-classifier", aliases=()):
        return registry_links.link_version(self.db, version.id, self.model.id, collection, username="alice",
                                           aliases=aliases)

    def fired(self) -> dict[str, int]:
        self.evaluator.run_once()
        out: dict[str, int] = {}
        for x in executions.list_executions(self.db):
            out[x.automation_name] = out.get(x.automation_name, 0) + 1
        return out


@pytest.fixture
def s(db, tmp_path) -> Setup:
    return Setup(db, tmp_path)


def test_create_artifact_fires_per_new_version_in_its_project_only(s):
    s.automation("any model", "CREATE_ARTIFACT")
    s.automation("other project", "CREATE_ARTIFACT", project=s.other)
    v0 = s.version()
    s.version(name="digits-data")
    artifact_id = v0.artifact_id
    s.automation("only mlp", "CREATE_ARTIFACT", event_filter=ae_engine.scoped_filter(collection_id=artifact_id))
    s.version()
    s.version(name="digits-data")
    assert s.fired() == {"any model": 4, "only mlp": 1}


def test_create_artifact_identical_content_and_linking_do_not_fire(s):
    s.automation("any model", "CREATE_ARTIFACT")
    v0 = s.version()
    path = s.tmp / "w1.bin"
    artifacts.log_version(s.db, s.project.id, "digits-mlp", "model", artifact_files.store_files(path),
                          username="alice")  # same content: no new version
    s.link(v0)
    assert s.fired() == {"any model": 1}


def test_project_alias_automations_never_see_registry_aliases_and_the_reverse(s):
    s.automation("project prod", "ADD_ARTIFACT_ALIAS",
                 event_filter=ae_engine.scoped_filter(alias_regex="^production$"))
    s.automation("registry prod", "ADD_ARTIFACT_ALIAS", scope_type="registry",
                 event_filter=ae_engine.scoped_filter(registry_id=s.model.id, alias_regex="^production$"))
    v0 = s.version()
    artifacts.add_alias(s.db, v0.id, "production", username="alice")
    assert s.fired() == {"project prod": 1}
    link = s.link(v0)
    registry_links.add_alias(s.db, link.id, "production", username="alice")
    assert s.fired() == {"project prod": 1, "registry prod": 1}


def test_alias_regexes_moves_and_collection_scope(s):
    s.automation("prod-star", "ADD_ARTIFACT_ALIAS", event_filter=ae_engine.scoped_filter(alias_regex="prod-.*"))
    s.automation("eq staging", "ADD_ARTIFACT_ALIAS",
                 event_filter={"filter": {"$or": [{"$and": [{"alias": {"$eq": "staging"}}]}]}})
    v0, v1 = s.version(), s.version()
    link0, link1 = s.link(v0), s.link(v1)
    other_link = s.link(v0, collection="digits-other")
    s.automation("collection prod", "ADD_ARTIFACT_ALIAS", scope_type="collection",
                 event_filter=ae_engine.scoped_filter(registry_id=s.model.id, collection_id=link0.collection_id,
                                                      alias_regex="^production$"))
    artifacts.add_alias(s.db, v0.id, "prod-eu", username="alice")
    artifacts.add_alias(s.db, v1.id, "prod-eu", username="alice")  # a move fires again
    artifacts.add_alias(s.db, v0.id, "staging", username="alice")
    artifacts.add_alias(s.db, v0.id, "product", username="alice")  # no match
    registry_links.add_alias(s.db, link0.id, "production", username="alice")
    registry_links.add_alias(s.db, link1.id, "production", username="alice")  # moved: fires again
    registry_links.add_alias(s.db, other_link.id, "production", username="alice")  # another collection
    assert s.fired() == {"prod-star": 2, "eq staging": 1, "collection prod": 2}


def test_automatic_latest_fires_only_for_an_explicit_latest_filter(s):
    s.automation("everything", "ADD_ARTIFACT_ALIAS", event_filter=ae_engine.scoped_filter(alias_regex=".*"))
    s.automation("no filter", "ADD_ARTIFACT_ALIAS")
    s.automation("latest", "ADD_ARTIFACT_ALIAS", event_filter=ae_engine.scoped_filter(alias_regex="^latest$"))
    s.version()
    s.version()
    assert s.fired() == {"latest": 2}


def test_tag_events_with_regex_and_scopes(s):
    s.automation("europe added", "ADD_ARTIFACT_TAG", event_filter=ae_engine.scoped_filter(tag_regex="^europe.*"))
    s.automation("europe removed", "REMOVE_ARTIFACT_TAG", event_filter=ae_engine.scoped_filter(tag_regex="^europe"))
    v0 = s.version()
    link = s.link(v0)
    s.automation("registry tag", "ADD_ARTIFACT_TAG", scope_type="collection",
                 event_filter=ae_engine.scoped_filter(registry_id=s.model.id, collection_id=link.collection_id))
    artifacts.add_tag(s.db, v0.id, "europe-west", username="alice")
    artifacts.add_tag(s.db, v0.id, "asia", username="alice")
    artifacts.remove_tag(s.db, v0.id, "europe-west", username="alice")
    artifacts.remove_tag(s.db, v0.id, "asia", username="alice")
    registry_links.add_tag(s.db, link.id, "europe", username="alice")
    assert s.fired() == {"europe added": 1, "europe removed": 1, "registry tag": 1}


def test_link_and_unlink_fire_for_registry_automations_only(s):
    s.automation("linked", "LINK_ARTIFACT", scope_type="registry",
                 event_filter=ae_engine.scoped_filter(registry_id=s.model.id))
    s.automation("unlinked", "UNLINK_ARTIFACT", scope_type="registry",
                 event_filter=ae_engine.scoped_filter(registry_id=s.model.id))
    dataset = registries.find_registry(s.db, s.team.id, "Dataset")
    s.automation("dataset linked", "LINK_ARTIFACT", scope_type="registry",
                 event_filter=ae_engine.scoped_filter(registry_id=dataset.id))
    s.automation("disabled", "LINK_ARTIFACT", scope_type="registry", enabled=False,
                 event_filter=ae_engine.scoped_filter(registry_id=s.model.id))
    link = s.link(s.version())
    s.link(s.version())
    registry_links.unlink(s.db, link.id, username="alice")
    assert s.fired() == {"linked": 2, "unlinked": 1}


@pytest.mark.parametrize("event_type,scope_type,event_filter", [
    ("LINK_ARTIFACT", "project", ae_engine.scoped_filter()),
    ("ADD_ARTIFACT_TAG", "registry", ae_engine.scoped_filter(registry_id=1)),
    ("CREATE_ARTIFACT", "registry", ae_engine.scoped_filter(registry_id=1)),
    ("ADD_ARTIFACT_ALIAS", "project", ae_engine.scoped_filter(tag_regex="x")),
    ("ADD_ARTIFACT_ALIAS", "project", ae_engine.scoped_filter(alias_regex="(")),
    ("ADD_ARTIFACT_ALIAS", "registry", ae_engine.scoped_filter()),
])
def test_invalid_scopes_and_filters_are_reported_once_and_never_fire(s, event_type, scope_type, event_filter):
    bad = s.automation("bad", event_type, scope_type=scope_type, event_filter=event_filter,
                       project_id=s.project.id)
    with pytest.raises(ValueError):
        ae_engine.parse_rule(bad)
    v0 = s.version()
    s.link(v0)
    artifacts.add_alias(s.db, v0.id, "x", username="alice")
    artifacts.add_tag(s.db, v0.id, "x", username="alice")
    s.fired()
    found = executions.list_executions(s.db, automation_id=bad.id)
    assert [x.status for x in found] in ([], ["failed"])
    assert all("invalid" in x.reason for x in found)


def test_automations_matching_is_what_the_engine_fires(s):
    prod = s.automation("prod", "ADD_ARTIFACT_ALIAS", event_filter=ae_engine.scoped_filter(alias_regex="^production$"))
    s.automation("reg", "ADD_ARTIFACT_ALIAS", scope_type="registry",
                 event_filter=ae_engine.scoped_filter(registry_id=s.model.id))
    v0 = s.version()
    payload = {"scope": "project", "project_id": s.project.id, "collection_id": v0.artifact_id}
    names = lambda found: [a.name for a in found]  # noqa: E731
    assert names(ae_engine.automations_matching(s.db, "ADD_ARTIFACT_ALIAS", {**payload, "alias": "production"})) \
        == ["prod"]
    assert ae_engine.automations_matching(s.db, "ADD_ARTIFACT_ALIAS", {**payload, "alias": "staging"}) == []
    assert names(ae_engine.automations_matching(s.db, "ADD_ARTIFACT_ALIAS", payload)) == ["prod"]
    assert ae_engine.describe_filter(prod) == "alias ~ ^production$"


def test_variables_and_rendered_payload_of_an_alias_firing(s):
    s.automation("hook", "ADD_ARTIFACT_ALIAS", event_filter=ae_engine.scoped_filter(alias_regex="^production$"))
    v0 = s.version(metadata={"val_acc": 0.97, "nested": {"a": 1}})
    artifacts.add_alias(s.db, v0.id, "production", username="bob")
    s.evaluator.run_once()
    [x] = executions.list_executions(s.db)
    assert x.event_type == "ADD_ARTIFACT_ALIAS" and x.event["alias"] == "production"
    assert x.event["chain_depth"] == 1 and x.event["scope"] == "project"
    variables = templating.variables_for_artifact_event(
        automation_name="hook", event_type="ADD_ARTIFACT_ALIAS",
        payload={**v0.__dict__, "event_author": "bob", "alias": "production", "entity_name": s.team.name,
                 "project_name": "digits", "artifact_collection_name": "digits-mlp",
                 "artifact_version_string": f"{s.team.name}/digits/digits-mlp:v0", "artifact_version_index": 0,
                 "artifact_metadata": v0.metadata, "artifact_version": "runbell-artifact://_id/1"})
    body = templating.render_json(
        '{"a": "${alias}", "i": ${artifact_version_index}, "acc": ${artifact_metadata.val_acc}, '
        '"n": "${artifact_metadata.nested}", "t": "${tag}", "who": "${event_author}", "e": "${event_type}"}',
        variables)
    assert json.loads(body) == {"a": "production", "i": 0, "acc": 0.97, "n": '{"a": 1}', "t": "", "who": "bob",
                                "e": "ADD_ARTIFACT_ALIAS"}


def test_would_fire_for_a_linked_version_lists_only_this_registry_s_automations(s):
    s.automation("deploy", "ADD_ARTIFACT_ALIAS", scope_type="registry",
                 event_filter=ae_engine.scoped_filter(registry_id=s.model.id, alias_regex="^production$"))
    s.automation("teardown", "UNLINK_ARTIFACT", scope_type="registry",
                 event_filter=ae_engine.scoped_filter(registry_id=s.model.id))
    s.automation("project alias", "ADD_ARTIFACT_ALIAS", event_filter=ae_engine.scoped_filter())
    link = s.link(s.version())
    base = {"scope": "registry", "registry_id": link.registry_id, "collection_id": link.collection_id}
    ops = ("ADD_ARTIFACT_ALIAS", "UNLINK_ARTIFACT")
    lines = ae_engine.would_fire(s.db, base, ops, alias="production")
    assert [name for _, name in lines] == ["deploy (alias ~ ^production$)", "teardown"]
    assert [name for _, name in ae_engine.would_fire(s.db, base, ops, alias="staging")] == ["teardown"]
