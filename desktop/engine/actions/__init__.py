"""Action senders: one attempt of one execution → an Outcome (or ConfigError)."""
from __future__ import annotations

from collections.abc import Callable

from store.entities import Execution

from desktop.engine.actions import desktop_notify, slack, webhook
from desktop.engine.actions.base import ConfigError, Outcome, SendContext

NOTIFICATION = "NOTIFICATION"
GENERIC_WEBHOOK = "GENERIC_WEBHOOK"
DESKTOP_NOTIFICATION = "DESKTOP_NOTIFICATION"
NO_OP = "NO_OP"
ACTION_TYPES = (NOTIFICATION, GENERIC_WEBHOOK, DESKTOP_NOTIFICATION, NO_OP)


def _no_op(ctx: SendContext, execution: Execution) -> Outcome:
    return Outcome(ok=True, response_excerpt="no-op: recorded only")


SENDERS: dict[str, Callable[[SendContext, Execution], Outcome]] = {
    NOTIFICATION: slack.send,
    GENERIC_WEBHOOK: webhook.send,
    DESKTOP_NOTIFICATION: desktop_notify.send,
    NO_OP: _no_op,
}


def send(ctx: SendContext, execution: Execution) -> Outcome:
    """One attempt; ConfigError when the action cannot be sent as configured."""
    sender = SENDERS.get(execution.action_type)
    if sender is None:
        raise ConfigError(f"Runbell cannot send {execution.action_type} actions")
    return sender(ctx, execution)


__all__ = ["ACTION_TYPES", "ConfigError", "Outcome", "SendContext", "send"]
