"""Runs tests/e2e/ in a child pytest inside a private desktop session.

Qt's platform is fixed when the QApplication starts, and the rest of the suite runs offscreen,
so the end-to-end tests get their own process with DISPLAY, D-Bus, keyring and notification
daemon of a real (virtual) desktop. The child's output is shown when it fails.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.desktop_session import DesktopSession, DesktopUnavailable, desktop_required

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def desktop():
    try:
        session = DesktopSession().start()
    except DesktopUnavailable as exc:
        if desktop_required():
            pytest.fail(f"desktop services required (RUNBELL_REQUIRE_DESKTOP=1): {exc.reason}")
        pytest.skip(exc.reason)
    try:
        yield session
    finally:
        session.close()


@pytest.mark.e2e
@pytest.mark.timeout(900)
def test_end_to_end_suite_under_xvfb(desktop, tmp_path):
    env = dict(desktop.subprocess_env(), RUNBELL_E2E="1", QT_QPA_PLATFORM="xcb",
               RUNBELL_E2E_RECORDER="1", RUNBELL_HOME=str(tmp_path / "home"))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/e2e", "-q", "-p", "no:cacheprovider", "-x",
         "--timeout", "600"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=880,
    )
    print(proc.stdout[-6000:])
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout
