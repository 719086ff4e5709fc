"""Artifact and registry event types, their payloads, and the row → entity conversions they share.

Every artifact mutation writes one of the events below in its own transaction. Project events carry
the project's id in `Event.project_id`; registry events leave it empty and carry `registry_id`, so
project automations see project versions and registry automations see linked versions, never both.

Payload keys (all events): scope ("project" | "registry"), team_id, entity_name, project_id,
project_name (a registry's is "wandb-registry-<name>"), registry_id, registry_name, collection_id,
artifact_collection_name, artifact_type, artifact_id, version_id, link_id, run_id,
artifact_version (URI), artifact_version_string ("<entity>/<project>/<collection>:vN"),
artifact_version_index, artifact_metadata, aliases, tags, event_author, caused_by; alias events add
alias and automatic (True for `latest`), moved_from_index / moved_to_index when an alias moves; tag
events add tag.
"""
from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from store import artifact_entities as ae
from store import events
from store import models as m
from store.errors import NotFound, ValidationError

ARTIFACT_VERSION_CREATED = "artifact_version_created"
ARTIFACT_ALIAS_ADDED = "artifact_alias_added"
ARTIFACT_ALIAS_REMOVED = "artifact_alias_removed"
ARTIFACT_TAG_ADDED = "artifact_tag_added"
ARTIFACT_TAG_REMOVED = "artifact_tag_removed"
ARTIFACT_LINKED = "artifact_linked"
ARTIFACT_UNLINKED = "artifact_unlinked"
REGISTRY_CHANGED = "registry_changed"  # created, renamed, deleted, roles: for screens, not automations
ARTIFACT_EVENT_TYPES = (
    ARTIFACT_VERSION_CREATED, ARTIFACT_ALIAS_ADDED, ARTIFACT_ALIAS_REMOVED, ARTIFACT_TAG_ADDED,
    ARTIFACT_TAG_REMOVED, ARTIFACT_LINKED, ARTIFACT_UNLINKED, REGISTRY_CHANGED,
)

# Kept as in the original, so CI workflows that check these prefixes work unchanged.
REGISTRY_PROJECT_PREFIX = "wandb-registry-"
ARTIFACT_URI_PREFIX = "runbell-artifact://_id/"

_LABEL = re.compile(r"(?=.*[A-Za-z0-9])[A-Za-z0-9_.\-]{1,128}")  # fullmatch; "-" or ".." alone is no label
_VERSION_LIKE = re.compile(r"^v\d+$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


def check_label(kind: str, text: str) -> str:
    """A valid alias or tag (letters, digits, `_ . -`; aliases may not look like `v3`)."""
    text = (text or "").strip()
    if not _LABEL.fullmatch(text):
        raise ValidationError(f"{kind} {text!r} is not valid: use 1 to 128 letters, digits, '_', '.' or '-', "
                              "with at least one letter or digit")
    if kind == "alias" and _VERSION_LIKE.match(text):
        raise ValidationError(f"alias {text!r} looks like a version number; choose another name")
    return text


def check_name(kind: str, text: str) -> str:
    text = (text or "").strip()
    if not _NAME.match(text):
        raise ValidationError(f"{kind} name {text!r} is not valid: use 1 to 128 letters, digits, '_', '.' or '-'")
    return text


def registry_project_name(registry_name: str) -> str:
    return f"{REGISTRY_PROJECT_PREFIX}{registry_name.lower()}"


def version_uri(version_id: int) -> str:
    return f"{ARTIFACT_URI_PREFIX}{version_id}"


# -- conversions ------------------------------------------------------------------------------


def version_entity(s: so.Session, row: m.ArtifactVersion) -> ae.ArtifactVersion:
    artifact = s.get(m.Artifact, row.artifact_id)
    project = s.get(m.Project, artifact.project_id) if artifact else None
    if artifact is None or project is None:
        raise NotFound(f"artifact version {row.id} lost its artifact")
    aliases = s.scalars(sa.select(m.ArtifactAlias.alias).where(m.ArtifactAlias.version_id == row.id)
                        .order_by(m.ArtifactAlias.alias))
    tags = s.scalars(sa.select(m.ArtifactTag.tag).where(m.ArtifactTag.version_id == row.id)
                     .order_by(m.ArtifactTag.tag))
    return ae.ArtifactVersion(
        id=row.id, artifact_id=artifact.id, project_id=project.id, project_name=project.name,
        artifact_name=artifact.name, artifact_type=artifact.type, index=row.index, digest=row.digest,
        size=row.size, metadata=dict(row.meta or {}),
        files=tuple(ae.ArtifactFile(f["path"], f["digest"], int(f["size"])) for f in row.files or ()),
        run_id=row.run_id, created_by=row.created_by, created_at=row.created_at,
        aliases=tuple(aliases), tags=tuple(tags),
    )


def link_entity(s: so.Session, row: m.RegistryLink) -> ae.LinkedVersion:
    collection = s.get(m.RegistryCollection, row.collection_id)
    registry = s.get(m.Registry, collection.registry_id)
    aliases = s.scalars(sa.select(m.RegistryAlias.alias).where(m.RegistryAlias.link_id == row.id)
                        .order_by(m.RegistryAlias.alias))
    tags = s.scalars(sa.select(m.RegistryTag.tag).where(m.RegistryTag.link_id == row.id)
                     .order_by(m.RegistryTag.tag))
    return ae.LinkedVersion(
        id=row.id, registry_id=registry.id, registry_name=registry.name, collection_id=collection.id,
        collection_name=collection.name, index=row.index, linked_by=row.linked_by,
        linked_at=row.linked_at, source=version_entity(s, s.get(m.ArtifactVersion, row.version_id)),
        aliases=tuple(aliases), tags=tuple(tags),
    )


# -- payloads ---------------------------------------------------------------------------------


def _team_name(s: so.Session, team_id: int) -> str:
    team = s.get(m.Team, team_id)
    return team.name if team else ""


def project_payload(s: so.Session, version: ae.ArtifactVersion, author: str,
                    caused_by: str | None, **extra: Any) -> dict[str, Any]:
    project = s.get(m.Project, version.project_id)
    entity = _team_name(s, project.team_id)
    payload = {
        "scope": "project", "team_id": project.team_id, "entity_name": entity,
        "project_id": project.id, "project_name": project.name,
        "registry_id": None, "registry_name": None,
        "collection_id": version.artifact_id, "artifact_collection_name": version.artifact_name,
        "artifact_type": version.artifact_type, "artifact_id": version.artifact_id,
        "version_id": version.id, "link_id": None, "run_id": version.run_id,
        "artifact_version": version_uri(version.id),
        "artifact_version_string": f"{entity}/{project.name}/{version.artifact_name}:v{version.index}",
        "artifact_version_index": version.index, "artifact_metadata": dict(version.metadata),
        "aliases": list(version.aliases), "tags": list(version.tags),
        "event_author": author, "caused_by": caused_by,
    }
    payload.update(extra)
    return payload


def registry_payload(s: so.Session, link: ae.LinkedVersion, author: str,
                     caused_by: str | None, **extra: Any) -> dict[str, Any]:
    registry = s.get(m.Registry, link.registry_id)
    entity = _team_name(s, registry.team_id)
    project_name = registry_project_name(registry.name)
    source = link.source
    payload = {
        "scope": "registry", "team_id": registry.team_id, "entity_name": entity,
        "project_id": None, "project_name": project_name,
        "registry_id": registry.id, "registry_name": registry.name,
        "collection_id": link.collection_id, "artifact_collection_name": link.collection_name,
        "artifact_type": source.artifact_type, "artifact_id": source.artifact_id,
        "version_id": source.id, "link_id": link.id, "run_id": source.run_id,
        "source_project_id": source.project_id, "source_version_string": source.qualified_name,
        "artifact_version": version_uri(source.id),
        "artifact_version_string": f"{entity}/{project_name}/{link.collection_name}:v{link.index}",
        "artifact_version_index": link.index, "artifact_metadata": dict(source.metadata),
        "aliases": list(link.aliases), "tags": list(link.tags),
        "event_author": author, "caused_by": caused_by,
    }
    payload.update(extra)
    return payload


def record_project(s: so.Session, type_: str, version: ae.ArtifactVersion, author: str,
                   caused_by: str | None, **extra: Any) -> None:
    run_id = version.run_id if type_ == ARTIFACT_VERSION_CREATED else None
    events.record(s, type_, project_id=version.project_id, run_id=run_id,
                  payload=project_payload(s, version, author, caused_by, **extra))


def record_registry(s: so.Session, type_: str, link: ae.LinkedVersion, author: str,
                    caused_by: str | None, **extra: Any) -> None:
    events.record(s, type_, payload=registry_payload(s, link, author, caused_by, **extra))
