"""Secret values never reach a log line, a stored payload or an error text in clear.

Senders `register` every secret value they read from the keyring (tokens, signing secrets,
Slack webhook URLs and their path segments); `redact` replaces known values with the mask, and
`install` makes every record of a "runbell" logger masked (message, arguments, traceback) the
moment it is created, so no handler — file, stderr, a test's capture — ever sees the value.
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable

from desktop.engine.templating import SECRET_MASK

MIN_LENGTH = 3  # shorter values would mask ordinary words
_lock = threading.Lock()
_known: frozenset[str] = frozenset()


def register(values: Iterable[str | None]) -> None:
    """Remember secret values so later log lines and errors mask them too."""
    global _known
    fresh = {v for v in values if v and len(v) >= MIN_LENGTH} - _known
    if fresh:
        with _lock:
            _known = _known | fresh


def known() -> frozenset[str]:
    return _known


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Mask every occurrence of each given and each registered secret (longest first, so the
    parts of a credential URL go too)."""
    values = {s for s in secrets if s} | _known
    # also as error texts quote them: repr() and JSON escape line breaks, quotes and non-ASCII
    values |= {form for v in values for form in (repr(v)[1:-1], json.dumps(v)[1:-1]) if len(form) >= MIN_LENGTH}
    for secret in sorted(values, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, SECRET_MASK)
    return text


class SecretFilter(logging.Filter):
    """Masks registered secrets in a record's message and traceback before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _known:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


FILTER = SecretFilter()
_installed = False


def install(handlers: Iterable[logging.Handler] = ()) -> None:
    """Mask every "runbell" record at creation (a record factory: it covers loggers created
    later too, which logger filters would not), and filter the given handlers as well."""
    global _installed
    with _lock:
        if not _installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: object, **kwargs: object) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                if record.name == "runbell" or record.name.startswith("runbell."):
                    FILTER.filter(record)
                return record

            logging.setLogRecordFactory(factory)
            _installed = True
    for handler in handlers:
        if FILTER not in handler.filters:
            handler.addFilter(FILTER)
