"""Project artifacts: versions v0…vN, aliases (one version each; `latest` kept automatically), tags.

Every change writes its event (see `store.artifact_events`) in the same transaction. `caused_by` is
the delivery id of the automation action that made the change, if any (for the chain-depth limit).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
import sqlalchemy.orm as so

from store import alias_moves
from store import artifact_entities as ae
from store import artifact_events as ev
from store import models as m
from store.db import Database
from store.errors import NotFound, PermissionDenied, ValidationError

T = TypeVar("T")


def manifest_digest(files: Iterable[ae.ArtifactFile]) -> str:
    """The version's digest: sha256 over its sorted (path, file digest) pairs."""
    pairs = sorted((f.path, f.digest) for f in files)
    return hashlib.sha256(json.dumps(pairs, separators=(",", ":")).encode()).hexdigest()


def _retry_once(action: Callable[[], T]) -> T:
    """Another process may have taken the same index or digest first: then read theirs."""
    try:
        return action()
    except sa_exc.IntegrityError:
        return action()


def _plain_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ValidationError("artifact metadata must be a mapping")
    return json.loads(json.dumps(dict(metadata), default=str))


def log_version(
    db: Database, project_id: int, name: str, type_: str, files: Sequence[ae.ArtifactFile], *,
    metadata: Mapping[str, Any] | None = None, aliases: Iterable[str] = (), run_id: str | None = None,
    username: str = "", description: str = "", caused_by: str | None = None,
) -> ae.ArtifactVersion:
    """Add a version of artifact `name` (created if missing) with these files; return it.

    Content identical to an existing version (same digest) returns that version and only adds
    the `aliases`. A new version takes `latest`.
    """
    name = ev.check_name("artifact", name)
    type_ = ev.check_name("artifact type", type_)
    wanted = [ev.check_label("alias", a) for a in aliases if a != ae.LATEST]
    if not files:
        raise ValidationError("an artifact version needs at least one file")
    digest = manifest_digest(files)
    plain = _plain_metadata(metadata)
    return _retry_once(lambda: _log_version(
        db, project_id, name, type_, files, digest, plain, wanted, run_id, username, description, caused_by))


def _log_version(db: Database, project_id: int, name: str, type_: str, files: Sequence[ae.ArtifactFile],
                 digest: str, metadata: dict[str, Any], aliases: list[str], run_id: str | None,
                 username: str, description: str, caused_by: str | None) -> ae.ArtifactVersion:
    with db.session() as s:
        if s.get(m.Project, project_id) is None:
            raise NotFound(f"no project {project_id}")
        artifact = s.scalar(sa.select(m.Artifact).where(m.Artifact.project_id == project_id,
                                                        m.Artifact.name == name))
        if artifact is None:
            artifact = m.Artifact(project_id=project_id, name=name, type=type_, description=description,
                                  next_index=0)
            s.add(artifact)
            s.flush()
        elif artifact.type != type_:
            raise ValidationError(f"artifact {name!r} has type {artifact.type!r}, not {type_!r}")
        row = s.scalar(sa.select(m.ArtifactVersion).where(m.ArtifactVersion.artifact_id == artifact.id,
                                                          m.ArtifactVersion.digest == digest))
        if row is None:
            row = m.ArtifactVersion(
                artifact_id=artifact.id, index=artifact.next_index, digest=digest,
                size=sum(f.size for f in files), meta=metadata,
                files=[{"path": f.path, "digest": f.digest, "size": f.size} for f in files],
                run_id=run_id, created_by=username,
            )
            artifact.next_index += 1
            s.add(row)
            s.flush()
            ev.record_project(s, ev.ARTIFACT_VERSION_CREATED, ev.version_entity(s, row), username, caused_by)
            alias_moves.put_alias(s, alias_moves.PROJECT, artifact.id, row, ae.LATEST, username, caused_by)
        for alias in aliases:
            alias_moves.put_alias(s, alias_moves.PROJECT, artifact.id, row, alias, username, caused_by)
        return ev.version_entity(s, row)


def _version_row(s: so.Session, version_id: int, username: str = "", what: str = "") -> m.ArtifactVersion:
    """The version; with `what`, only for a user who may change it (a team viewer may not)."""
    row = s.get(m.ArtifactVersion, version_id)
    if row is None:
        raise NotFound(f"no artifact version {version_id}")
    if what and username:
        role = s.scalar(sa.select(m.User.role).join(m.Project, m.Project.team_id == m.User.team_id)
                        .join(m.Artifact, m.Artifact.project_id == m.Project.id)
                        .where(m.Artifact.id == row.artifact_id, m.User.username == username))
        if role == "viewer":
            raise PermissionDenied(f"{username} is a viewer of this team and cannot {what}")
    return row


def add_alias(db: Database, version_id: int, alias: str, *, username: str = "",
              caused_by: str | None = None) -> ae.ArtifactVersion:
    """Give the version `alias`; if another version of the artifact holds it, it moves here."""
    alias = ev.check_label("alias", alias)
    if alias == ae.LATEST:
        raise ValidationError("'latest' is maintained automatically: it names the newest version")
    with db.session() as s:
        row = _version_row(s, version_id, username, "change aliases")
        alias_moves.put_alias(s, alias_moves.PROJECT, row.artifact_id, row, alias, username, caused_by)
        return ev.version_entity(s, row)


def remove_alias(db: Database, version_id: int, alias: str, *, username: str = "",
                 caused_by: str | None = None) -> ae.ArtifactVersion:
    if alias == ae.LATEST:
        raise ValidationError("'latest' is maintained automatically and cannot be removed")
    with db.session() as s:
        row = _version_row(s, version_id, username, "change aliases")
        held = s.scalar(sa.select(m.ArtifactAlias).where(m.ArtifactAlias.version_id == row.id,
                                                         m.ArtifactAlias.alias == alias))
        if held is None:
            raise NotFound(f"v{row.index} has no alias {alias!r}")
        s.delete(held)
        s.flush()
        version = ev.version_entity(s, row)
        ev.record_project(s, ev.ARTIFACT_ALIAS_REMOVED, version, username, caused_by, alias=alias,
                          automatic=False)
        return version


def add_tag(db: Database, version_id: int, tag: str, *, username: str = "",
            caused_by: str | None = None) -> ae.ArtifactVersion:
    """Tag the version (a tag may be on many versions); adding a present tag changes nothing."""
    tag = ev.check_label("tag", tag)
    with db.session() as s:
        row = _version_row(s, version_id, username, "change tags")
        if s.get(m.ArtifactTag, (row.id, tag)) is None:
            s.add(m.ArtifactTag(version_id=row.id, tag=tag))
            s.flush()
            ev.record_project(s, ev.ARTIFACT_TAG_ADDED, ev.version_entity(s, row), username, caused_by, tag=tag)
        return ev.version_entity(s, row)


def remove_tag(db: Database, version_id: int, tag: str, *, username: str = "",
               caused_by: str | None = None) -> ae.ArtifactVersion:
    with db.session() as s:
        row = _version_row(s, version_id, username, "change tags")
        present = s.get(m.ArtifactTag, (row.id, tag))
        if present is None:
            raise NotFound(f"v{row.index} has no tag {tag!r}")
        s.delete(present)
        s.flush()
        version = ev.version_entity(s, row)
        ev.record_project(s, ev.ARTIFACT_TAG_REMOVED, version, username, caused_by, tag=tag)
        return version


# -- reading ----------------------------------------------------------------------------------


def list_artifacts(db: Database, project_id: int) -> list[ae.Artifact]:
    with db.session() as s:
        counts = (sa.select(m.ArtifactVersion.artifact_id, sa.func.count().label("n"))
                  .group_by(m.ArtifactVersion.artifact_id).subquery())
        q = (sa.select(m.Artifact, sa.func.coalesce(counts.c.n, 0))
             .outerjoin(counts, counts.c.artifact_id == m.Artifact.id)
             .where(m.Artifact.project_id == project_id).order_by(m.Artifact.name))
        return [ae.Artifact(a.id, a.project_id, a.name, a.type, a.description, a.created_at, n)
                for a, n in s.execute(q)]


def list_versions(db: Database, artifact_id: int) -> list[ae.ArtifactVersion]:
    """Newest first."""
    with db.session() as s:
        rows = s.scalars(sa.select(m.ArtifactVersion).where(m.ArtifactVersion.artifact_id == artifact_id)
                         .order_by(m.ArtifactVersion.index.desc()))
        return [ev.version_entity(s, r) for r in rows]


def get_version(db: Database, version_id: int) -> ae.ArtifactVersion:
    with db.session() as s:
        return ev.version_entity(s, _version_row(s, version_id))


def find_version(db: Database, project_id: int, name: str, ref: str = ae.LATEST) -> ae.ArtifactVersion:
    """The version of artifact `name` named by `ref`: "v3" or an alias ("latest", "production")."""
    with db.session() as s:
        artifact = s.scalar(sa.select(m.Artifact).where(m.Artifact.project_id == project_id,
                                                        m.Artifact.name == name))
        if artifact is None:
            raise NotFound(f"no artifact {name!r} in project {project_id}")
        if ref.startswith("v") and ref[1:].isdigit():
            q = sa.select(m.ArtifactVersion).where(m.ArtifactVersion.artifact_id == artifact.id,
                                                   m.ArtifactVersion.index == int(ref[1:]))
        else:
            q = (sa.select(m.ArtifactVersion).join(m.ArtifactAlias, m.ArtifactAlias.version_id == m.ArtifactVersion.id)
                 .where(m.ArtifactAlias.artifact_id == artifact.id, m.ArtifactAlias.alias == ref))
        row = s.scalar(q)
        if row is None:
            raise NotFound(f"artifact {name!r} has no version {ref!r}")
        return ev.version_entity(s, row)
