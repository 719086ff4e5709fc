"""Pytest fixtures shared by the engine delivery tests (import them into a test module)."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from desktop.engine import Engine
from tests.support.engine_setup import RecordingNotifier, World
from tests.support.fake_slack import FakeSlack
from tests.support.fake_webhook import FakeWebhook
from tests.support.waiting import wait_until


@pytest.fixture
def world(db) -> World:
    return World(db)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake_hook() -> Iterator[FakeWebhook]:
    with FakeWebhook() as fake:
        yield fake


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def make_engine(db, notifier) -> Iterator[Callable[..., Engine]]:
    started: list[Engine] = []

    def make(**kwargs) -> Engine:
        kwargs.setdefault("poll_seconds", 0.05)
        kwargs.setdefault("notifier", notifier)
        engine = Engine(db, **kwargs)
        engine.start()
        started.append(engine)
        return engine

    yield make
    for engine in started:
        engine.stop(timeout=5)


def settled(world: World, automation=None, n: int = 1, status: str | None = None, timeout: float = 20):
    """Wait until `n` executions exist and none is pending; returns them oldest first."""
    def check():
        found = world.executions(automation)
        return found if len(found) >= n and all(x.status != "pending" for x in found) else None

    found = wait_until(check, timeout=timeout, message="executions did not settle")
    if status:
        assert [x.status for x in found] == [status] * len(found), [(x.status, x.reason) for x in found]
    return found
