"""Registry collections and the project versions linked into them, with their own aliases and tags.

A linked version is version vN of its collection (numbered by linking order, never reused);
`latest` names the newest link. Changes need the registry member role (see `store.registries`)
and write registry-scoped events (`store.artifact_events`).
"""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
import sqlalchemy.orm as so

from store import alias_moves
from store import artifact_entities as ae
from store import artifact_events as ev
from store import models as m
from store.db import Database
from store.errors import NotFound, ValidationError
from store.registries import registry_row, require_role


def _collection_entity(s: so.Session, row: m.RegistryCollection) -> ae.RegistryCollection:
    count = s.scalar(sa.select(sa.func.count()).where(m.RegistryLink.collection_id == row.id)) or 0
    return ae.RegistryCollection(row.id, row.registry_id, row.name, row.type, row.description,
                                 row.created_at, count)


def list_collections(db: Database, registry_id: int) -> list[ae.RegistryCollection]:
    with db.session() as s:
        registry_row(s, registry_id)
        rows = s.scalars(sa.select(m.RegistryCollection).where(m.RegistryCollection.registry_id == registry_id)
                         .order_by(m.RegistryCollection.name))
        return [_collection_entity(s, r) for r in rows]


def _collection(s: so.Session, registry: m.Registry, name: str, type_: str, description: str,
                username: str) -> m.RegistryCollection:
    row = s.scalar(sa.select(m.RegistryCollection).where(m.RegistryCollection.registry_id == registry.id,
                                                         m.RegistryCollection.name == name))
    if row is None:
        require_role(s, registry, username, "member", "create collections")
        row = m.RegistryCollection(registry_id=registry.id, name=name, type=type_, description=description,
                                   next_index=0)
        s.add(row)
        s.flush()
    return row


def create_collection(db: Database, registry_id: int, name: str, *, username: str, type_: str = "",
                      description: str = "") -> ae.RegistryCollection:
    name = ev.check_name("collection", name)
    with db.session() as s:
        return _collection_entity(s, _collection(s, registry_row(s, registry_id), name, type_, description, username))


def _link_row(s: so.Session, link_id: int) -> tuple[m.RegistryLink, m.RegistryCollection, m.Registry]:
    link = s.get(m.RegistryLink, link_id)
    if link is None:
        raise NotFound(f"no linked version {link_id}")
    collection = s.get(m.RegistryCollection, link.collection_id)
    return link, collection, s.get(m.Registry, collection.registry_id)


def link_version(db: Database, version_id: int, registry_id: int, collection: str, *, username: str,
                 aliases: Iterable[str] = (), caused_by: str | None = None) -> ae.LinkedVersion:
    """Link a project version into `collection` (created if missing) of the registry.

    Linking a version already in the collection returns that link and only adds the aliases.
    """
    collection = ev.check_name("collection", collection)
    wanted = [ev.check_label("alias", a) for a in aliases if a != ae.LATEST]
    with db.session() as s:
        registry = registry_row(s, registry_id)
        require_role(s, registry, username, "member", "link versions")
        version = s.get(m.ArtifactVersion, version_id)
        if version is None:
            raise NotFound(f"no artifact version {version_id}")
        artifact = s.get(m.Artifact, version.artifact_id)
        project = s.get(m.Project, artifact.project_id)
        if project.team_id != registry.team_id:
            raise ValidationError("a version can only be linked into a registry of its own team")
        coll = _collection(s, registry, collection, artifact.type, "", username)
        if coll.type and coll.type != artifact.type:
            raise ValidationError(f"collection {coll.name!r} holds {coll.type!r} artifacts, not {artifact.type!r}")
        link = s.scalar(sa.select(m.RegistryLink).where(m.RegistryLink.collection_id == coll.id,
                                                        m.RegistryLink.version_id == version.id))
        if link is None:
            link = m.RegistryLink(collection_id=coll.id, version_id=version.id, index=coll.next_index,
                                  linked_by=username)
            coll.next_index += 1
            s.add(link)
            s.flush()
            ev.record_registry(s, ev.ARTIFACT_LINKED, ev.link_entity(s, link), username, caused_by)
            alias_moves.put_alias(s, alias_moves.REGISTRY, coll.id, link, ae.LATEST, username, caused_by)
        for alias in wanted:
            alias_moves.put_alias(s, alias_moves.REGISTRY, coll.id, link, alias, username, caused_by)
        return ev.link_entity(s, link)


def unlink(db: Database, link_id: int, *, username: str, caused_by: str | None = None) -> None:
    """Remove the version from the collection (the project version stays); `latest` moves back."""
    with db.session() as s:
        link, collection, registry = _link_row(s, link_id)
        require_role(s, registry, username, "member", "unlink versions")
        ev.record_registry(s, ev.ARTIFACT_UNLINKED, ev.link_entity(s, link), username, caused_by)
        had_latest = s.scalar(sa.select(m.RegistryAlias.id).where(m.RegistryAlias.link_id == link.id,
                                                                  m.RegistryAlias.alias == ae.LATEST))
        s.delete(link)
        s.flush()
        if had_latest:
            newest = s.scalar(sa.select(m.RegistryLink).where(m.RegistryLink.collection_id == collection.id)
                              .order_by(m.RegistryLink.index.desc()).limit(1))
            if newest is not None:
                alias_moves.put_alias(s, alias_moves.REGISTRY, collection.id, newest, ae.LATEST, username, caused_by)


def add_alias(db: Database, link_id: int, alias: str, *, username: str,
              caused_by: str | None = None) -> ae.LinkedVersion:
    """Give the linked version `alias`, moving it off the version of the collection that held it."""
    alias = ev.check_label("alias", alias)
    if alias == ae.LATEST:
        raise ValidationError("'latest' is maintained automatically: it names the newest version")
    with db.session() as s:
        link, collection, registry = _link_row(s, link_id)
        require_role(s, registry, username, "member", "change aliases")
        alias_moves.put_alias(s, alias_moves.REGISTRY, collection.id, link, alias, username, caused_by)
        return ev.link_entity(s, link)


def remove_alias(db: Database, link_id: int, alias: str, *, username: str,
                 caused_by: str | None = None) -> ae.LinkedVersion:
    if alias == ae.LATEST:
        raise ValidationError("'latest' is maintained automatically and cannot be removed")
    with db.session() as s:
        link, _, registry = _link_row(s, link_id)
        require_role(s, registry, username, "member", "change aliases")
        held = s.scalar(sa.select(m.RegistryAlias).where(m.RegistryAlias.link_id == link.id,
                                                         m.RegistryAlias.alias == alias))
        if held is None:
            raise NotFound(f"v{link.index} has no alias {alias!r}")
        s.delete(held)
        s.flush()
        entity = ev.link_entity(s, link)
        ev.record_registry(s, ev.ARTIFACT_ALIAS_REMOVED, entity, username, caused_by, alias=alias, automatic=False)
        return entity


def add_tag(db: Database, link_id: int, tag: str, *, username: str,
            caused_by: str | None = None) -> ae.LinkedVersion:
    tag = ev.check_label("tag", tag)
    with db.session() as s:
        link, _, registry = _link_row(s, link_id)
        require_role(s, registry, username, "member", "change tags")
        if s.get(m.RegistryTag, (link.id, tag)) is None:
            s.add(m.RegistryTag(link_id=link.id, tag=tag))
            s.flush()
            ev.record_registry(s, ev.ARTIFACT_TAG_ADDED, ev.link_entity(s, link), username, caused_by, tag=tag)
        return ev.link_entity(s, link)


def remove_tag(db: Database, link_id: int, tag: str, *, username: str,
               caused_by: str | None = None) -> ae.LinkedVersion:
    with db.session() as s:
        link, _, registry = _link_row(s, link_id)
        require_role(s, registry, username, "member", "change tags")
        present = s.get(m.RegistryTag, (link.id, tag))
        if present is None:
            raise NotFound(f"v{link.index} has no tag {tag!r}")
        s.delete(present)
        s.flush()
        entity = ev.link_entity(s, link)
        ev.record_registry(s, ev.ARTIFACT_TAG_REMOVED, entity, username, caused_by, tag=tag)
        return entity


# -- reading ----------------------------------------------------------------------------------


def list_linked_versions(db: Database, collection_id: int) -> list[ae.LinkedVersion]:
    """Newest first."""
    with db.session() as s:
        rows = s.scalars(sa.select(m.RegistryLink).where(m.RegistryLink.collection_id == collection_id)
                         .order_by(m.RegistryLink.index.desc()))
        return [ev.link_entity(s, r) for r in rows]


def get_link(db: Database, link_id: int) -> ae.LinkedVersion:
    with db.session() as s:
        return ev.link_entity(s, _link_row(s, link_id)[0])


def alias_holder(db: Database, collection_id: int, alias: str) -> ae.LinkedVersion | None:
    """The linked version of the collection that holds `alias`, if any."""
    with db.session() as s:
        held = s.scalar(sa.select(m.RegistryAlias).where(m.RegistryAlias.collection_id == collection_id,
                                                         m.RegistryAlias.alias == alias))
        return None if held is None else ev.link_entity(s, s.get(m.RegistryLink, held.link_id))
