"""A Slack-compatible incoming-webhook endpoint on loopback, validating bodies like Slack does.

Answers (Slack's documented strings): 200 `ok`; 400 `invalid_payload` (not JSON / bad form),
400 `no_text` (neither text nor blocks), 400 `msg_too_long` (text > 40,000), 400
`invalid_blocks` (> 50 blocks, a block without a type, header > 150 or section > 3,000
characters); 404 `no_service` (unknown hook path); 405 for anything but POST.

`/api/chat.postMessage` answers like Slack's Web API: HTTP 200 with `{"ok": true, "channel",
"ts"}` or `{"ok": false, "error": ...}` for `not_authed` / `invalid_auth` (Bearer token),
`channel_not_found`, `not_in_channel` (a channel the bot was not invited to), `no_text`,
`msg_too_long`, `invalid_blocks`; rate limits are scripted with `queue(429, ..., {"Retry-After"})`.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from tests.support.http_fake import Received, RecordingServer

MAX_TEXT = 40_000
MAX_BLOCKS = 50


@dataclass(frozen=True)
class SlackMessage:
    path: str
    payload: dict[str, Any]
    arrived_at: float
    headers: dict[str, str]

    @property
    def text(self) -> str:
        return self.payload.get("text", "")

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return self.payload.get("blocks") or []

    def block_texts(self) -> list[str]:
        """Every text in the blocks (headers, sections, fields, context), in order."""
        out = []
        for block in self.blocks:
            if isinstance(block.get("text"), dict):
                out.append(block["text"].get("text", ""))
            for item in block.get("fields") or []:
                out.append(item.get("text", ""))
            for item in block.get("elements") or []:
                out.append(item.get("text", ""))
        return out


def _parse(headers: dict[str, str], body: bytes) -> dict[str, Any] | None:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    try:
        text = body.decode("utf-8")
        if "application/x-www-form-urlencoded" in content_type:
            text = parse_qs(text).get("payload", [""])[0]
        payload = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _blocks_error(blocks: Any) -> bool:
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return True
    for block in blocks:
        if not isinstance(block, dict) or not block.get("type"):
            return True
        text = block.get("text")
        if isinstance(text, dict):
            limit = 150 if block["type"] == "header" else 3000
            if len(text.get("text", "")) > limit:
                return True
        if len(block.get("fields") or []) > 10:
            return True
    return False


POST_MESSAGE = "/api/chat.postMessage"


def _bearer(headers: dict[str, str]) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    return value[len("Bearer "):] if value.startswith("Bearer ") else None


class FakeSlack(RecordingServer):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[SlackMessage] = []
        self.hook_paths: set[str] = set()
        self.webhook_url = self.add_hook()
        self.bot_token = "xoxb-" + secrets.token_hex(12)
        self.channels = {"C0ALERTS01"}  # the bot is a member
        self.outside_channels = {"C0PRIVATE9"}  # exist, but the bot was not invited
        self._ts = 0

    @property
    def api_url(self) -> str:
        """Base of the Web API (what `create_slack_bot(api_url=...)` takes)."""
        return self.base_url + "/api"

    def _post_message(self, headers: dict[str, str], body: bytes) -> tuple[int, str, dict[str, str]]:
        token = _bearer(headers)
        payload = _parse(headers, body)

        def error(code: str) -> tuple[int, str, dict[str, str]]:
            return 200, json.dumps({"ok": False, "error": code}), {}

        if token is None:
            return error("not_authed")
        if token != self.bot_token:
            return error("invalid_auth")
        if payload is None:
            return error("invalid_json")
        channel = payload.get("channel")
        if channel in self.outside_channels:
            return error("not_in_channel")
        if channel not in self.channels:
            return error("channel_not_found")
        if not payload.get("text") and not payload.get("blocks") and not payload.get("attachments"):
            return error("no_text")
        if len(payload.get("text") or "") > MAX_TEXT:
            return error("msg_too_long")
        if "blocks" in payload and _blocks_error(payload["blocks"]):
            return error("invalid_blocks")
        self._ts += 1
        return 200, json.dumps({"ok": True, "channel": channel, "ts": f"1700000000.{self._ts:06d}"}), {}

    def add_hook(self) -> str:
        """A new valid incoming-webhook URL (looks like Slack's: /services/T…/B…/secret)."""
        path = f"/services/T{secrets.token_hex(4).upper()}/B{secrets.token_hex(4).upper()}/{secrets.token_urlsafe(18)}"
        self.hook_paths.add(path)
        return self.base_url + path

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, dict[str, str]]:
        if path == POST_MESSAGE and method == "POST":
            return self._post_message(headers, body)
        if path not in self.hook_paths:
            return 404, "no_service", {}
        if method != "POST":
            return 405, "invalid_method", {}
        payload = _parse(headers, body)
        if payload is None:
            return 400, "invalid_payload", {}
        if not payload.get("text") and not payload.get("blocks") and not payload.get("attachments"):
            return 400, "no_text", {}
        if len(payload.get("text") or "") > MAX_TEXT:
            return 400, "msg_too_long", {}
        if "blocks" in payload and _blocks_error(payload["blocks"]):
            return 400, "invalid_blocks", {}
        return 200, "ok", {}

    def _on_received(self, received: Received) -> None:
        accepted = received.path in self.hook_paths or (
            received.path == POST_MESSAGE and received.answer.startswith('{"ok": true'))
        if received.status == 200 and accepted:
            payload = _parse(received.headers, received.body)
            if payload is not None:
                self.messages.append(SlackMessage(received.path, payload, received.arrived_at, received.headers))

    def wait_for_messages(self, n: int, timeout: float = 10.0) -> list[SlackMessage]:
        """Block until at least `n` messages were accepted (AssertionError after `timeout`)."""
        return self._wait(lambda: self.messages, n, timeout, "Slack messages")  # type: ignore[return-value]
