"""Logging set-up: stderr plus a rotating file in the user log folder, and where that file is."""
from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from store.db import log_dir  # noqa: F401  (re-exported: the app's log folder)

log = logging.getLogger("runbell.logs")

LOG_NAME = "runbell.log"
_log_file: Path | None = None


def log_file() -> Path | None:
    """The file this process logs to, or None when it has none (not set up, or not writable)."""
    return _log_file


def setup_logging(verbose: bool = False) -> None:
    """Log to stderr and to runbell.log in the log folder (2 MB, 3 rotations); idempotent."""
    global _log_file
    root = logging.getLogger()
    if root.handlers:
        return
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    stderr = logging.StreamHandler()
    stderr.setFormatter(fmt)
    root.addHandler(stderr)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        path = log_dir() / LOG_NAME
        file = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError as exc:
        log.warning("no log file: %s", exc)
    else:
        file.setFormatter(fmt)
        root.addHandler(file)
        _log_file = path
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job run otherwise
