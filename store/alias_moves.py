"""An alias is unique within its collection: pointing it at a version moves it off the version
that held it. One rule for project artifacts and registry collections alike."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from store import artifact_entities as ae
from store import artifact_events as ev
from store import models as m


@dataclass(frozen=True)
class AliasTable:
    model: type  # the alias rows
    owner: str  # column naming the collection the alias is unique in
    target: str  # column naming the version it points at
    target_model: type
    record: Callable[..., None]  # (session, event type, target row, author, caused_by, **payload)


def _record_project(s: so.Session, type_: str, row: Any, author: str, caused_by: str | None, **extra: Any) -> None:
    ev.record_project(s, type_, ev.version_entity(s, row), author, caused_by, **extra)


def _record_registry(s: so.Session, type_: str, row: Any, author: str, caused_by: str | None, **extra: Any) -> None:
    ev.record_registry(s, type_, ev.link_entity(s, row), author, caused_by, **extra)


PROJECT = AliasTable(m.ArtifactAlias, "artifact_id", "version_id", m.ArtifactVersion, _record_project)
REGISTRY = AliasTable(m.RegistryAlias, "collection_id", "link_id", m.RegistryLink, _record_registry)


def put_alias(s: so.Session, table: AliasTable, owner_id: int, row: Any, alias: str, author: str,
              caused_by: str | None) -> None:
    """Point `alias` at `row`, taking it off the version that held it (two events then)."""
    held = s.scalar(sa.select(table.model).where(getattr(table.model, table.owner) == owner_id,
                                                 table.model.alias == alias))
    automatic = alias == ae.LATEST
    moved: dict[str, Any] = {}
    if held is not None:
        if getattr(held, table.target) == row.id:
            return
        previous = s.get(table.target_model, getattr(held, table.target))
        moved = {"moved_from_index": previous.index}
        s.delete(held)
        s.flush()
        table.record(s, ev.ARTIFACT_ALIAS_REMOVED, previous, author, caused_by,
                     alias=alias, automatic=automatic, moved_to_index=row.index)
    s.add(table.model(**{table.owner: owner_id, table.target: row.id, "alias": alias}))
    s.flush()
    table.record(s, ev.ARTIFACT_ALIAS_ADDED, row, author, caused_by, alias=alias, automatic=automatic, **moved)
