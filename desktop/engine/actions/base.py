"""What every action sender shares: the result of one attempt and the send context."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from store.db import Database

if TYPE_CHECKING:
    from desktop.engine.actions.desktop_notify import Notifier

DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 30.0


class ConfigError(Exception):
    """The action cannot be sent as configured (missing integration, secret, bad template).

    Retrying would not help, so the execution fails at once with this message as the reason.
    The message never contains a secret value.
    """


@dataclass(frozen=True)
class Outcome:
    """The result of one delivery attempt."""

    ok: bool
    status_code: int | None = None
    response_excerpt: str = ""
    error: str = ""
    latency_ms: float = 0.0
    retryable: bool = False
    retry_after: float | None = None  # seconds the endpoint asked us to wait
    action_update: dict[str, Any] | None = field(default=None)  # e.g. the masked payload sent


@dataclass
class SendContext:
    db: Database
    timeout: float = DEFAULT_TIMEOUT
    notifier: Notifier | None = None

    def __post_init__(self) -> None:
        self.timeout = min(max(float(self.timeout), 0.1), MAX_TIMEOUT)
