"""Secrets: names in the database, values only in the OS keyring, never read back into the UI."""
from __future__ import annotations

import re

import keyring
import keyring.backend
import keyring.errors
import sqlalchemy as sa

from store import convert
from store import entities as e
from store import events
from store import models as m
from store.db import Database
from store.errors import NotFound, SecretBackendUnavailable, ValidationError

SERVICE = "runbell"
SECRET_NAME = re.compile(r"[A-Za-z0-9_]{1,128}")  # fullmatch: "$" would let a trailing newline in


def backend_problem() -> str | None:
    """None when the keyring can store secrets, else a message saying what is wrong and how to fix it."""
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken keyring configuration raises anything
        return f"the OS keyring could not be loaded: {exc}"
    priority = getattr(backend, "priority", 0)
    name = type(backend).__module__ + "." + type(backend).__name__
    if priority is None or priority <= 0 or "fail" in name.lower() or "null" in name.lower():
        return (
            f"no usable OS keyring backend (found {name}). On Linux start a Secret Service "
            "provider such as gnome-keyring or KWallet in your desktop session; on macOS and "
            "Windows the system keychain is used. Secrets are never written anywhere else."
        )
    return None


def _account(team_id: int, name: str) -> str:
    return f"team{team_id}/{name}"


def keyring_set(account: str, value: str) -> None:
    problem = backend_problem()
    if problem:
        raise SecretBackendUnavailable(problem)
    try:
        keyring.set_password(SERVICE, account, value)
    except keyring.errors.KeyringError as exc:
        raise SecretBackendUnavailable(f"the OS keyring refused to store the secret: {exc}") from exc


def keyring_get(account: str) -> str | None:
    problem = backend_problem()
    if problem:
        raise SecretBackendUnavailable(problem)
    try:
        return keyring.get_password(SERVICE, account)
    except keyring.errors.KeyringError as exc:
        raise SecretBackendUnavailable(f"the OS keyring could not be read: {exc}") from exc


def keyring_delete(account: str) -> None:
    problem = backend_problem()
    if problem:
        raise SecretBackendUnavailable(problem)
    try:
        keyring.delete_password(SERVICE, account)
    except keyring.errors.PasswordDeleteError:
        pass
    except keyring.errors.KeyringError as exc:
        raise SecretBackendUnavailable(f"the OS keyring could not delete the secret: {exc}") from exc


def validate_name(name: str) -> str:
    if not SECRET_NAME.fullmatch(name or ""):
        raise ValidationError("a secret name has 1–128 letters, digits or underscores")
    return name


def set_secret(db: Database, team_id: int, name: str, value: str) -> e.SecretName:
    """Create or replace a secret. The keyring is written first; the name only if that worked."""
    validate_name(name)
    if not value:
        raise ValidationError("a secret needs a value")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationError("a secret cannot contain line breaks or other control characters "
                              "(a pasted token often ends with one: remove it)")
    with db.session() as s:
        other = s.scalar(sa.select(m.SecretName.name).where(
            m.SecretName.team_id == team_id, sa.func.lower(m.SecretName.name) == name.lower(), m.SecretName.name != name))
    if other is not None:  # a keyring that ignores case (Windows) would keep only one of them
        raise ValidationError(f"the team already has a secret {other}; names differ by more than case")
    keyring_set(_account(team_id, name), value)
    with db.session() as s:
        row = s.scalar(sa.select(m.SecretName).where(m.SecretName.team_id == team_id, m.SecretName.name == name))
        change = "replaced"
        if row is None:
            row = m.SecretName(team_id=team_id, name=name)
            s.add(row)
            change = "created"
        row.updated_at = m.utcnow()
        s.flush()
        events.record(s, events.SECRET_CHANGED, payload={"name": name, "change": change})
        return convert.secret_name(row)


def secret_value(team_id: int, name: str) -> str:
    """The value for dispatch; raises NotFound if the keyring has no such secret."""
    value = keyring_get(_account(team_id, name))
    if value is None:
        raise NotFound(f"secret {name} is not in the OS keyring")
    return value


def delete_secret(db: Database, team_id: int, name: str) -> None:
    with db.session() as s:
        row = s.scalar(sa.select(m.SecretName).where(m.SecretName.team_id == team_id, m.SecretName.name == name))
        if row is None:
            raise NotFound(f"no secret {name}")
        s.delete(row)
        events.record(s, events.SECRET_CHANGED, payload={"name": name, "change": "deleted"})
        # Inside the transaction: if the keyring refuses, the name stays listed (nothing half-done).
        keyring_delete(_account(team_id, name))


def list_secrets(db: Database, team_id: int) -> list[e.SecretName]:
    with db.session() as s:
        rows = s.scalars(sa.select(m.SecretName).where(m.SecretName.team_id == team_id).order_by(m.SecretName.name))
        return [convert.secret_name(r) for r in rows]


def secret_users(db: Database, team_id: int, name: str) -> list[str]:
    """Names of integrations and automations that refer to a secret (shown before deleting it)."""
    needle = "${" + name + "}"
    users = []
    with db.session() as s:
        for row in s.scalars(sa.select(m.Integration).where(m.Integration.team_id == team_id)):
            if name in (row.config.get("access_token_secret"), row.config.get("signing_secret")):
                users.append(f"{row.kind} {row.name}")
        for row in s.scalars(sa.select(m.Automation).where(m.Automation.team_id == team_id)):
            if needle in str(row.action_config):
                users.append(f"automation {row.name}")
    return users
