"""Slack messages: build a Block Kit message within Slack's limits and send it through an
incoming webhook (config mode "webhook") or `chat.postMessage` with a bot token (mode "bot").

Limits kept (Slack docs): message `text` ≤ 40,000 chars, ≤ 50 blocks, header text ≤ 150,
section text ≤ 3,000, ≤ 10 section fields of ≤ 2,000 each.

The Web API answers HTTP 200 with `{"ok": false, "error": "..."}` for most refusals
(invalid_auth, channel_not_found, not_in_channel, msg_too_long, no_text, ...): those fail at
once with Slack's error code; only Slack's own transient errors are retried, and HTTP 429 with
its Retry-After like any endpoint.
"""
from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from typing import Any

from store import integrations
from store.entities import Execution
from store.errors import NotFound, SecretBackendUnavailable

from desktop.engine.actions import http
from desktop.engine.actions.base import ConfigError, Outcome, SendContext

MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION = 3_000
MAX_FIELDS = 10
MAX_FIELD = 2_000
SEVERITY_EMOJI = {"INFO": ":information_source:", "WARN": ":warning:", "ERROR": ":rotating_light:"}
SEVERITIES = tuple(SEVERITY_EMOJI)
POST_MESSAGE = "chat.postMessage"
TRANSIENT_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
ERROR_HINTS = {
    "invalid_auth": "the bot token is not valid; paste it again in Team Settings → Slack",
    "not_authed": "no bot token was sent",
    "token_revoked": "the bot token was revoked; install the app again and paste the new token",
    "account_inactive": "the bot token belongs to a deactivated app or user",
    "channel_not_found": "the channel id is wrong, or the bot cannot see that channel",
    "not_in_channel": "invite the bot to the channel (/invite @your-bot) and try again",
    "is_archived": "the channel is archived",
    "msg_too_long": "the message text is longer than Slack accepts",
    "no_text": "the message has no text",
    "missing_scope": "the bot token lacks the chat:write scope",
}
_OK = re.compile(r'"ok"\s*:\s*(true|false)')
_ERROR = re.compile(r'"error"\s*:\s*"([^"]*)"')


def escape(text: str) -> str:
    """Slack mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:  # never leave half an &amp; entity
        cut = cut[:amp]
    return cut + "…"


def _escaped_chunks(text: str, size: int) -> list[str]:
    """Split raw text into escaped pieces of at most `size` characters (entities stay whole)."""
    chunks, current, length = [], [], 0
    for ch in text:
        piece = escape(ch)
        if length + len(piece) > size:
            chunks.append("".join(current))
            current, length = [], 0
        current.append(piece)
        length += len(piece)
    chunks.append("".join(current))
    return chunks


def severity_of(value: str | None) -> str:
    value = (value or "INFO").upper()
    return value if value in SEVERITY_EMOJI else "INFO"


def build_message(
    title: str, text: str, severity: str = "INFO", fields: Sequence[tuple[str, str]] = (),
    footer: str = "",
) -> dict[str, Any]:
    """`{"text": fallback, "blocks": [...]}` for an incoming webhook."""
    severity = severity_of(severity)
    emoji = SEVERITY_EMOJI[severity]
    title = (title or "Runbell alert").strip()
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(f"{emoji} {title}", MAX_HEADER), "emoji": True}}
    ]
    tail_blocks: list[dict[str, Any]] = []
    if fields:
        tail_blocks.append({"type": "section", "fields": [
            {"type": "mrkdwn", "text": _cut(f"*{escape(label)}*\n{escape(value)}", MAX_FIELD)}
            for label, value in list(fields)[:MAX_FIELDS]
        ]})
    if footer:
        tail_blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(escape(footer), MAX_SECTION)}]})
    if text.strip():
        room = MAX_BLOCKS - len(blocks) - len(tail_blocks)
        pieces = _escaped_chunks(text, MAX_SECTION - 1)
        if len(pieces) > room:
            pieces = pieces[:room]
            pieces[-1] = _cut(pieces[-1] + "…", MAX_SECTION)
        blocks.extend({"type": "section", "text": {"type": "mrkdwn", "text": p}} for p in pieces)
    blocks.extend(tail_blocks)
    summary = "; ".join(f"{label}: {value}" for label, value in fields)
    fallback = f"[{severity}] {title}" + (f": {text}" if text.strip() else "") + (f" ({summary})" if summary else "")
    return {"text": _cut(escape(fallback), MAX_TEXT), "blocks": blocks[:MAX_BLOCKS]}


def send(ctx: SendContext, execution: Execution) -> Outcome:
    action = execution.action
    message = action.get("message") or build_message(action.get("title", ""), action.get("text", ""),
                                                     action.get("severity", "INFO"))
    integration_id = action.get("integration_id")
    if integration_id is None:
        raise ConfigError("the automation names no Slack integration; edit it and pick a channel")
    try:
        integration = integrations.get_integration(ctx.db, int(integration_id))
    except NotFound:
        raise ConfigError(f"the Slack integration (id {integration_id}) no longer exists; "
                          "edit the automation and pick a channel") from None
    if integration.kind != "slack":
        raise ConfigError(f"integration {integration.name!r} is not a Slack integration")
    mode = integration.config.get("mode")
    field, what = ("bot_token", "bot token") if mode == "bot" else ("webhook_url", "webhook URL")
    try:
        credential = integrations.credential(integration, field)
    except NotFound:
        raise ConfigError(f"the {what} of Slack integration {integration.name!r} is missing from "
                          "the OS keyring; re-enter it in Team Settings → Slack") from None
    except SecretBackendUnavailable as exc:
        return Outcome(ok=False, retryable=True, error=f"cannot read the Slack {what}: {exc}")
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Runbell-Delivery": execution.delivery_id}
    if mode == "bot":
        return _post_as_bot(ctx, integration, credential, message, headers)
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    return http.post(credential, body, headers, timeout=ctx.timeout, secrets=http.url_secrets(credential))


def _post_as_bot(ctx: SendContext, integration: Any, token: str, message: dict[str, Any],
                 headers: dict[str, str]) -> Outcome:
    url = f"{integration.config.get('api_url') or integrations.SLACK_API_URL}/{POST_MESSAGE}"
    body = json.dumps({"channel": integration.config.get("channel_id") or "", **message},
                      ensure_ascii=False).encode("utf-8")
    outcome = http.post(url, body, {**headers, "Authorization": f"Bearer {token}"}, timeout=ctx.timeout,
                        secrets=[token])
    return web_api_outcome(outcome)


def web_api_outcome(outcome: Outcome) -> Outcome:
    """Slack's Web API says HTTP 200 even when it refuses: read `ok` and `error` from the body."""
    if outcome.status_code != 200:
        return outcome
    ok = _OK.search(outcome.response_excerpt)
    if ok and ok.group(1) == "true":
        return outcome
    found = _ERROR.search(outcome.response_excerpt)
    code = found.group(1) if found else "unknown_error"
    hint = ERROR_HINTS.get(code)
    return dataclasses.replace(outcome, ok=False, retryable=code in TRANSIENT_ERRORS,
                               error=f"Slack refused the message: {code}" + (f" ({hint})" if hint else ""))
