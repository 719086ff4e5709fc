"""Test configuration: offscreen Qt, and a private data folder, settings and database per test."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
ARTIFACTS = ROOT / "test-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if {"qtbot", "qapp"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.gui)


@pytest.fixture(scope="session", autouse=True)
def _ui_thread_gc(qapp):
    """As in the app (desktop/gui_gc.py): Python's cyclic collection on the UI thread only. Left
    automatic, a store call on a worker thread collected a dead page's QMenu and deadlocked
    the test run against the UI thread."""
    from desktop.gui_gc import UiThreadCollector

    collector = UiThreadCollector()
    yield collector
    collector.uninstall()


@pytest.fixture(autouse=True)
def _gc_between_tests(_ui_thread_gc):
    """Tests that never run the event loop still get their garbage collected, on this thread."""
    yield
    _ui_thread_gc.check()


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own data folder and settings; nothing touches the user's real ones."""
    home = tmp_path / "runbell-home"
    home.mkdir()
    monkeypatch.setenv("RUNBELL_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("RUNBELL_DB", raising=False)
    monkeypatch.delenv("RUNBELL_ARTIFACTS", raising=False)
    return home


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runbell-test.db'}"


@pytest.fixture
def db(db_url: str):
    from store.db import Database

    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def require_desktop() -> bool:
    """CI sets RUNBELL_REQUIRE_DESKTOP=1: missing desktop services then fail instead of skip."""
    return os.environ.get("RUNBELL_REQUIRE_DESKTOP") == "1"
