"""A generic webhook receiver on loopback: records the raw body and headers of every request."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from tests.support.http_fake import Received, RecordingServer


class FakeWebhook(RecordingServer):
    """Answers 200 `{"ok": true}` unless scripted with `queue(...)`; `url` is its endpoint."""

    path = "/hook"

    @property
    def url(self) -> str:
        return self.base_url + self.path

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, dict[str, str]]:
        if path != self.path:
            return 404, "not found", {}
        return 200, '{"ok": true}', {}

    @staticmethod
    def header(received: Received, name: str) -> str | None:
        return next((v for k, v in received.headers.items() if k.lower() == name.lower()), None)

    @staticmethod
    def json(received: Received) -> Any:
        return json.loads(received.body.decode("utf-8"))

    @staticmethod
    def expected_signature(secret: str, received: Received) -> str:
        """What a receiver computes: base64(HMAC-SHA256(secret, raw body))."""
        return base64.b64encode(hmac.new(secret.encode(), received.body, hashlib.sha256).digest()).decode()
