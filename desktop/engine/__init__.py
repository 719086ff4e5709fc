"""The automation engine: event evaluation, conditions, templating, dispatch. Never imports Qt.

`Engine` and friends load on first use: the workspace and wizards import the engine's small
rule modules, and should not pay for HTTP, keyring and the scheduler to get them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from desktop.engine.service import Engine, resend, run_headless, send_test

__all__ = ["Engine", "resend", "run_headless", "send_test"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from desktop.engine import service

        return getattr(service, name)
    raise AttributeError(f"module 'desktop.engine' has no attribute {name!r}")
