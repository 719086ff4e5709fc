"""Store: migrations, NaN round trip, the newer-database refusal, automation and secret rules."""
from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from store import automations, events, executions, runs, teams
from store.db import Database
from store.errors import DatabaseTooNew, ValidationError
from store.migrate import alembic_config


@pytest.fixture
def project(db):
    team, _ = teams.ensure_default_team(db, "alice")
    return teams.get_or_create_project(db, team.id, "digits")


def test_fresh_database_is_migrated_to_head_in_wal_mode(db, db_url):
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        head = ScriptDirectory.from_config(alembic_config(db)).get_current_head()
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head
    # opening again is a no-op
    Database(db_url).dispose()


def test_database_from_a_newer_runbell_is_refused_and_left_untouched(db_url, tmp_path):
    Database(db_url).dispose()
    path = db_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    conn.close()
    before = Path(path).read_bytes()
    with pytest.raises(DatabaseTooNew, match="newer Runbell"):
        Database(db_url)
    assert Path(path).read_bytes() == before


def test_first_user_is_admin_and_later_users_are_members(db):
    team, alice = teams.ensure_default_team(db, "alice")
    _, bob = teams.ensure_default_team(db, "bob")
    assert (alice.role, bob.role) == ("admin", "member")
    assert [u.username for u in teams.list_users(db, team.id)] == ["alice", "bob"]


def test_nan_and_infinities_are_stored_and_read_back(db, project):
    run = runs.create_run(db, project.id, name="r")
    runs.append_points(db, run.id, [("loss", 0, math.nan, 1.0), ("loss", 1, math.inf, 2.0), ("loss", 2, -math.inf, 3.0)])
    steps, values, walls = runs.metric_series(db, run.id, "loss")
    assert steps.tolist() == [0, 1, 2]
    assert math.isnan(values[0]) and values[1] == math.inf and values[2] == -math.inf
    assert math.isinf(runs.get_run(db, run.id).summary["loss"])


def test_metric_series_returns_exactly_the_requested_range_and_tail(db, project):
    run = runs.create_run(db, project.id)
    runs.append_points(db, run.id, [("a", s, float(s), 0.0) for s in range(100)])
    assert runs.metric_series(db, run.id, "a", min_step=10, max_step=19)[0].tolist() == list(range(10, 20))
    assert runs.metric_series(db, run.id, "a", last=3)[1].tolist() == [97.0, 98.0, 99.0]


def _chunk_rows(db, run_id: str, key: str) -> list[tuple[int, int, int]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT first_step, last_step, count FROM metric_chunks WHERE run_id = :r AND key = :k "
            "ORDER BY first_step"), {"r": run_id, "k": key})]


def test_small_flushes_are_merged_so_a_long_run_reads_few_rows(db, project):
    from store import metrics

    run = runs.create_run(db, project.id)
    imported = np.arange(5000)  # a big chunk first: later merges must stay after it
    metrics.import_series(db, run.id, "loss", imported, imported * 0.5, imported + 1e9, chunk=5000)
    for start in range(5000, 7000, 5):  # 400 flushes of 5 points, like a run at the default 0.1 s
        runs.append_points(db, run.id, [("loss", st, st * 0.5, st + 1e9) for st in range(start, start + 5)]
                           + [("acc", st, 1.0, st + 1e9) for st in range(start, start + 5) if st % 500 == 0])
    rows = _chunk_rows(db, run.id, "loss")
    assert rows[0] == (0, 4999, 5000) and len(rows) <= metrics.MERGE_AFTER + 1
    assert all(a[1] < b[0] for a, b in zip(rows, rows[1:]))  # no two chunks share a step
    steps, values, walls = runs.metric_series(db, run.id, "loss")
    np.testing.assert_array_equal(steps, np.arange(7000))
    np.testing.assert_array_equal(values, np.arange(7000) * 0.5)
    np.testing.assert_array_equal(walls, np.arange(7000) + 1e9)
    tail = metrics.metric_series_after(db, [(run.id, "loss", 6990)])[(run.id, "loss")]
    assert tail[0].tolist() == list(range(6991, 7000))
    assert len(_chunk_rows(db, run.id, "acc")) == 4  # a key flushed rarely is left alone
    assert runs.metric_series(db, run.id, "acc")[0].tolist() == [5000, 5500, 6000, 6500]


def test_every_change_writes_its_event_in_the_same_transaction(db, project):
    run = runs.create_run(db, project.id)
    runs.append_points(db, run.id, [("a", 0, 1.0, 0.0), ("b", 0, 2.0, 0.0), ("a", 1, 1.5, 0.0)])
    runs.set_state(db, run.id, "finished", exit_code=0)
    types = [(ev.type, ev.payload.get("state")) for ev in events.events_after(db, 0) if ev.run_id == run.id]
    assert types == [("run_created", None), ("run_state", "running"), ("metrics", None), ("run_state", "finished")]
    metrics_event = events.events_after(db, 0, types=(events.METRICS,))[0]
    assert metrics_event.payload == {"keys": ["a", "b"], "first_step": 0, "last_step": 1, "count": 3}


def test_automation_names_are_unique_and_bounded(db, project):
    kwargs = dict(team_id=project.team_id, project_id=project.id, event_type="RUN_METRIC",
                  event_filter={}, action_type="NO_OP", action_config={})
    automations.create_automation(db, name="loss alert", **kwargs)
    with pytest.raises(ValidationError, match="already exists"):
        automations.create_automation(db, name="loss alert", **kwargs)
    with pytest.raises(ValidationError, match="255"):
        automations.create_automation(db, name="x" * 256, **kwargs)
    assert [a.name for a in automations.list_automations(db, project_id=project.id)] == ["loss alert"]


def test_update_changes_only_the_given_fields(db, project):
    """Case C1 (store part): editing the action keeps the stored filter byte for byte."""
    event_filter = {"run_filter": '{"$and": []}', "run_metric_filter": {"threshold_filter": {
        "name": "loss", "agg_op": "AVERAGE", "window_size": 5, "cmp_op": "$gt", "threshold": 0.5}}}
    a = automations.create_automation(
        db, team_id=project.team_id, project_id=project.id, name="a", event_type="RUN_METRIC",
        event_filter=event_filter, action_type="NO_OP", action_config={})
    automations.update_automation(db, a.id, action_type="DESKTOP_NOTIFICATION", action_config={"title": "t"})
    automations.update_automation(db, a.id, name="renamed")
    stored = automations.get_automation(db, a.id)
    assert stored.event_filter == event_filter
    assert (stored.name, stored.action_type, stored.description) == ("renamed", "DESKTOP_NOTIFICATION", "")


def test_deleting_an_automation_keeps_its_history(db, project):
    a = automations.create_automation(
        db, team_id=project.team_id, project_id=project.id, name="a", event_type="RUN_METRIC",
        event_filter={}, action_type="NO_OP", action_config={})
    ex = executions.record_firing(db, automation=a, project_id=project.id, run_id=None, event_type="RUN_METRIC",
                                  event={}, action_type="NO_OP", action={})
    automations.delete_automation(db, a.id)
    kept = executions.get_execution(db, ex.id)
    assert (kept.automation_id, kept.automation_name, kept.status) == (None, "a", "pending")


def test_a_pending_execution_is_claimed_by_one_dispatcher_only(db, project):
    executions.record_firing(db, automation=None, automation_name="x", project_id=project.id, run_id=None,
                             event_type="RUN_METRIC", event={}, action_type="NO_OP", action={})
    first, second = executions.claim_due(db), executions.claim_due(db)
    assert len(first) == 1 and second == []


@pytest.fixture
def keyring_backend():
    import keyring

    from tests.support.memory_keyring import MemoryKeyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_deleting_with_no_keyring_keeps_the_secret_and_the_integration(db, project, keyring_backend):
    import keyring
    import keyring.backends.fail

    from store import integrations, secrets
    from store.errors import SecretBackendUnavailable

    secrets.set_secret(db, project.team_id, "TOK", "v")
    slack = integrations.create_slack(db, project.team_id, workspace="lab", channel="#a",
                                      webhook_url="http://127.0.0.1:9/services/T/B/X")
    keyring.set_keyring(keyring.backends.fail.Keyring())
    with pytest.raises(SecretBackendUnavailable, match="no usable OS keyring"):
        secrets.delete_secret(db, project.team_id, "TOK")
    with pytest.raises(SecretBackendUnavailable, match="no usable OS keyring"):
        integrations.delete_integration(db, slack.id)
    keyring.set_keyring(keyring_backend)
    assert [s.name for s in secrets.list_secrets(db, project.team_id)] == ["TOK"]
    assert integrations.credential(integrations.get_integration(db, slack.id), "webhook_url").endswith("/X")


@pytest.mark.parametrize("url", [
    "https://hooks.slack.com/services/", "https://hooks.slack.com/services/T1/B1",
    "https://example.com/services/T/B/X", "http://10.0.0.1/services/T/B/X", "http://[::1]:9/", "not a url",
])
def test_slack_webhook_urls_that_cannot_work_are_refused(url):
    from store.integrations import validate_slack_webhook_url

    with pytest.raises(ValidationError):
        validate_slack_webhook_url(url)
    assert validate_slack_webhook_url("https://hooks.slack.com/services/T1/B1/xyz")


def test_a_crashed_run_ends_at_its_last_heartbeat(db, project):
    from datetime import timedelta

    run = runs.create_run(db, project.id)
    crashed = runs.mark_stale_runs_crashed(db, timedelta(seconds=0),
                                           now=run.heartbeat_at + timedelta(minutes=10))
    assert crashed == [run.id]
    stored = runs.get_run(db, run.id)
    assert (stored.state, stored.finished_at) == ("crashed", stored.heartbeat_at)


@pytest.mark.parametrize("url, message", [
    ("notaurl://", "not a database URL Runbell can open"),
    ("postgresql+nosuchdriver://u:hunter2@localhost/db", "not a database URL Runbell can open"),
])
def test_a_bad_database_url_gets_a_clear_error_without_its_password(url, message):
    from store.errors import StoreUnavailable

    with pytest.raises(StoreUnavailable, match=message) as info:
        Database(url)
    assert "hunter2" not in str(info.value)


def test_deleting_a_slack_bot_integration_removes_its_token_from_the_keyring(db, project, keyring_backend):
    from store import integrations

    bot = integrations.create_slack_bot(db, project.team_id, workspace="lab", channel_id="C0123456789",
                                        bot_token="xoxb-1-2-secret")
    assert "xoxb-1-2-secret" in keyring_backend.values.values()
    integrations.delete_integration(db, bot.id)
    assert "xoxb-1-2-secret" not in keyring_backend.values.values()
