"""Team, members and projects."""
from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc

from store import convert
from store import entities as e
from store import events
from store import models as m
from store.db import Database
from store.errors import NotFound, ValidationError

DEFAULT_TEAM = "default"
T = TypeVar("T")


def os_username() -> str:
    try:
        return getpass.getuser() or "user"
    except (KeyError, OSError):
        return "user"


def _created_once(create: Callable[[], T]) -> T:
    """Run a get-or-create; if another process created the row first, read theirs."""
    try:
        return create()
    except sa_exc.IntegrityError:
        return create()


def ensure_default_team(db: Database, username: str | None = None) -> tuple[e.Team, e.User]:
    """The team of a fresh install and its first admin, created on first use (process-safe)."""
    return _created_once(lambda: _ensure_default_team(db, username or os_username()))


def _ensure_default_team(db: Database, username: str) -> tuple[e.Team, e.User]:
    with db.session() as s:
        team = s.scalar(sa.select(m.Team).order_by(m.Team.id).limit(1))
        if team is None:
            team = m.Team(name=DEFAULT_TEAM)
            s.add(team)
            s.flush()
        user = s.scalar(sa.select(m.User).where(m.User.team_id == team.id, m.User.username == username))
        if user is None:
            has_admin = s.scalar(sa.select(sa.func.count()).where(m.User.team_id == team.id, m.User.role == "admin"))
            user = m.User(team_id=team.id, username=username, display_name=username,
                          role="member" if has_admin else "admin")
            s.add(user)
            s.flush()
        return convert.team(team), convert.user(user)


def list_users(db: Database, team_id: int) -> list[e.User]:
    with db.session() as s:
        rows = s.scalars(sa.select(m.User).where(m.User.team_id == team_id).order_by(m.User.username))
        return [convert.user(r) for r in rows]


def set_role(db: Database, user_id: int, role: str) -> e.User:
    """Change a member's role; the team's last admin cannot be demoted."""
    if role not in e.ROLES:
        raise ValidationError(f"role must be one of {', '.join(e.ROLES)}")
    with db.session() as s:
        row = s.get(m.User, user_id)
        if row is None:
            raise NotFound(f"no user {user_id}")
        if row.role == "admin" and role != "admin":
            admins = s.scalar(sa.select(sa.func.count()).where(
                m.User.team_id == row.team_id, m.User.role == "admin"))
            if admins <= 1:  # a team without an admin could never change a role again
                raise ValidationError(
                    f"{row.username} is the team's last admin; make another member an admin first")
        row.role = role
        events.record(s, events.MEMBER_CHANGED, payload={"user_id": row.id, "role": role})
        return convert.user(row)


def get_user(db: Database, user_id: int) -> e.User:
    with db.session() as s:
        row = s.get(m.User, user_id)
        if row is None:
            raise NotFound(f"no user {user_id}")
        return convert.user(row)


def set_display_name(db: Database, user_id: int, name: str) -> e.User:
    name = name.strip()
    if not name or len(name) > 256:
        raise ValidationError("a display name needs 1 to 256 characters")
    with db.session() as s:
        row = s.get(m.User, user_id)
        if row is None:
            raise NotFound(f"no user {user_id}")
        row.display_name = name
        return convert.user(row)


def get_or_create_project(db: Database, team_id: int, name: str) -> e.Project:
    name = name.strip()
    if not name or len(name) > 128:
        raise ValidationError("a project name needs 1 to 128 characters")
    return _created_once(lambda: _get_or_create_project(db, team_id, name))


def _get_or_create_project(db: Database, team_id: int, name: str) -> e.Project:
    with db.session() as s:
        row = s.scalar(sa.select(m.Project).where(m.Project.team_id == team_id, m.Project.name == name))
        if row is None:
            row = m.Project(team_id=team_id, name=name)
            s.add(row)
            s.flush()
            events.record(s, events.PROJECT_CREATED, project_id=row.id, payload={"name": name})
        return convert.project(row)


def list_projects(db: Database, team_id: int | None = None) -> list[e.Project]:
    with db.session() as s:
        q = sa.select(m.Project).order_by(m.Project.name)
        if team_id is not None:
            q = q.where(m.Project.team_id == team_id)
        return [convert.project(r) for r in s.scalars(q)]


def get_project(db: Database, project_id: int) -> e.Project:
    with db.session() as s:
        row = s.get(m.Project, project_id)
        if row is None:
            raise NotFound(f"no project {project_id}")
        return convert.project(row)
