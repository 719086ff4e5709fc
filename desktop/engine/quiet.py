"""Pausing desktop notifications ("quiet"): the tray sets it, the engine's dispatcher honours it.

The pause lives in a small JSON file in the data folder so that the in-app engine and a
headless `runbell engine` on the same data folder agree, and it survives a restart. Slack and
webhook deliveries are never paused. No Qt here.
"""
from __future__ import annotations

import json
import logging
import os
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

from store.db import data_dir

log = logging.getLogger("runbell.engine.quiet")

PAUSE_FILE = "notifications-paused.json"
TOMORROW_AT = time(8, 0)  # "until tomorrow" ends at 08:00 local time


def pause_file() -> Path:
    return data_dir() / PAUSE_FILE


def pause_desktop_notifications(until: datetime) -> datetime:
    """Pause desktop notifications until `until` (aware; naive means local time); returns it in UTC."""
    if until.tzinfo is None:
        until = until.astimezone()
    until = until.astimezone(timezone.utc)
    path = pause_file()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"until": until.isoformat()}), "utf-8")
    os.replace(tmp, path)  # atomic: the engine never reads half a file
    log.info("desktop notifications paused until %s", until.astimezone().isoformat(timespec="minutes"))
    return until


def resume_desktop_notifications() -> None:
    try:
        pause_file().unlink()
    except FileNotFoundError:
        return
    log.info("desktop notifications resumed")


def desktop_notifications_paused_until(now: datetime | None = None) -> datetime | None:
    """When the current pause ends (UTC), or None when desktop notifications are on."""
    try:
        until = datetime.fromisoformat(json.loads(pause_file().read_text("utf-8"))["until"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring an unreadable %s: %s", PAUSE_FILE, exc)
        return None
    if until.tzinfo is None:
        until = until.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return until if until > now else None


def for_one_hour(now: datetime | None = None) -> datetime:
    return (now or datetime.now(timezone.utc)) + timedelta(hours=1)


def until_tomorrow(now: datetime | None = None) -> datetime:
    """Tomorrow at 08:00 in the local time zone of `now` (default: this machine's)."""
    local = (now or datetime.now(timezone.utc)).astimezone()
    return datetime.combine(local.date() + timedelta(days=1), TOMORROW_AT, tzinfo=local.tzinfo)
