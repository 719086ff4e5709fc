"""Generic webhooks (reference §3.2): POST the rendered JSON payload, Bearer token, HMAC signature.

Secrets are resolved only here, at send time: the execution row keeps the template, the
event variables and a rendering with every secret masked (case C6). Only the webhook's own
secrets (its access token and its signing secret) resolve in the payload.

With `standard_webhooks: true` in the webhook's config the request also carries the Standard
Webhooks headers (standardwebhooks.com): `webhook-id` (the delivery id, the same on every
retry), `webhook-timestamp` (Unix seconds of this attempt) and, with a signing secret,
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. A secret written as
`whsec_<base64>` is used as the spec says (the decoded bytes are the key); any other secret
is used as its UTF-8 bytes, like X-Wandb-Signature.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
from typing import Any

from store import integrations, secrets
from store.entities import Execution, Integration
from store.errors import NotFound, SecretBackendUnavailable

from desktop.engine import masking, templating
from desktop.engine.actions import http
from desktop.engine.actions.base import ConfigError, Outcome, SendContext

SIGNATURE_HEADER = "X-Wandb-Signature"
DELIVERY_HEADER = "X-Runbell-Delivery"
STANDARD_FLAG = "standard_webhooks"


def sign(secret: str, body: bytes) -> str:
    """W&B-compatible signature: base64(HMAC-SHA256(secret, raw body))."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _standard_key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_"):], validate=True)
        except ValueError:
            pass  # not base64 after all: use the text as it is
    return secret.encode("utf-8")


def standard_signature(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks `webhook-signature`: `v1,` + base64(HMAC-SHA256(key, "id.timestamp.body"))."""
    signed = f"{delivery_id}.{timestamp}.".encode("utf-8") + body
    digest = hmac.new(_standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def standard_headers(delivery_id: str, body: bytes, secret: str | None, now: float | None = None) -> dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    headers = {"webhook-id": delivery_id, "webhook-timestamp": str(timestamp)}
    if secret:
        headers["webhook-signature"] = standard_signature(secret, delivery_id, timestamp, body)
    return headers


def secret_names(integration: Integration) -> list[str]:
    """Template variables that hold secrets for this webhook (`ACCESS_TOKEN` and its secrets)."""
    names = [templating.ACCESS_TOKEN]
    for key in ("access_token_secret", "signing_secret"):
        if integration.config.get(key):
            names.append(integration.config[key])
    return names


def _secret(integration: Integration, key: str, role: str) -> str | None:
    name = integration.config.get(key)
    if not name:
        return None
    try:
        return secrets.secret_value(integration.team_id, name)
    except NotFound:
        raise ConfigError(f"the {role} secret {name} of webhook {integration.name!r} is not in the OS "
                          "keyring; set it again in Team Settings → Secrets") from None


def masked_payload(template: str, variables: dict[str, Any], integration: Integration | None) -> str:
    """The payload as history shows it: secret variables masked."""
    names = secret_names(integration) if integration else [templating.ACCESS_TOKEN]
    return templating.render_json(template, {**variables, **templating.masked(names)})


def render_body(template: str, variables: dict[str, Any], secret_values: dict[str, str]) -> str:
    if not (template or "").strip():
        return "{}"
    body = templating.render_json(template, {**variables, **secret_values})
    try:
        templating.loads_strict(body)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"the payload template does not render to valid JSON ({exc.msg} at "
                          f"line {exc.lineno}, column {exc.colno}); fix it in the automation") from None
    return body


def send(ctx: SendContext, execution: Execution) -> Outcome:
    action = execution.action
    integration_id = action.get("integration_id")
    if integration_id is None:
        raise ConfigError("the automation names no webhook; edit it and pick one")
    try:
        integration = integrations.get_integration(ctx.db, int(integration_id))
    except NotFound:
        raise ConfigError(f"the webhook (id {integration_id}) no longer exists; edit the automation") from None
    if integration.kind != "webhook":
        raise ConfigError(f"integration {integration.name!r} is not a webhook")
    try:
        token = _secret(integration, "access_token_secret", "access-token")
        signing = _secret(integration, "signing_secret", "signing")
    except SecretBackendUnavailable as exc:
        return Outcome(ok=False, retryable=True, error=f"cannot read the webhook's secrets: {exc}")
    values: dict[str, str] = {}
    if token is not None:
        values[templating.ACCESS_TOKEN] = token
        values[integration.config["access_token_secret"]] = token
    if signing is not None:
        values[integration.config["signing_secret"]] = signing
    template = action.get("request_payload") or ""
    variables = templating.from_storable(action.get("variables") or {})
    hidden = [v for v in (token, signing) if v]
    masking.register(hidden)
    body = render_body(template, variables, values).encode("utf-8")
    headers = {"Content-Type": "application/json", DELIVERY_HEADER: execution.delivery_id}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if signing:
        headers[SIGNATURE_HEADER] = sign(signing, body)
    if integration.config.get(STANDARD_FLAG):
        headers.update(standard_headers(execution.delivery_id, body, signing))
    outcome = http.post(integration.config["url"], body, headers, timeout=ctx.timeout, secrets=hidden)
    shown = http.redact(masked_payload(template, variables, integration), hidden)
    update = {**action, "url": integration.config["url"], "webhook": integration.name, "rendered_payload": shown}
    return dataclasses.replace(outcome, action_update=update)
