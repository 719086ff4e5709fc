"""Registries: defaults, custom ones, links with their own aliases and tags, roles, events, migration."""
from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from store import artifact_events as ev
from store import artifact_files, artifacts, events, registries, registry_links, teams
from store import tracking as rb
from store.db import Database
from store.errors import ValidationError
from store.migrate import alembic_config
from store.registries import PermissionDenied


@pytest.fixture
def team(db):
    team, _ = teams.ensure_default_team(db, "alice")
    return team


@pytest.fixture
def project(db, team):
    return teams.get_or_create_project(db, team.id, "digits")


@pytest.fixture
def model(db, team):
    return registries.find_registry(db, team.id, "Model")


def _version(db, project, tmp_path, content: bytes, metadata=None):
    path = tmp_path / f"w-{content.hex()}.npz"
    path.write_bytes(content)
    return artifacts.log_version(db, project.id, "digits-mlp", "model", artifact_files.store_files(path),
                                 metadata=metadata, username="alice")


def _member(db, name: str, role: str):
    _, user = teams.ensure_default_team(db, name)
    return teams.set_role(db, user.id, role)


def _last(db, type_):
    return events.events_after(db, 0, types=(type_,))[-1]


def test_model_and_dataset_exist_by_default_and_custom_ones_can_be_managed(db, team):
    assert [r.name for r in registries.list_registries(db, team.id)] == ["Model", "Dataset"]
    assert [r.name for r in registries.list_registries(db, team.id)] == ["Model", "Dataset"]  # once
    custom = registries.create_registry(db, team.id, "Prompts", username="alice")
    renamed = registries.rename_registry(db, custom.id, "LLM-prompts", username="alice")
    assert [r.name for r in registries.list_registries(db, team.id)] == ["Model", "Dataset", "LLM-prompts"]
    with pytest.raises(ValidationError, match="already exists"):
        registries.create_registry(db, team.id, "Model", username="alice")
    model = registries.find_registry(db, team.id, "Model")
    with pytest.raises(ValidationError, match="cannot be deleted"):
        registries.delete_registry(db, model.id, username="alice")
    registries.delete_registry(db, renamed.id, username="alice")
    assert [r.name for r in registries.list_registries(db, team.id)] == ["Model", "Dataset"]
    changes = [e.payload["change"] for e in events.events_after(db, 0, types=(ev.REGISTRY_CHANGED,))]
    assert changes == ["created", "created", "created", "renamed", "deleted"]


def test_linked_versions_are_numbered_per_collection_with_their_own_latest(db, project, model, tmp_path):
    a = _version(db, project, tmp_path, b"a")
    b = _version(db, project, tmp_path, b"b")
    first = registry_links.link_version(db, b.id, model.id, "digits-classifier", username="alice")
    second = registry_links.link_version(db, a.id, model.id, "digits-classifier", username="alice",
                                         aliases=["staging"])
    again = registry_links.link_version(db, a.id, model.id, "digits-classifier", username="alice")
    assert (first.index, second.index, again.id) == (0, 1, second.id)
    assert second.aliases == ("latest", "staging") and second.source.index == 0
    assert registry_links.get_link(db, first.id).aliases == ()
    [collection] = registry_links.list_collections(db, model.id)
    assert (collection.name, collection.type, collection.version_count) == ("digits-classifier", "model", 2)
    # project aliases and registry aliases are separate
    assert artifacts.get_version(db, b.id).aliases == ("latest",)
    registry_links.unlink(db, second.id, username="alice")
    assert [v.index for v in registry_links.list_linked_versions(db, collection.id)] == [0]
    assert registry_links.get_link(db, first.id).aliases == ("latest",)
    third = registry_links.link_version(db, a.id, model.id, "digits-classifier", username="alice")
    assert third.index == 2  # numbers are never reused


def test_production_moves_within_a_collection_and_events_are_registry_scoped(db, project, model, tmp_path):
    a = _version(db, project, tmp_path, b"a", metadata={"acc": 0.97})
    b = _version(db, project, tmp_path, b"b")
    la = registry_links.link_version(db, a.id, model.id, "digits-classifier", username="alice")
    lb = registry_links.link_version(db, b.id, model.id, "digits-classifier", username="alice")
    registry_links.add_alias(db, lb.id, "production", username="alice")
    registry_links.add_alias(db, la.id, "production", username="alice", caused_by="dlv-9")
    assert registry_links.alias_holder(db, la.collection_id, "production").id == la.id
    assert "production" not in registry_links.get_link(db, lb.id).aliases
    added = _last(db, ev.ARTIFACT_ALIAS_ADDED)
    p = added.payload
    assert added.project_id is None and p["project_id"] is None
    assert (p["scope"], p["registry_id"], p["registry_name"]) == ("registry", model.id, "Model")
    assert p["collection_id"] == la.collection_id and p["link_id"] == la.id
    assert p["artifact_version_string"] == "default/wandb-registry-model/digits-classifier:v0"
    assert (p["alias"], p["moved_from_index"], p["caused_by"]) == ("production", 1, "dlv-9")
    assert p["artifact_metadata"] == {"acc": 0.97} and p["source_version_string"] == "digits/digits-mlp:v0"
    removed = _last(db, ev.ARTIFACT_ALIAS_REMOVED).payload
    assert (removed["link_id"], removed["alias"], removed["moved_to_index"]) == (lb.id, "production", 0)
    linked = events.events_after(db, 0, types=(ev.ARTIFACT_LINKED,))
    assert [e.payload["artifact_version_index"] for e in linked] == [0, 1]
    assert all(e.project_id is None for e in linked)


def test_link_unlink_and_tag_events_carry_the_payload(db, project, model, tmp_path):
    a = _version(db, project, tmp_path, b"a")
    link = registry_links.link_version(db, a.id, model.id, "digits-classifier", username="alice",
                                       caused_by="dlv-1")
    registry_links.add_tag(db, link.id, "europe", username="alice")
    registry_links.remove_tag(db, link.id, "europe", username="alice")
    registry_links.unlink(db, link.id, username="alice")
    linked = _last(db, ev.ARTIFACT_LINKED).payload
    assert linked["caused_by"] == "dlv-1" and linked["event_author"] == "alice"
    assert linked["artifact_collection_name"] == "digits-classifier"
    assert linked["artifact_version"] == f"runbell-artifact://_id/{a.id}"
    assert _last(db, ev.ARTIFACT_TAG_ADDED).payload["tag"] == "europe"
    assert _last(db, ev.ARTIFACT_TAG_REMOVED).payload["tags"] == []
    unlinked = _last(db, ev.ARTIFACT_UNLINKED).payload
    assert (unlinked["link_id"], unlinked["aliases"]) == (link.id, ["latest"])


def test_registry_roles_are_enforced_in_the_store(db, team, project, model, tmp_path):
    a = _version(db, project, tmp_path, b"a")
    victor = _member(db, "victor", "viewer")
    mia = _member(db, "mia", "member")
    assert registries.registry_role(db, model.id, "alice") == "admin"
    assert registries.registry_role(db, model.id, "mia") == "member"
    assert not registries.can_write(db, model.id, "victor")
    with pytest.raises(PermissionDenied, match="viewer of registry 'Model'"):
        registry_links.link_version(db, a.id, model.id, "digits-classifier", username="victor")
    link = registry_links.link_version(db, a.id, model.id, "digits-classifier", username="mia")
    for change in (registry_links.add_alias, registry_links.add_tag):
        with pytest.raises(PermissionDenied):
            change(db, link.id, "production", username="victor")
    with pytest.raises(PermissionDenied):
        registry_links.unlink(db, link.id, username="victor")
    with pytest.raises(PermissionDenied, match="change roles"):
        registries.set_member_role(db, model.id, victor.id, "member", username="mia")
    # a registry admin lifts the viewer in this registry only; a member can be lowered
    registries.set_member_role(db, model.id, victor.id, "member", username="alice")
    registries.set_member_role(db, model.id, mia.id, "viewer", username="alice")
    registry_links.add_alias(db, link.id, "production", username="victor")
    with pytest.raises(PermissionDenied):
        registry_links.remove_alias(db, link.id, "production", username="mia")
    dataset = registries.find_registry(db, team.id, "Dataset")
    assert registries.registry_role(db, dataset.id, "victor") == "viewer"
    roles = {m.username: (m.role, m.explicit) for m in registries.list_members(db, model.id)}
    assert roles == {"alice": ("admin", False), "mia": ("viewer", True), "victor": ("member", True)}
    with pytest.raises(PermissionDenied):
        registries.create_registry(db, team.id, "Mine", username="victor")
    assert not events.events_after(db, 0, types=(ev.ARTIFACT_UNLINKED,))


def test_run_links_its_artifact_into_a_registry(db, project, model, tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"weights")
    with rb.init(project="digits", db_url=db.url, username="alice") as run:
        version = run.log_artifact(path, name="digits-mlp", type="model")
        link = run.link_artifact(version, registry="Model", collection="digits-classifier", aliases=["staging"])
        again = run.link_artifact("digits-mlp:latest", aliases=["candidate"])
    assert (link.registry_name, link.collection_name, link.index) == ("Model", "digits-classifier", 0)
    assert again.id == link.id and again.aliases == ("candidate", "latest", "staging")
    assert _last(db, ev.ARTIFACT_LINKED).payload["run_id"] == run.id


def test_migrations_after_0001_apply_on_a_fresh_and_on_an_existing_0001_database(tmp_path):
    fresh = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    with fresh.engine.connect() as conn:
        head = ScriptDirectory.from_config(alembic_config(fresh)).get_current_head()
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head
        assert {"artifacts", "registry_links"} <= set(sa.inspect(conn).get_table_names())
    fresh.dispose()

    path = tmp_path / "old.db"
    old = Database(f"sqlite:///{path}", migrate=False)
    command.upgrade(alembic_config(old), "0001")
    team, _ = teams.ensure_default_team(old, "alice")
    teams.get_or_create_project(old, team.id, "digits")
    old.dispose()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
    conn.close()
    upgraded = Database(f"sqlite:///{path}")
    assert [p.name for p in teams.list_projects(upgraded)] == ["digits"]
    assert [r.name for r in registries.list_registries(upgraded, team.id)] == ["Model", "Dataset"]
    with upgraded.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head
        assert "txid" in {c["name"] for c in sa.inspect(conn).get_columns("events")}  # 0003
    upgraded.dispose()


def test_registry_names_are_unique_ignoring_case_and_strangers_are_told_so(db):
    from store.registries import PermissionDenied

    team, _admin = teams.ensure_default_team(db, "alice")
    model = registries.find_registry(db, team.id, "Model")
    with pytest.raises(ValidationError, match="'Model' already exists"):
        registries.create_registry(db, team.id, "model", username="alice")
    custom = registries.create_registry(db, team.id, "Evals", username="alice")
    with pytest.raises(ValidationError, match="'Model' already exists"):
        registries.rename_registry(db, custom.id, "MODEL", username="alice")
    assert registries.rename_registry(db, custom.id, "evals", username="alice").name == "evals"
    with pytest.raises(PermissionDenied, match="mallory is not a member of the team"):
        registries.require_access(db, model.id, "mallory", "member", "add aliases")
