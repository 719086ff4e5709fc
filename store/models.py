"""SQLAlchemy 2.0 typed ORM models. Only store/ sees these; everything above gets entities."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from store.entities import UNREADABLE


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops tzinfo)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)




class TolerantJSON(sa.types.TypeDecorator):
    """JSON that reads undecodable stored text as {UNREADABLE: why} instead of raising."""

    impl = sa.JSON
    cache_ok = True

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        inner = super().result_processor(dialect, coltype)

        def process(value: Any) -> Any:
            try:
                return inner(value) if inner is not None else value
            except ValueError as exc:
                return {UNREADABLE: f"the stored JSON cannot be read: {exc}"}
        return process


class Base(so.DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: TolerantJSON, list[Any]: TolerantJSON}


class Team(Base):
    __tablename__ = "teams"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(128), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (sa.UniqueConstraint("team_id", "username"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    team_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"))
    username: so.Mapped[str] = so.mapped_column(sa.String(128))
    display_name: so.Mapped[str] = so.mapped_column(sa.String(256), default="")
    role: so.Mapped[str] = so.mapped_column(sa.String(16), default="member")


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (sa.UniqueConstraint("team_id", "name"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    team_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"))
    name: so.Mapped[str] = so.mapped_column(sa.String(128))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class Run(Base):
    __tablename__ = "runs"
    id: so.Mapped[str] = so.mapped_column(sa.String(16), primary_key=True)
    project_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(256))
    username: so.Mapped[str] = so.mapped_column(sa.String(128), default="")
    group: so.Mapped[str | None] = so.mapped_column(sa.String(128))
    tags: so.Mapped[list[Any]] = so.mapped_column(default=list)
    config: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    summary: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    state: so.Mapped[str] = so.mapped_column(sa.String(16), default="running", index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    heartbeat_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    finished_at: so.Mapped[datetime | None]
    exit_code: so.Mapped[int | None]
    error_tail: so.Mapped[str | None] = so.mapped_column(sa.Text)
    last_step: so.Mapped[int] = so.mapped_column(default=-1)


class MetricChunk(Base):
    """A flushed batch of one metric of one run: steps/values/walls as little-endian arrays."""

    __tablename__ = "metric_chunks"
    __table_args__ = (sa.Index("ix_chunk_run_key_last", "run_id", "key", "last_step"),)
    id: so.Mapped[int] = so.mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    run_id: so.Mapped[str] = so.mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"))
    key: so.Mapped[str] = so.mapped_column(sa.String(256))
    first_step: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    last_step: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    count: so.Mapped[int]
    steps: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    values: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    walls: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)


class Event(Base):
    """Append-only change log, written in the same transaction as the change it describes."""

    __tablename__ = "events"
    id: so.Mapped[int] = so.mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    type: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    project_id: so.Mapped[int | None] = so.mapped_column(index=True)
    run_id: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    payload: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    # PostgreSQL only (a server default, migration 0003): the writing transaction's id. Ids from a
    # sequence become visible in commit order, not id order; see events.read_page.
    # Left out of inserts (the server fills it) and of loads; read by events.read_page only.
    txid: so.Mapped[int | None] = so.mapped_column(sa.BigInteger, server_default=sa.FetchedValue(), deferred=True)
    __mapper_args__ = {"eager_defaults": False}  # no RETURNING txid after each insert


class Automation(Base):
    __tablename__ = "automations"
    __table_args__ = (sa.UniqueConstraint("team_id", "name", name="uq_automation_team_name"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    team_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"))
    project_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(255))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    enabled: so.Mapped[bool] = so.mapped_column(default=True)
    created_by: so.Mapped[str] = so.mapped_column(sa.String(128), default="")
    scope_type: so.Mapped[str] = so.mapped_column(sa.String(32), default="project")
    event_type: so.Mapped[str] = so.mapped_column(sa.String(64))
    event_filter: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    action_type: so.Mapped[str] = so.mapped_column(sa.String(32))
    action_config: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    cooldown_seconds: so.Mapped[int] = so.mapped_column(default=24 * 3600)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)


class AutomationRunState(Base):
    """Per (automation, run) memory: last condition value (edge detection) and last firing."""

    __tablename__ = "automation_run_states"
    automation_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("automations.id", ondelete="CASCADE"), primary_key=True
    )
    run_id: so.Mapped[str] = so.mapped_column(
        sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    condition: so.Mapped[bool] = so.mapped_column(default=False)
    last_fired_at: so.Mapped[datetime | None]


class Integration(Base):
    """A Slack integration or a webhook. Secret values live in the OS keyring, named here."""

    __tablename__ = "integrations"
    __table_args__ = (sa.UniqueConstraint("team_id", "kind", "name", name="uq_integration_name"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    team_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"))
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    name: so.Mapped[str] = so.mapped_column(sa.String(128))
    config: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class SecretName(Base):
    __tablename__ = "secret_names"
    __table_args__ = (sa.UniqueConstraint("team_id", "name", name="uq_secret_name"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    team_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"))
    name: so.Mapped[str] = so.mapped_column(sa.String(128))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class Execution(Base):
    __tablename__ = "executions"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    automation_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("automations.id", ondelete="SET NULL"), index=True
    )
    automation_name: so.Mapped[str] = so.mapped_column(sa.String(255))
    project_id: so.Mapped[int | None] = so.mapped_column(index=True)
    run_id: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    scope: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    triggered_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, index=True)
    event_type: so.Mapped[str] = so.mapped_column(sa.String(64))
    event: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    action_type: so.Mapped[str] = so.mapped_column(sa.String(32))
    action: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="pending", index=True)
    reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    delivery_id: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    is_test: so.Mapped[bool] = so.mapped_column(default=False)
    next_attempt_at: so.Mapped[datetime | None]
    finished_at: so.Mapped[datetime | None]


class Attempt(Base):
    __tablename__ = "attempts"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    execution_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("executions.id", ondelete="CASCADE"), index=True
    )
    started_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    status_code: so.Mapped[int | None]
    response_excerpt: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    error: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    latency_ms: so.Mapped[float] = so.mapped_column(default=0.0)


class EngineCursor(Base):
    """How far a consumer (the engine) has read the event log."""

    __tablename__ = "engine_cursors"
    name: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    position: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)


# -- artifacts and registries (issue 4) ----------------------------------------------------


class Artifact(Base):
    """A project's artifact collection (W&B "sequence"): a name, a type and versions v0…vN."""

    __tablename__ = "artifacts"
    __table_args__ = (sa.UniqueConstraint("project_id", "name", name="uq_artifact_project_name"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    project_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(128))
    type: so.Mapped[str] = so.mapped_column(sa.String(64))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    next_index: so.Mapped[int] = so.mapped_column(default=0)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class ArtifactVersion(Base):
    __tablename__ = "artifact_versions"
    __table_args__ = (
        sa.UniqueConstraint("artifact_id", "index", name="uq_artifact_version_index"),
        sa.UniqueConstraint("artifact_id", "digest", name="uq_artifact_version_digest"),
    )
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    artifact_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("artifacts.id", ondelete="CASCADE"))
    index: so.Mapped[int]
    digest: so.Mapped[str] = so.mapped_column(sa.String(64))
    size: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    # "metadata" is reserved by the declarative base, hence the attribute name.
    meta: so.Mapped[dict[str, Any]] = so.mapped_column("metadata", default=dict)
    files: so.Mapped[list[Any]] = so.mapped_column(default=list)
    run_id: so.Mapped[str | None] = so.mapped_column(sa.ForeignKey("runs.id", ondelete="SET NULL"), index=True)
    created_by: so.Mapped[str] = so.mapped_column(sa.String(128), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class ArtifactAlias(Base):
    """An alias names at most one version of its artifact (hence the artifact_id column)."""

    __tablename__ = "artifact_aliases"
    __table_args__ = (sa.UniqueConstraint("artifact_id", "alias", name="uq_artifact_alias"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    artifact_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("artifacts.id", ondelete="CASCADE"))
    version_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("artifact_versions.id", ondelete="CASCADE"), index=True
    )
    alias: so.Mapped[str] = so.mapped_column(sa.String(128))


class ArtifactTag(Base):
    __tablename__ = "artifact_tags"
    version_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("artifact_versions.id", ondelete="CASCADE"), primary_key=True
    )
    tag: so.Mapped[str] = so.mapped_column(sa.String(128), primary_key=True)


class Registry(Base):
    __tablename__ = "registries"
    __table_args__ = (sa.UniqueConstraint("team_id", "name", name="uq_registry_team_name"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    team_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"))
    name: so.Mapped[str] = so.mapped_column(sa.String(128))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    is_default: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class RegistryMember(Base):
    """A user's role in one registry; without a row the team role applies."""

    __tablename__ = "registry_members"
    registry_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("registries.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: so.Mapped[str] = so.mapped_column(sa.String(16))


class RegistryCollection(Base):
    __tablename__ = "registry_collections"
    __table_args__ = (sa.UniqueConstraint("registry_id", "name", name="uq_registry_collection_name"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    registry_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("registries.id", ondelete="CASCADE"))
    name: so.Mapped[str] = so.mapped_column(sa.String(128))
    type: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    next_index: so.Mapped[int] = so.mapped_column(default=0)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class RegistryLink(Base):
    """A project artifact version linked into a registry collection, as that collection's vN."""

    __tablename__ = "registry_links"
    __table_args__ = (
        sa.UniqueConstraint("collection_id", "version_id", name="uq_registry_link_version"),
        sa.UniqueConstraint("collection_id", "index", name="uq_registry_link_index"),
    )
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    collection_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("registry_collections.id", ondelete="CASCADE")
    )
    version_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("artifact_versions.id", ondelete="CASCADE"), index=True
    )
    index: so.Mapped[int]
    linked_by: so.Mapped[str] = so.mapped_column(sa.String(128), default="")
    linked_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class RegistryAlias(Base):
    __tablename__ = "registry_aliases"
    __table_args__ = (sa.UniqueConstraint("collection_id", "alias", name="uq_registry_alias"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    collection_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("registry_collections.id", ondelete="CASCADE")
    )
    link_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("registry_links.id", ondelete="CASCADE"), index=True)
    alias: so.Mapped[str] = so.mapped_column(sa.String(128))


class RegistryTag(Base):
    __tablename__ = "registry_tags"
    link_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("registry_links.id", ondelete="CASCADE"), primary_key=True
    )
    tag: so.Mapped[str] = so.mapped_column(sa.String(128), primary_key=True)
