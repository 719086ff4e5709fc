"""The actions of the Python API (desktop.engine.sdk): each builds the stored `action_config`
the engine sends (reference §3: `SendNotification`, `SendWebhook`, `DoNothing`), plus Runbell's
desktop notification."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from store.errors import ValidationError

from desktop.engine.actions import DESKTOP_NOTIFICATION, GENERIC_WEBHOOK, NO_OP, NOTIFICATION
from desktop.engine.actions.slack import SEVERITIES


class Action:
    action_type: str = ""
    integration_kind: str | None = None

    def config(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def integration_id(self) -> int | None:
        return None


def _severity(value: str) -> str:
    level = str(value or "INFO").strip().upper()
    if level not in SEVERITIES:
        raise ValidationError(f"unknown severity {value!r}; use INFO, WARN or ERROR")
    return level


class SendWebhook(Action):
    """POST to a team webhook; `payload` is a dict or a JSON template string with `${...}`."""

    action_type, integration_kind = GENERIC_WEBHOOK, "webhook"

    def __init__(self, integration_id: int, payload: Mapping[str, Any] | str | None = None) -> None:
        self._id = integration_id
        if payload is None:
            self.payload = ""
        elif isinstance(payload, str):
            self.payload = payload
        else:
            self.payload = json.dumps(payload, ensure_ascii=False)

    @property
    def integration_id(self) -> int:
        return self._id

    def config(self) -> dict[str, Any]:
        return {"integration_id": self._id, "request_payload": self.payload}


class SendNotification(Action):
    """A Slack message (`text` alias `message`, `level` alias `severity`, as in `wandb.alert`)."""

    action_type, integration_kind = NOTIFICATION, "slack"

    def __init__(self, integration_id: int, title: str = "", text: str = "", level: str = "INFO", *,
                 message: str | None = None, severity: str | None = None, notify_desktop: bool = False) -> None:
        self._id = integration_id
        self.title = title
        self.text = message if message is not None else text
        self.level = _severity(severity if severity is not None else level)
        self.notify_desktop = notify_desktop

    @property
    def integration_id(self) -> int:
        return self._id

    def config(self) -> dict[str, Any]:
        return {"integration_id": self._id, "title": self.title, "message": self.text,
                "severity": self.level, "notify_desktop": bool(self.notify_desktop)}


class SendDesktopNotification(Action):
    action_type = DESKTOP_NOTIFICATION

    def __init__(self, title: str = "", message: str = "", severity: str = "INFO") -> None:
        self.title, self.message, self.severity = title, message, _severity(severity)

    def config(self) -> dict[str, Any]:
        return {"title": self.title, "message": self.message, "severity": self.severity}


class DoNothing(Action):
    action_type = NO_OP

    def config(self) -> dict[str, Any]:
        return {}
