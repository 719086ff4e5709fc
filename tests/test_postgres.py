"""The team scale path (SPEC §8) on a real PostgreSQL server: migrations, the store, an event
log that never skips a late commit, and two engines on one database delivering each firing once.

The server is private to the test session (tests/support/postgres_server.py). Without one these
tests skip, except in CI (RUNBELL_REQUIRE_POSTGRES=1), where they fail.
"""
from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterator

import numpy as np
import pytest
import sqlalchemy as sa

from store import automations, events, integrations, metrics, runs, teams
from store.db import Database
from store.errors import ValidationError
from tests.support.engine_fixtures import fake_hook, make_engine, notifier, settled, world  # noqa: F401
from tests.support.memory_keyring import memory_keyring  # noqa: F401  (fixture)
from tests.support.postgres_server import PostgresServer, PostgresUnavailable, postgres_required

_names = itertools.count()


@pytest.fixture(scope="module")
def pg_server() -> Iterator[tuple[PostgresServer, str]]:
    server = PostgresServer()
    try:
        url = server.start()
    except PostgresUnavailable as exc:
        server.stop()
        if postgres_required():
            pytest.fail(f"PostgreSQL is required here: {exc}")
        pytest.skip(f"no PostgreSQL server: {exc}")
    yield server, url
    server.stop()


@pytest.fixture
def db(pg_server) -> Iterator[Database]:
    """A fresh database on the private server for each test (overrides the SQLite one)."""
    _server, url = pg_server
    name = f"t{next(_names)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    database = Database(url.replace("/runbell?", f"/{name}?"))
    yield database
    database.dispose()


def test_migrations_and_the_store_work_on_postgres(db):
    assert db.engine.dialect.name == "postgresql"
    team, _ = teams.ensure_default_team(db, "alice")
    project = teams.get_or_create_project(db, team.id, "digits")
    run = runs.create_run(db, project.id, name="r")
    runs.append_points(db, run.id, [("loss", 0, math.nan, 1.0), ("loss", 1, math.inf, 2.0), ("loss", 2, 0.5, 3.0)])
    for start in range(3, 400, 4):  # many small flushes: merged like on SQLite
        runs.append_points(db, run.id, [("loss", st, st / 100, 4.0 + st) for st in range(start, start + 4)])
    steps, values, _walls = runs.metric_series(db, run.id, "loss")
    np.testing.assert_array_equal(steps, np.arange(403))
    assert math.isnan(values[0]) and values[1] == math.inf and values[300] == 3.0
    with db.engine.connect() as conn:
        chunks = conn.execute(sa.text("SELECT count(*) FROM metric_chunks")).scalar()
    assert chunks <= metrics.MERGE_AFTER + 1
    kwargs = dict(team_id=team.id, project_id=project.id, event_type="RUN_METRIC", event_filter={},
                  action_type="NO_OP", action_config={})
    automations.create_automation(db, name="loss alert", **kwargs)
    with pytest.raises(ValidationError, match="already exists"):
        automations.create_automation(db, name="loss alert", **kwargs)


def test_the_tracking_client_on_postgres_takes_infinite_config_values(db):
    from store import tracking as rb

    run = rb.init(project="p", db_url=db.url, config={"max_grad_norm": float("inf"), "lr": [1e-3, float("nan")]})
    run.log({"loss": 1.0}, step=0)
    run.finish()
    stored = runs.get_run(db, run.id)
    assert stored.config == {"max_grad_norm": "Infinity", "lr": [1e-3, "NaN"]}
    assert runs.metric_series(db, run.id, "loss")[0].tolist() == [0] and stored.state == "finished"


def test_an_event_committed_after_a_newer_one_is_still_read(db):
    """Transaction A takes an event id, B takes the next one and commits first. Reading by id
    would move past A for good; the event log hands out A, then B, once A commits."""
    team, _ = teams.ensure_default_team(db, "alice")
    project = teams.get_or_create_project(db, team.id, "digits")
    start = events.head_position(db)
    with db.session() as slow:
        events.record(slow, events.METRICS, project_id=project.id, run_id="slow", payload={"n": 1})
        slow.flush()  # A has its id and transaction now, and stays open
        with db.session() as fast:
            events.record(fast, events.METRICS, project_id=project.id, run_id="fast", payload={"n": 2})
        committed = events.events_after(db, 0, types=(events.METRICS,))
        assert [ev.run_id for ev in committed] == ["fast"]  # what an id cursor would see: A is behind it
        early = events.read_page(db, start, types=(events.METRICS,))
        assert early.events == []  # B waits for A
    page = events.read_page(db, early.next_position, types=(events.METRICS,))
    assert [ev.run_id for ev in page.events] == ["slow", "fast"]
    first, second = page.resume  # two transactions: a consumer may stop after either
    assert first is not None and second is not None and first < second <= page.next_position
    assert events.read_page(db, page.next_position, types=(events.METRICS,)).events == []


def test_a_page_never_splits_a_transactions_events(db):
    start = events.head_position(db)
    with db.session() as s:
        for i in range(5):
            events.record(s, events.METRICS, run_id=f"r{i}")
    with db.session() as s:
        events.record(s, events.METRICS, run_id="later")
    page = events.read_page(db, start, limit=3, types=(events.METRICS,))
    assert [ev.run_id for ev in page.events] == [f"r{i}" for i in range(5)]  # all of the transaction
    assert page.resume[:4] == [None] * 4 and page.resume[4] == page.next_position
    rest = events.read_page(db, page.next_position, limit=3, types=(events.METRICS,))
    assert [ev.run_id for ev in rest.events] == ["later"]


@pytest.mark.usefixtures("memory_keyring")
def test_two_engines_on_one_database_deliver_each_firing_once(db, world, fake_hook, make_engine):  # noqa: F811
    hook = integrations.create_webhook(db, world.team.id, name="ci", url=fake_hook.url)
    auto = world.automation(agg=None, threshold=0.5, action_type="GENERIC_WEBHOOK", cooldown_seconds=0,
                            action_config={"integration_id": hook.id, "request_payload": '{"run": "${run_name}"}'})
    make_engine()
    make_engine()
    made = [world.run(name=f"run-{i}") for i in range(24)]

    def log(group: list) -> None:  # several training processes writing at once
        for run in group:
            runs.append_points(db, run.id, [("val/acc", 0, 0.9, 1.0)])

    writers = [threading.Thread(target=log, args=(made[i::4],)) for i in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    done = settled(world, auto, n=24, status="finished", timeout=60)
    received = fake_hook.wait_for_requests(24)
    assert len(done) == 24 and sorted(x.run_id for x in done) == sorted(r.id for r in made)
    ids = [fake_hook.header(r, "X-Runbell-Delivery") for r in received]
    assert sorted(ids) == sorted(x.delivery_id for x in done)  # each firing delivered exactly once
    assert len(fake_hook.requests) == 24
