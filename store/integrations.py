"""Slack integrations and webhooks (Team Settings). Credentials go to the keyring, never the DB."""
from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc

from store import convert
from store import entities as e
from store import events
from store import models as m
from store import secrets
from store.db import Database
from store.errors import NotFound, ValidationError

WEBHOOK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\- ]{0,63}")  # fullmatch


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_url(url: str, *, what: str = "URL") -> str:
    """An absolute http(s) URL; plain http only to this machine (tests, local relays)."""
    url = (url or "").strip()
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise ValidationError(f"the {what} cannot contain spaces or line breaks (write a space as %20)")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number from 0 to 65535
    except ValueError as exc:
        raise ValidationError(f"the {what} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"the {what} must start with https:// (or http:// to this machine) and name a host")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValidationError(f"the {what} must use https:// (plain http only to localhost)")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(f"the {what} cannot carry a user name or password, since it is stored and shown "
                              "in clear; put the credential in a secret and attach it as the access token")
    return url


def validate_slack_webhook_url(url: str) -> str:
    url = validate_url(url, what="Slack webhook URL")
    parts = urlsplit(url)
    segments = [seg for seg in parts.path.split("/") if seg]
    if _is_loopback(parts.hostname or ""):
        if not segments:
            raise ValidationError("the Slack webhook URL needs a path, e.g. /services/T…/B…/…")
    elif parts.hostname != "hooks.slack.com" or len(segments) != 4 or segments[0] != "services":
        raise ValidationError(
            "a Slack incoming-webhook URL looks like https://hooks.slack.com/services/T…/B…/…"
        )
    return url


def _credential_account(team_id: int, integration_id: int, field: str) -> str:
    return f"team{team_id}/integration{integration_id}/{field}"


def create_slack(
    db: Database, team_id: int, *, workspace: str, channel: str, webhook_url: str
) -> e.Integration:
    """A Slack incoming-webhook integration; the URL (itself a credential) goes to the keyring."""
    webhook_url = validate_slack_webhook_url(webhook_url)
    channel, workspace = channel.strip(), workspace.strip()
    if not channel:
        raise ValidationError("name the Slack channel the webhook posts to, e.g. #ml-alerts")
    if len(channel) > 80:
        raise ValidationError("a Slack channel name has at most 80 characters")
    if len(workspace) > 40:
        raise ValidationError("a Slack workspace name has at most 40 characters")
    name = f"{workspace.strip() or 'slack'} {channel}"
    secrets.keyring_set("pending", "probe")  # fail early (before any row) if there is no keyring
    secrets.keyring_delete("pending")
    try:
        with db.session() as s:
            row = m.Integration(team_id=team_id, kind="slack", name=name,
                                config={"workspace": workspace.strip(), "channel": channel, "mode": "webhook"})
            s.add(row)
            s.flush()
            secrets.keyring_set(_credential_account(team_id, row.id, "webhook_url"), webhook_url)
            events.record(s, events.INTEGRATION_CHANGED, payload={"id": row.id, "change": "created"})
            return convert.integration(row)
    except sa_exc.IntegrityError as exc:
        raise ValidationError(f"a Slack integration for {name} already exists") from exc


SLACK_API_URL = "https://slack.com/api"
SLACK_BOT_TOKEN = re.compile(r"xoxb-[A-Za-z0-9-]+")
SLACK_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def check_bot_token(token: str) -> str:
    token = (token or "").strip()
    if not SLACK_BOT_TOKEN.fullmatch(token):
        raise ValidationError("a Slack bot token starts with xoxb- and has only letters, digits and dashes "
                              "(OAuth & Permissions → Bot User OAuth Token)")
    return token


def create_slack_bot(
    db: Database, team_id: int, *, workspace: str, channel_id: str, bot_token: str,
    channel_name: str = "", api_url: str = SLACK_API_URL,
) -> e.Integration:
    """A Slack integration posting with `chat.postMessage` as a bot (config mode "bot"); the bot
    token goes to the keyring. `api_url` is Slack's Web API base (another only for tests/relays)."""
    channel_id = (channel_id or "").strip()
    if not SLACK_CHANNEL_ID.match(channel_id):
        raise ValidationError("a Slack channel id looks like C0123456789 (channel details → About → Channel ID)")
    bot_token = check_bot_token(bot_token)
    api_url = validate_url(api_url, what="Slack API URL").rstrip("/")
    channel = channel_name.strip() or channel_id
    name = f"{workspace.strip() or 'slack'} {channel}"
    secrets.keyring_set("pending", "probe")  # fail early (before any row) if there is no keyring
    secrets.keyring_delete("pending")
    try:
        with db.session() as s:
            row = m.Integration(team_id=team_id, kind="slack", name=name, config={
                "workspace": workspace.strip(), "channel": channel, "channel_id": channel_id,
                "mode": "bot", "api_url": api_url})
            s.add(row)
            s.flush()
            secrets.keyring_set(_credential_account(team_id, row.id, "bot_token"), bot_token)
            events.record(s, events.INTEGRATION_CHANGED, payload={"id": row.id, "change": "created"})
            return convert.integration(row)
    except sa_exc.IntegrityError as exc:
        raise ValidationError(f"a Slack integration for {name} already exists") from exc


def set_webhook_options(db: Database, integration_id: int, *, standard_webhooks: bool) -> e.Integration:
    """Per-webhook delivery options (today: also send the Standard Webhooks headers)."""
    with db.session() as s:
        row = s.get(m.Integration, integration_id)
        if row is None or row.kind != "webhook":
            raise NotFound(f"no webhook {integration_id}")
        row.config = {**row.config, "standard_webhooks": bool(standard_webhooks)}
        events.record(s, events.INTEGRATION_CHANGED, payload={"id": row.id, "change": "updated"})
        s.flush()
        return convert.integration(row)


def _check_webhook(
    db: Database, team_id: int, name: str, url: str, access_token_secret: str | None, signing_secret: str | None,
) -> str:
    """The rules every webhook obeys; returns the cleaned URL."""
    if not WEBHOOK_NAME.fullmatch(name or ""):
        raise ValidationError("a webhook name has 1–64 letters, digits, spaces, '.', '_' or '-'")
    url = validate_url(url, what="webhook URL")
    known = {s.name for s in secrets.list_secrets(db, team_id)}
    for secret in (access_token_secret, signing_secret):
        if secret and secret not in known:
            raise ValidationError(f"there is no secret named {secret}; create it in Team Settings first")
    return url


def create_webhook(
    db: Database, team_id: int, *, name: str, url: str,
    access_token_secret: str | None = None, signing_secret: str | None = None,
) -> e.Integration:
    url = _check_webhook(db, team_id, name, url, access_token_secret, signing_secret)
    try:
        with db.session() as s:
            row = m.Integration(team_id=team_id, kind="webhook", name=name, config={
                "url": url, "access_token_secret": access_token_secret, "signing_secret": signing_secret,
            })
            s.add(row)
            s.flush()
            events.record(s, events.INTEGRATION_CHANGED, payload={"id": row.id, "change": "created"})
            return convert.integration(row)
    except sa_exc.IntegrityError as exc:
        raise ValidationError(f"a webhook named {name} already exists") from exc


def credential(integration: e.Integration, field: str) -> str:
    """A stored credential of an integration (e.g. the Slack webhook URL), from the keyring."""
    value = secrets.keyring_get(_credential_account(integration.team_id, integration.id, field))
    if value is None:
        raise NotFound(f"the {field} of {integration.kind} integration {integration.name!r} is missing from the OS keyring")
    return value


def delete_integration(db: Database, integration_id: int) -> None:
    with db.session() as s:
        row = s.get(m.Integration, integration_id)
        if row is None:
            raise NotFound(f"no integration {integration_id}")
        team_id, kind = row.team_id, row.kind
        s.delete(row)
        events.record(s, events.INTEGRATION_CHANGED, payload={"id": integration_id, "change": "deleted"})
        _forget_integration(s, team_id, integration_id)
        if kind == "slack":  # inside the transaction: a keyring failure keeps the row
            field = "bot_token" if (row.config or {}).get("mode") == "bot" else "webhook_url"
            secrets.keyring_delete(_credential_account(team_id, integration_id, field))


def _forget_integration(s: sa.orm.Session, team_id: int, integration_id: int) -> None:
    """Unhook a deleted integration from what names it. SQLite may give the next integration the
    same id, and an automation or a queued delivery still naming it would then go there."""
    for auto in s.scalars(sa.select(m.Automation).where(m.Automation.team_id == team_id)):
        config = auto.action_config if isinstance(auto.action_config, dict) else {}
        if config.get("integration_id") == integration_id:
            auto.action_config = {**config, "integration_id": None}
            events.record(s, events.AUTOMATION_CHANGED, project_id=auto.project_id,
                          payload={"id": auto.id, "change": "integration deleted"})
    for queued in s.scalars(sa.select(m.Execution).where(m.Execution.status == "pending")):
        action = queued.action if isinstance(queued.action, dict) else {}
        if action.get("integration_id") == integration_id:
            queued.status, queued.reason = "failed", "its integration was deleted before it could be delivered"
            queued.finished_at, queued.next_attempt_at = m.utcnow(), None
            events.record(s, events.EXECUTION_CHANGED, project_id=queued.project_id, run_id=queued.run_id,
                          payload={"id": queued.id, "status": "failed"})


def get_integration(db: Database, integration_id: int) -> e.Integration:
    with db.session() as s:
        row = s.get(m.Integration, integration_id)
        if row is None:
            raise NotFound(f"no integration {integration_id}")
        return convert.integration(row)


def list_integrations(db: Database, team_id: int, kind: str | None = None) -> list[e.Integration]:
    with db.session() as s:
        q = sa.select(m.Integration).where(m.Integration.team_id == team_id).order_by(m.Integration.name)
        if kind:
            q = q.where(m.Integration.kind == kind)
        return [convert.integration(r) for r in s.scalars(q)]


def describe(integration: e.Integration) -> dict[str, Any]:
    """A display form without credentials."""
    return {"kind": integration.kind, "name": integration.name, **integration.config}


# --- added for Team Settings → Webhooks (edit, users) -------------------------------------------

def update_webhook(
    db: Database, integration_id: int, *, name: str, url: str,
    access_token_secret: str | None = None, signing_secret: str | None = None,
    standard_webhooks: bool | None = None,
) -> e.Integration:
    """Replace a webhook's name, URL and secret references (same rules as `create_webhook`);
    `standard_webhooks` None keeps the current option."""
    team_id = get_integration(db, integration_id).team_id
    url = _check_webhook(db, team_id, name, url, access_token_secret, signing_secret)
    try:
        with db.session() as s:
            row = s.get(m.Integration, integration_id)
            if row is None or row.kind != "webhook":
                raise NotFound(f"no webhook {integration_id}")
            options = {} if standard_webhooks is None else {"standard_webhooks": bool(standard_webhooks)}
            row.name = name
            row.config = {**row.config, "url": url, "access_token_secret": access_token_secret or None,
                          "signing_secret": signing_secret or None, **options}
            events.record(s, events.INTEGRATION_CHANGED, payload={"id": row.id, "change": "updated"})
            s.flush()
            return convert.integration(row)
    except sa_exc.IntegrityError as exc:
        raise ValidationError(f"a webhook named {name} already exists") from exc


def users_of(db: Database, integration_id: int) -> list[str]:
    """Names of the automations whose action uses an integration (shown before deleting it)."""
    with db.session() as s:
        team_id = s.scalar(sa.select(m.Integration.team_id).where(m.Integration.id == integration_id))
        rows = s.scalars(sa.select(m.Automation).where(m.Automation.team_id == team_id).order_by(m.Automation.name))
        return [row.name for row in rows
                if isinstance(row.action_config, dict) and row.action_config.get("integration_id") == integration_id]
