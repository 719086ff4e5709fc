"""The automation engine: event evaluation, conditions, templating, dispatch. Never imports Qt."""
from __future__ import annotations

from desktop.engine.service import Engine, resend, run_headless, send_test

__all__ = ["Engine", "resend", "run_headless", "send_test"]
