"""End-to-end tests run only inside the private desktop session that tests/test_e2e.py starts
(real Xvfb + xcb, D-Bus, gnome-keyring, dunst); a plain `pytest` run collects nothing here."""
from __future__ import annotations

import os
from pathlib import Path


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    if os.environ.get("RUNBELL_E2E") != "1" and collection_path.suffix == ".py":
        return True
    return None


if os.environ.get("RUNBELL_E2E") == "1":  # Qt must not start outside the private desktop
    from tests.e2e.app_fixtures import app_window, recorder, slack  # noqa: F401,E402 (fixtures)
