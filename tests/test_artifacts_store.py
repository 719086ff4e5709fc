"""Project artifacts: versions, digests, aliases (`latest` kept automatically), tags and their events."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from store import artifact_events as ev
from store import artifact_files, artifacts, events, teams
from store import tracking as rb
from store.errors import ValidationError


@pytest.fixture
def project(db):
    team, _ = teams.ensure_default_team(db, "alice")
    return teams.get_or_create_project(db, team.id, "digits")


def _files(tmp_path: Path, content: bytes, name: str = "model.npz"):
    path = tmp_path / f"src-{content.hex()[:8]}"
    path.mkdir(exist_ok=True)
    (path / name).write_bytes(content)
    return artifact_files.store_files(path / name)


def _log(db, project, tmp_path, content: bytes, **kw):
    return artifacts.log_version(db, project.id, "digits-mlp", "model", _files(tmp_path, content),
                                 username="alice", **kw)


def _events(db, *types):
    return [e for e in events.events_after(db, 0, types=types or ev.ARTIFACT_EVENT_TYPES)]


def test_versions_count_up_and_latest_follows_the_newest(db, project, tmp_path):
    v0 = _log(db, project, tmp_path, b"weights-0", metadata={"acc": 0.91})
    v1 = _log(db, project, tmp_path, b"weights-1", metadata={"acc": 0.95})
    assert (v0.version, v1.version) == ("v0", "v1")
    assert v1.aliases == ("latest",)
    assert artifacts.get_version(db, v0.id).aliases == ()
    assert artifacts.find_version(db, project.id, "digits-mlp").id == v1.id
    assert artifacts.find_version(db, project.id, "digits-mlp", "v0").metadata == {"acc": 0.91}
    [listed] = artifacts.list_artifacts(db, project.id)
    assert (listed.name, listed.type, listed.version_count) == ("digits-mlp", "model", 2)


def test_identical_content_returns_the_existing_version(db, project, tmp_path):
    first = _log(db, project, tmp_path, b"same")
    again = _log(db, project, tmp_path, b"same", aliases=["best"])
    assert again.id == first.id and again.index == 0
    assert again.aliases == ("best", "latest")
    assert len(artifacts.list_versions(db, first.artifact_id)) == 1
    assert len(_events(db, ev.ARTIFACT_VERSION_CREATED)) == 1


def test_an_alias_names_one_version_and_moves_with_two_events(db, project, tmp_path):
    v0 = _log(db, project, tmp_path, b"a")
    v1 = _log(db, project, tmp_path, b"b")
    artifacts.add_alias(db, v0.id, "production", username="bob")
    moved = artifacts.add_alias(db, v1.id, "production", username="bob", caused_by="dlv-1")
    assert moved.aliases == ("latest", "production")
    assert artifacts.get_version(db, v0.id).aliases == ()
    removed = _events(db, ev.ARTIFACT_ALIAS_REMOVED)[-1].payload
    added = _events(db, ev.ARTIFACT_ALIAS_ADDED)[-1].payload
    assert (removed["alias"], removed["artifact_version_index"], removed["moved_to_index"]) == ("production", 0, 1)
    assert (added["alias"], added["artifact_version_index"], added["moved_from_index"]) == ("production", 1, 0)
    assert added["caused_by"] == "dlv-1" and added["event_author"] == "bob"
    assert added["automatic"] is False


def test_latest_and_version_like_aliases_are_refused(db, project, tmp_path):
    v0 = _log(db, project, tmp_path, b"a")
    with pytest.raises(ValidationError, match="automatically"):
        artifacts.add_alias(db, v0.id, "latest")
    with pytest.raises(ValidationError, match="automatically"):
        artifacts.remove_alias(db, v0.id, "latest")
    with pytest.raises(ValidationError, match="version number"):
        artifacts.add_alias(db, v0.id, "v7")
    with pytest.raises(ValidationError, match="not valid"):
        artifacts.add_tag(db, v0.id, "has space")


def test_an_artifact_keeps_its_type(db, project, tmp_path):
    _log(db, project, tmp_path, b"a")
    with pytest.raises(ValidationError, match="has type 'model'"):
        artifacts.log_version(db, project.id, "digits-mlp", "dataset", _files(tmp_path, b"z"))


def test_tags_are_many_and_their_events_carry_the_payload_variables(db, project, tmp_path):
    v0 = _log(db, project, tmp_path, b"a", metadata={"acc": 0.93, "framework": "sklearn"})
    v1 = _log(db, project, tmp_path, b"b")
    artifacts.add_tag(db, v0.id, "europe", username="alice")
    artifacts.add_tag(db, v1.id, "europe", username="alice")
    artifacts.add_tag(db, v1.id, "europe", username="alice")  # already there: no event
    artifacts.remove_tag(db, v0.id, "europe", username="carol")
    added = _events(db, ev.ARTIFACT_TAG_ADDED)
    assert [e.payload["artifact_version_index"] for e in added] == [0, 1]
    [removed] = _events(db, ev.ARTIFACT_TAG_REMOVED)
    p = removed.payload
    assert removed.project_id == project.id
    assert p["tag"] == "europe" and p["event_author"] == "carol" and p["scope"] == "project"
    assert p["artifact_version_string"] == "default/digits/digits-mlp:v0"
    assert p["artifact_version"] == f"runbell-artifact://_id/{v0.id}"
    assert p["artifact_collection_name"] == "digits-mlp" and p["collection_id"] == v0.artifact_id
    assert p["artifact_metadata"] == {"acc": 0.93, "framework": "sklearn"}
    assert p["project_id"] == project.id and p["registry_id"] is None and p["caused_by"] is None
    assert artifacts.get_version(db, v1.id).tags == ("europe",)


def test_version_created_event_names_run_and_author(db, project, tmp_path):
    with rb.init(project="digits", db_url=db.url, username="alice") as run:
        version = run.log_artifact(_write(tmp_path, "m.npz", b"x"), name="digits-mlp", type="model",
                                   aliases=["best"], metadata={"acc": 0.9})
    [created] = _events(db, ev.ARTIFACT_VERSION_CREATED)
    assert created.run_id == run.id and created.project_id == project.id
    assert created.payload["event_author"] == "alice" and created.payload["run_id"] == run.id
    assert created.payload["artifact_version_index"] == 0 == version.index
    assert version.run_id == run.id and version.aliases == ("best", "latest")
    aliases = [(e.payload["alias"], e.payload["automatic"]) for e in _events(db, ev.ARTIFACT_ALIAS_ADDED)]
    assert aliases == [("latest", True), ("best", False)]


def _write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_artifact_files_go_to_the_shared_folder_a_team_configures(db, project, tmp_path, monkeypatch):
    shared = tmp_path / "team-share" / "runbell-artifacts"
    monkeypatch.setenv("RUNBELL_ARTIFACTS", str(shared))
    with rb.init(project="digits", db_url=db.url, username="alice") as run:
        version = run.log_artifact(_write(tmp_path, "model.npz", b"weights"), name="digits-mlp", type="model")
    [stored] = version.files
    assert (shared / stored.digest).read_bytes() == b"weights"
    assert artifact_files.blob_path(stored.digest) == shared / stored.digest


def test_log_artifact_copies_files_by_digest_and_dedupes(db, project, tmp_path):
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.npz").write_bytes(b"w" * 1000)
    (folder / "sub" / "config.json").write_bytes(b'{"hidden": 64}')
    with rb.init(project="digits", db_url=db.url, username="alice") as run:
        first = run.log_artifact(folder, name="digits-mlp", type="model")
        again = run.log_artifact(folder, name="digits-mlp", type="model")
        (folder / "weights.npz").write_bytes(b"v" * 1000)
        changed = run.log_artifact(str(folder), name="digits-mlp", type="model")
    assert again.id == first.id and changed.index == 1
    assert [f.path for f in first.files] == ["sub/config.json", "weights.npz"]
    assert first.size == 1000 + len(b'{"hidden": 64}')
    for f in first.files + changed.files:
        assert artifact_files.blob_path(f.digest).is_file()
    weights = next(f for f in changed.files if f.path == "weights.npz")
    assert weights.digest == hashlib.sha256(b"v" * 1000).hexdigest()
    assert artifact_files.blob_path(weights.digest).read_bytes() == b"v" * 1000
