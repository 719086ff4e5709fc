"""What a firing writes: the event details and one action record per target.

The action records hold everything a later send (or a resend) needs except secrets: the Slack
message as built now, or the webhook template with its variables and a masked rendering.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from store import integrations
from store import entities as e
from store.db import Database
from store.errors import NotFound, StoreError

from desktop.engine import templating
from desktop.engine.actions import DESKTOP_NOTIFICATION, GENERIC_WEBHOOK, NO_OP, NOTIFICATION, slack, webhook


@dataclass(frozen=True)
class Target:
    action_type: str
    action: dict[str, Any]
    status: str = "pending"
    reason: str = ""


@dataclass(frozen=True)
class Firing:
    """Everything about one matched event, independent of the action."""

    event_type: str
    event: dict[str, Any]  # stored with the execution (strict JSON)
    variables: dict[str, Any]  # payload variables (typed)
    default_title: str
    default_text: str
    fields: tuple[tuple[str, str], ...]  # the event summary shown in Slack
    target: dict[str, Any]  # what clicking a desktop notification opens


def _integration(db: Database, integration_id: Any) -> e.Integration | None:
    try:
        return integrations.get_integration(db, int(integration_id))
    except (NotFound, TypeError, ValueError):
        return None


def _slack_target(db: Database, config: Mapping[str, Any], firing: Firing) -> Target:
    title = templating.render_text(config.get("title") or "", firing.variables) or firing.default_title
    text = templating.render_text(config.get("message") or config.get("text") or "", firing.variables)
    text = text or firing.default_text
    severity = slack.severity_of(config.get("severity") or config.get("level"))
    integration = _integration(db, config.get("integration_id"))
    footer = f"Runbell automation *{firing.variables.get('automation_name', '')}*"
    return Target(NOTIFICATION, {
        "integration_id": config.get("integration_id"),
        "channel": integration.config.get("channel", "") if integration else "",
        "title": title, "text": text, "severity": severity,
        "message": slack.build_message(title, text, severity, firing.fields, footer=footer),
    })


def _webhook_target(db: Database, config: Mapping[str, Any], firing: Firing) -> Target:
    template = config.get("request_payload") or ""
    if not isinstance(template, str):  # the SDK stores a string; accept a dict from hand-written JSON
        template = json.dumps(template)
    integration = _integration(db, config.get("integration_id"))
    return Target(GENERIC_WEBHOOK, {
        "integration_id": config.get("integration_id"),
        "webhook": integration.name if integration else "",
        "url": integration.config.get("url", "") if integration else "",
        "request_payload": template,
        "variables": templating.to_storable(firing.variables),
        "rendered_payload": webhook.masked_payload(template, firing.variables, integration),
    })


def _desktop_target(config: Mapping[str, Any], firing: Firing) -> Target:
    title = templating.render_text(config.get("title") or "", firing.variables) or firing.default_title
    message = templating.render_text(config.get("message") or "", firing.variables) or firing.default_text
    severity = slack.severity_of(config.get("severity"))
    return Target(DESKTOP_NOTIFICATION, {"title": title, "message": message, "severity": severity,
                                         "target": dict(firing.target)})


def targets(db: Database, automation: e.Automation, firing: Firing) -> list[Target]:
    """The primary action, plus a desktop notification when the config asks for one."""
    config = automation.action_config or {}
    kind = automation.action_type
    try:
        if kind == NOTIFICATION:
            out = [_slack_target(db, config, firing)]
        elif kind == GENERIC_WEBHOOK:
            out = [_webhook_target(db, config, firing)]
        elif kind == DESKTOP_NOTIFICATION:
            out = [_desktop_target(config, firing)]
        elif kind == NO_OP:
            out = [Target(NO_OP, {}, status="finished", reason="no-op: the firing is recorded only")]
        else:
            out = [Target(kind, dict(config), status="failed",
                          reason=f"Runbell cannot run {kind} actions; edit the automation")]
    except StoreError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        out = [Target(kind, {}, status="failed", reason=f"the action is misconfigured: {exc}")]
    if config.get("notify_desktop") and kind != DESKTOP_NOTIFICATION:
        out.append(_desktop_target(config, firing))
    return out
