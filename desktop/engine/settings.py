"""Settings the engine needs too (no Qt): database URL, heartbeat timeout, default cooldown, quiet hours.

They live in `settings.json` in the data folder so that the app, a headless `runbell engine` and
the settings dialog agree; UI-only choices (theme, window layout) stay in QSettings.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, fields, replace
from datetime import time, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from store import secrets
from store.db import data_dir
from store.errors import SecretBackendUnavailable

log = logging.getLogger("runbell.engine.settings")

SETTINGS_FILE = "settings.json"
DEFAULT_HEARTBEAT_MINUTES = 5
DEFAULT_COOLDOWN_SECONDS = 24 * 3600  # the same default as store.automations


@dataclass(frozen=True)
class EngineSettings:
    """`database_url` None means the default (RUNBELL_DB or SQLite in the data folder); quiet hours
    are local "HH:MM" times, both None (or equal) when there are none."""

    database_url: str | None = None
    heartbeat_timeout_minutes: int = DEFAULT_HEARTBEAT_MINUTES
    default_cooldown_seconds: int = DEFAULT_COOLDOWN_SECONDS
    quiet_from: str | None = None
    quiet_to: str | None = None

    @property
    def heartbeat_timeout(self) -> timedelta:
        return timedelta(minutes=self.heartbeat_timeout_minutes)

    def quiet_hours(self) -> tuple[time, time] | None:
        """(from, to) local times, or None when quiet hours are off."""
        if not self.quiet_from or not self.quiet_to:
            return None
        start, end = time.fromisoformat(self.quiet_from), time.fromisoformat(self.quiet_to)
        return None if start == end else (start, end)


def settings_file() -> Path:
    return data_dir() / SETTINGS_FILE


def _checked(settings: EngineSettings) -> EngineSettings:
    if settings.heartbeat_timeout_minutes < 1:
        raise ValueError("the heartbeat timeout must be at least one minute")
    if settings.default_cooldown_seconds < 0:
        raise ValueError("the cooldown cannot be negative")
    for value in (settings.quiet_from, settings.quiet_to):
        if value:
            time.fromisoformat(value)  # ValueError for anything but HH:MM[:SS]
    return settings


def load_settings() -> EngineSettings:
    """The saved settings; defaults for a missing file, and for a broken one (with a warning)."""
    try:
        raw = json.loads(settings_file().read_text("utf-8"))
        known = {f.name for f in fields(EngineSettings)}
        return _checked(replace(EngineSettings(), **{k: v for k, v in raw.items() if k in known}))
    except FileNotFoundError:
        return EngineSettings()
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        log.warning("ignoring an unreadable %s: %s", SETTINGS_FILE, exc)
        return EngineSettings()


def split_password(url: str) -> tuple[str, str | None]:
    """(the URL without its password, the password or None)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url, None
    if parsed.password is None:
        return url, None
    # URL.set() ignores None; the URL is a named tuple
    return parsed._replace(password=None).render_as_string(hide_password=False), str(parsed.password)


def _password_account(url_without_password: str) -> str:
    return f"database/{url_without_password}"


def save_settings(settings: EngineSettings) -> EngineSettings:
    """Validate and write atomically (the engine never reads half a file).

    A database password goes to the OS keyring, never into the file; the file keeps the URL
    without it and `configured_url` puts it back. With no keyring, saving one is refused.
    """
    _checked(settings)
    if settings.database_url:
        bare, password = split_password(settings.database_url)
        if password is not None:
            try:
                secrets.keyring_set(_password_account(bare), password)
            except SecretBackendUnavailable as exc:
                raise ValueError(f"the database password cannot be kept safely: {exc}. Leave it out of the "
                                 "URL and use RUNBELL_DB or PostgreSQL's own ~/.pgpass instead") from exc
            settings = replace(settings, database_url=bare)
    path = settings_file()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2), "utf-8")
    os.replace(tmp, path)
    log.info("settings saved to %s", path)
    return settings


def configured_url(explicit: str | None = None) -> str | None:
    """The database to open: `--db`, then RUNBELL_DB, then the settings file (with its password
    from the keyring); None = the default."""
    chosen = explicit or os.environ.get("RUNBELL_DB")
    if chosen:
        return chosen
    saved = load_settings().database_url
    if not saved or split_password(saved)[1] is not None:
        return saved or None
    try:
        password = secrets.keyring_get(_password_account(saved))
    except SecretBackendUnavailable as exc:
        log.warning("could not read the database password from the keyring: %s", exc)
        return saved
    return saved if password is None else make_url(saved).set(password=password).render_as_string(
        hide_password=False)
