"""Frozen dataclasses for artifacts, registries and their links (what widgets and the engine see)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

REGISTRY_ROLES = ("admin", "member", "viewer")
DEFAULT_REGISTRIES = (
    ("Model", "Trained models, promoted through aliases such as staging and production"),
    ("Dataset", "Versioned datasets that training runs consume"),
)
LATEST = "latest"


@dataclass(frozen=True)
class ArtifactFile:
    path: str  # relative, "/"-separated
    digest: str  # sha256 hex of the content; the blob is data_dir()/artifacts/<digest>
    size: int


@dataclass(frozen=True)
class Artifact:
    """A project's artifact collection."""

    id: int
    project_id: int
    name: str
    type: str
    description: str
    created_at: datetime
    version_count: int = 0


@dataclass(frozen=True)
class ArtifactVersion:
    id: int
    artifact_id: int
    project_id: int
    project_name: str
    artifact_name: str
    artifact_type: str
    index: int
    digest: str
    size: int
    metadata: dict[str, Any]
    files: tuple[ArtifactFile, ...]
    run_id: str | None
    created_by: str
    created_at: datetime
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def version(self) -> str:
        return f"v{self.index}"

    @property
    def qualified_name(self) -> str:
        """`project/name:vN`, how the source of a linked version is shown."""
        return f"{self.project_name}/{self.artifact_name}:v{self.index}"


@dataclass(frozen=True)
class Registry:
    id: int
    team_id: int
    name: str
    description: str
    is_default: bool
    created_at: datetime


@dataclass(frozen=True)
class RegistryMember:
    registry_id: int
    user_id: int
    username: str
    role: str
    explicit: bool  # False: the role follows from the team role


@dataclass(frozen=True)
class RegistryCollection:
    id: int
    registry_id: int
    name: str
    type: str
    description: str
    created_at: datetime
    version_count: int = 0


@dataclass(frozen=True)
class LinkedVersion:
    """A project artifact version as version `index` of a registry collection."""

    id: int
    registry_id: int
    registry_name: str
    collection_id: int
    collection_name: str
    index: int
    linked_by: str
    linked_at: datetime
    source: ArtifactVersion
    aliases: tuple[str, ...] = field(default=())
    tags: tuple[str, ...] = field(default=())

    @property
    def version(self) -> str:
        return f"v{self.index}"
