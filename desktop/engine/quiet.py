"""Pausing desktop notifications ("quiet"): the tray pauses, the settings set quiet hours, and the
engine's dispatcher honours both.

Quiet hours (a daily local from–to window) come from desktop.engine.settings. The pause lives in a
small JSON file in the data folder so that the in-app engine and a
headless `runbell engine` on the same data folder agree, and it survives a restart. Slack and
webhook deliveries are never paused. No Qt here.
"""
from __future__ import annotations

import json
import logging
import os
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

from desktop.engine.settings import load_settings
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
    """When desktop notifications come back on (UTC): the end of a tray pause or of the current
    quiet-hours window, whichever is later; None when they are on."""
    now = now or datetime.now(timezone.utc)
    ends = [end for end in (_pause_end(now), quiet_hours_end(now)) if end is not None]
    return max(ends) if ends else None


def _pause_end(now: datetime) -> datetime | None:
    try:
        until = datetime.fromisoformat(json.loads(pause_file().read_text("utf-8"))["until"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring an unreadable %s: %s", PAUSE_FILE, exc)
        return None
    if until.tzinfo is None:
        until = until.replace(tzinfo=timezone.utc)
    return until if until > now else None


def quiet_hours_end(now: datetime | None = None, hours: tuple[time, time] | None = None) -> datetime | None:
    """The end (UTC) of the quiet-hours window `now` is in, or None outside quiet hours.

    `hours` defaults to the saved settings; a window whose start is after its end spans midnight
    (22:00–07:00). Times are in the local time zone of `now` (default: this machine's).
    """
    if hours is None:
        hours = load_settings().quiet_hours()
    if hours is None:
        return None
    start, end = hours
    local = (now or datetime.now(timezone.utc)).astimezone()
    clock, day = local.time().replace(tzinfo=None), local.date()
    if start < end:
        inside, end_day = start <= clock < end, day
    elif clock >= start:  # before midnight in an overnight window
        inside, end_day = True, day + timedelta(days=1)
    else:
        inside, end_day = clock < end, day
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=local.tzinfo).astimezone(timezone.utc)


def for_one_hour(now: datetime | None = None) -> datetime:
    return (now or datetime.now(timezone.utc)) + timedelta(hours=1)


def until_tomorrow(now: datetime | None = None) -> datetime:
    """Tomorrow at 08:00 in the local time zone of `now` (default: this machine's)."""
    local = (now or datetime.now(timezone.utc)).astimezone()
    return datetime.combine(local.date() + timedelta(days=1), TOMORROW_AT, tzinfo=local.tzinfo)
