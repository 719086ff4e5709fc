"""Registries (team level; `Model` and `Dataset` by default) and per-registry roles.

A user's registry role: team admins are admins of every registry; otherwise an explicit
registry membership decides, and without one the team role (member or viewer) applies.
Viewers may look but not link, alias, tag or create automations in the registry.
Collections, links, aliases and tags are in `store.registry_links`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
import sqlalchemy.orm as so

from store import artifact_entities as ae
from store import artifact_events as ev
from store import events
from store import models as m
from store.db import Database
from store.errors import NotFound, PermissionDenied, ValidationError  # noqa: F401 - PermissionDenied re-exported

T = TypeVar("T")
_RANK = {"viewer": 0, "member": 1, "admin": 2}


def _entity(row: m.Registry) -> ae.Registry:
    return ae.Registry(row.id, row.team_id, row.name, row.description, row.is_default, row.created_at)


def _retry_once(action: Callable[[], T]) -> T:
    try:
        return action()
    except sa_exc.IntegrityError:
        return action()


# -- roles ------------------------------------------------------------------------------------


def role_in(s: so.Session, registry: m.Registry, username: str) -> str:
    user = s.scalar(sa.select(m.User).where(m.User.team_id == registry.team_id, m.User.username == username))
    if user is None:
        return "viewer"
    if user.role == "admin":
        return "admin"
    member = s.get(m.RegistryMember, (registry.id, user.id))
    if member is not None:
        return member.role
    return "member" if user.role == "member" else "viewer"


def require_role(s: so.Session, registry: m.Registry, username: str, needed: str, what: str) -> None:
    role = role_in(s, registry, username)
    if _RANK[role] < _RANK[needed]:
        user = s.scalar(sa.select(m.User.id).where(m.User.team_id == registry.team_id, m.User.username == username))
        who = (f"{username or 'this user'} is not a member of the team" if user is None
               else f"{username or 'this user'} is a {role} of registry {registry.name!r}")
        raise PermissionDenied(f"{who} and cannot {what}; a registry {needed} can")


def require_access(db: Database, registry_id: int, username: str, needed: str, what: str) -> None:
    """Raise PermissionDenied unless the user holds at least `needed` in the registry."""
    with db.session() as s:
        require_role(s, registry_row(s, registry_id), username, needed, what)


def registry_row(s: so.Session, registry_id: int) -> m.Registry:
    row = s.get(m.Registry, registry_id)
    if row is None:
        raise NotFound(f"no registry {registry_id}")
    return row


def registry_role(db: Database, registry_id: int, username: str) -> str:
    """"admin", "member" or "viewer"."""
    with db.session() as s:
        return role_in(s, registry_row(s, registry_id), username)


def can_write(db: Database, registry_id: int, username: str) -> bool:
    """May this user link, alias, tag and create automations in the registry?"""
    return _RANK[registry_role(db, registry_id, username)] >= _RANK["member"]


def list_members(db: Database, registry_id: int) -> list[ae.RegistryMember]:
    """Every team member with their effective role in this registry."""
    with db.session() as s:
        registry = registry_row(s, registry_id)
        users = s.scalars(sa.select(m.User).where(m.User.team_id == registry.team_id).order_by(m.User.username))
        return [ae.RegistryMember(registry_id, u.id, u.username, role_in(s, registry, u.username),
                                  s.get(m.RegistryMember, (registry_id, u.id)) is not None) for u in users]


def set_member_role(db: Database, registry_id: int, user_id: int, role: str, *, username: str) -> ae.RegistryMember:
    if role not in ae.REGISTRY_ROLES:
        raise ValidationError(f"a registry role is one of {', '.join(ae.REGISTRY_ROLES)}")
    with db.session() as s:
        registry = registry_row(s, registry_id)
        require_role(s, registry, username, "admin", "change roles")
        user = s.get(m.User, user_id)
        if user is None or user.team_id != registry.team_id:
            raise NotFound(f"no team member {user_id}")
        member = s.get(m.RegistryMember, (registry_id, user_id))
        if member is None:
            s.add(m.RegistryMember(registry_id=registry_id, user_id=user_id, role=role))
        else:
            member.role = role
        s.flush()
        _changed(s, registry, "role", username, user=user.username, role=role)
        return ae.RegistryMember(registry_id, user.id, user.username, role_in(s, registry, user.username), True)


# -- registries -------------------------------------------------------------------------------


def _changed(s: so.Session, registry: m.Registry, change: str, author: str, **extra: object) -> None:
    events.record(s, ev.REGISTRY_CHANGED, payload={
        "registry_id": registry.id, "team_id": registry.team_id, "registry_name": registry.name,
        "change": change, "event_author": author, **extra,
    })


def ensure_default_registries(db: Database, team_id: int) -> None:
    """Create `Model` and `Dataset` on first use (process-safe)."""
    _retry_once(lambda: _ensure_defaults(db, team_id))


def _ensure_defaults(db: Database, team_id: int) -> None:
    with db.session() as s:
        present = set(s.scalars(sa.select(m.Registry.name).where(m.Registry.team_id == team_id)))
        for name, description in ae.DEFAULT_REGISTRIES:
            if name not in present:
                row = m.Registry(team_id=team_id, name=name, description=description, is_default=True)
                s.add(row)
                s.flush()
                _changed(s, row, "created", "")


def list_registries(db: Database, team_id: int) -> list[ae.Registry]:
    """Defaults first, then the others by name."""
    ensure_default_registries(db, team_id)
    with db.session() as s:
        rows = list(s.scalars(sa.select(m.Registry).where(m.Registry.team_id == team_id)))
        rows.sort(key=lambda r: (not r.is_default, r.id if r.is_default else 0, r.name.lower()))
        return [_entity(r) for r in rows]


def get_registry(db: Database, registry_id: int) -> ae.Registry:
    with db.session() as s:
        return _entity(registry_row(s, registry_id))


def find_registry(db: Database, team_id: int, name: str) -> ae.Registry:
    ensure_default_registries(db, team_id)
    with db.session() as s:
        row = s.scalar(sa.select(m.Registry).where(m.Registry.team_id == team_id, m.Registry.name == name))
        if row is None:
            raise NotFound(f"no registry named {name!r}")
        return _entity(row)


def _require_free_name(s: so.Session, team_id: int, name: str, except_id: int | None = None) -> None:
    """Registry names are unique ignoring case: `model` beside `Model` would only confuse."""
    q = sa.select(m.Registry.name).where(m.Registry.team_id == team_id,
                                         sa.func.lower(m.Registry.name) == name.lower())
    if except_id is not None:
        q = q.where(m.Registry.id != except_id)
    taken = s.scalar(q)
    if taken is not None:
        raise ValidationError(f"a registry named {taken!r} already exists")


def create_registry(db: Database, team_id: int, name: str, *, username: str, description: str = "") -> ae.Registry:
    """A custom registry; its creator becomes its admin. Team viewers cannot create one."""
    name = ev.check_name("registry", name)
    with db.session() as s:
        user = s.scalar(sa.select(m.User).where(m.User.team_id == team_id, m.User.username == username))
        if user is None or user.role == "viewer":
            raise PermissionDenied("team viewers cannot create registries")
        _require_free_name(s, team_id, name)
        row = m.Registry(team_id=team_id, name=name, description=description)
        s.add(row)
        s.flush()
        if user.role != "admin":
            s.add(m.RegistryMember(registry_id=row.id, user_id=user.id, role="admin"))
        _changed(s, row, "created", username)
        return _entity(row)


def rename_registry(db: Database, registry_id: int, name: str, *, username: str) -> ae.Registry:
    name = ev.check_name("registry", name)
    with db.session() as s:
        row = registry_row(s, registry_id)
        require_role(s, row, username, "admin", "rename it")
        if row.is_default:
            raise ValidationError(f"the default registry {row.name!r} cannot be renamed")
        if row.name == name:
            return _entity(row)
        _require_free_name(s, row.team_id, name, except_id=row.id)
        old = row.name
        row.name = name
        s.flush()
        _changed(s, row, "renamed", username, old_name=old)
        return _entity(row)


def delete_registry(db: Database, registry_id: int, *, username: str) -> None:
    """Delete a custom registry with its collections and links (the project versions stay)."""
    with db.session() as s:
        row = registry_row(s, registry_id)
        require_role(s, row, username, "admin", "delete it")
        if row.is_default:
            raise ValidationError(f"the default registry {row.name!r} cannot be deleted")
        _changed(s, row, "deleted", username)
        s.delete(row)
