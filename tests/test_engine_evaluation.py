"""The evaluator over a real temp SQLite database: windows, edges, cooldown, filters, replay.

The evaluator is driven synchronously (`run_once`), so these tests need no threads or waiting.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from store import automations, events, executions, runs, teams

from desktop.engine import evaluator as ev_module
from desktop.engine.evaluator import CURSOR, Evaluator
from tests.support.engine_setup import World
from tests.support.memory_keyring import memory_keyring  # noqa: F401  (fixture)

NAN = math.nan


@pytest.fixture
def world(db) -> World:
    return World(db)


@pytest.fixture
def evaluator(db):
    ev = Evaluator(db)
    yield ev
    ev.close()


def statuses(world, automation):
    return [(x.status, x.event.get("step")) for x in world.executions(automation)]


def test_window_boundary_n_minus_one_values_do_not_fire(evaluator, world, db):
    auto = world.automation(action_type="NO_OP", window=3, threshold=0.9)
    run = world.run()
    world.log(run, "val/acc", [0.95, 0.96])  # N-1 values, all above: no evaluation yet
    evaluator.run_once()
    assert world.executions(auto) == []
    world.log(run, "val/acc", [0.97])  # the Nth value: evaluated, fires
    evaluator.run_once()
    assert statuses(world, auto) == [("finished", 2)]
    fired = world.executions(auto)[0]
    assert fired.event["metric_values"] == [0.95, 0.96, 0.97]
    assert fired.event["condition"] == "AVERAGE(val/acc) over 3 > 0.9"


def test_fires_on_the_edge_only_while_it_stays_true(evaluator, world, db):
    auto = world.automation(action_type="NO_OP", agg=None, threshold=0.5)
    run = world.run()
    world.log(run, "val/acc", [0.1, 0.2])
    evaluator.run_once()
    world.log(run, "val/acc", [0.6])
    evaluator.run_once()
    world.log(run, "val/acc", [0.7, 0.8])
    evaluator.run_once()
    world.log(run, "val/acc", [0.9])
    evaluator.run_once()
    assert statuses(world, auto) == [("finished", 2)]
    assert executions.run_state(db, auto.id, run.id)[0] is True


def test_true_again_within_cooldown_is_skipped_with_reason_then_fires_after(evaluator, world, db, monkeypatch):
    auto = world.automation(action_type="NO_OP", agg=None, threshold=0.5, cooldown_seconds=3600)
    run = world.run()
    world.log(run, "val/acc", [0.9])  # fires
    world.log(run, "val/acc", [0.1])  # false
    world.log(run, "val/acc", [0.9])  # true again within the hour: skipped
    evaluator.run_once()
    first, skipped = world.executions(auto)
    assert (first.status, skipped.status) == ("finished", "skipped")
    assert "already fired for run golden-sun-3" in skipped.reason
    assert "at most once per run every 1 h" in skipped.reason
    later = datetime.now(timezone.utc) + timedelta(hours=1, seconds=5)
    monkeypatch.setattr(ev_module, "_now", lambda: later)
    world.log(run, "val/acc", [0.1, 0.9])  # after the cooldown: fires again
    evaluator.run_once()
    assert [x.status for x in world.executions(auto)] == ["finished", "skipped", "finished"]


def test_cooldown_zero_fires_on_every_edge_even_inside_one_batch(evaluator, world, db):
    auto = world.automation(action_type="NO_OP", agg=None, threshold=0.5, cooldown_seconds=0)
    run = world.run()
    world.log(run, "val/acc", [0.1, 0.9, 0.2, 0.8, 0.7, 0.1])  # two crossings inside one batch
    evaluator.run_once()
    assert statuses(world, auto) == [("finished", 1), ("finished", 3)]


def test_a_crossing_inside_a_batch_is_not_missed(evaluator, world, db):
    auto = world.automation(action_type="NO_OP", agg="MAX", window=2, threshold=0.5)
    run = world.run()
    world.log(run, "val/acc", [0.1, 0.2, 0.9, 0.1, 0.1, 0.1])  # true only at steps 2-3
    evaluator.run_once()
    assert statuses(world, auto) == [("finished", 2)]
    assert executions.run_state(db, auto.id, run.id)[0] is False


def test_c2_nan_loss_never_fires_the_threshold(evaluator, world, db):
    """C2: loss 0.9, 0.8, NaN, 0.7, NaN, 0.6 — `avg(loss, 3) > 10` (and `!= 10`) never fire."""
    over = world.automation(name="avg loss > 10", action_type="NO_OP", metric="loss", threshold=10)
    unequal = world.automation(name="avg loss != 10", action_type="NO_OP", metric="loss", cmp="$ne", threshold=10)
    run = world.run()
    for value in (0.9, 0.8, NAN, 0.7, NAN, 0.6):
        world.log(run, "loss", [value])
    evaluator.run_once()
    assert world.executions(over) == [] and world.executions(unequal) == []
    assert math.isnan(runs.metric_series(db, run.id, "loss")[1][2])  # the NaN really was stored


def test_runs_are_evaluated_on_their_own_windows(evaluator, world, db):
    auto = world.automation(action_type="NO_OP", window=2, threshold=0.5)
    a, b = world.run("a"), world.run("b")
    world.log(a, "val/acc", [0.9])
    world.log(b, "val/acc", [0.9])  # each run has one value: neither window is full
    evaluator.run_once()
    assert world.executions(auto) == []
    world.log(a, "val/acc", [0.9])
    evaluator.run_once()
    assert [x.run_id for x in world.executions(auto)] == [a.id]


def test_disabled_automation_and_filtered_runs_never_fire(evaluator, world, db):
    off = world.automation(name="off", action_type="NO_OP", agg=None, enabled=False)
    bob_only = world.automation(name="bob only", action_type="NO_OP", agg=None,
                                run_filter='{"$and": [{"username": {"$eq": "bob"}}]}')
    tagged = world.automation(name="gpu runs", action_type="NO_OP", agg=None,
                              run_filter='{"$and": [{"tags": {"$contains": "gpu"}}]}')
    run = world.run(tags=["gpu"])
    world.log(run, "val/acc", [0.99])
    evaluator.run_once()
    assert world.executions(off) == [] and world.executions(bob_only) == []
    assert len(world.executions(tagged)) == 1


def test_other_metrics_and_other_projects_are_ignored(evaluator, world, db):
    auto = world.automation(action_type="NO_OP", agg=None)
    world.log(world.run(), "train/loss", [5.0])
    elsewhere = teams.get_or_create_project(db, world.team.id, "sweep")
    stranger = runs.create_run(db, elsewhere.id, name="other")
    runs.append_points(db, stranger.id, [("val/acc", 0, 0.99, 0.0)])
    evaluator.run_once()
    assert world.executions(auto) == []


def test_one_bad_automation_is_reported_once_and_does_not_stop_others(evaluator, world, db, caplog):
    bad_filter = {"run_filter": "{not json",
                  "run_metric_filter": {"threshold_filter": {"name": "val/acc", "agg_op": None, "cmp_op": "$gt",
                                                             "threshold": 0.5}}}
    bad = world.automation(name="broken", action_type="NO_OP", event_filter=bad_filter)
    zero = world.automation(name="zero window", action_type="NO_OP", event_filter={
        "run_filter": '{"$and": []}', "run_metric_filter": {"threshold_filter": {
            "name": "val/acc", "agg_op": "MAX", "window_size": 0, "cmp_op": "$gt", "threshold": 0.5}}})
    # written by hand into the database: shapes no validation would let through
    odd = world.automation(name="odd shape", action_type="NO_OP", event_filter={
        "run_filter": '{"$and": []}', "run_metric_filter": {"threshold_filter": ["val/acc", 0.5]}})
    huge = world.automation(name="huge repeat", action_type="NO_OP", event_filter={
        "run_filter": '{"display_name": {"$regex": "a{99999999999}"}}', "run_metric_filter": {"threshold_filter": {
            "name": "val/acc", "agg_op": None, "cmp_op": "$gt", "threshold": 0.5}}})
    good = world.automation(name="good", action_type="NO_OP", agg=None, threshold=0.5)
    run = world.run()
    world.log(run, "val/acc", [0.9])
    evaluator.run_once()
    world.log(run, "val/acc", [0.95])
    evaluator.run_once()
    [bad_exec] = world.executions(bad)
    assert bad_exec.status == "failed" and "run filter is not valid JSON" in bad_exec.reason
    [zero_exec] = world.executions(zero)
    assert "at least 1 value" in zero_exec.reason
    for automation in (odd, huge):
        [failed] = world.executions(automation)
        assert failed.status == "failed" and "cannot fire" in failed.reason, failed.reason
    assert [x.status for x in world.executions(good)] == ["finished"]
    assert "broken" in caplog.text


def test_replaying_the_log_never_fires_twice(evaluator, world, db):
    """Restart safety: a fresh evaluator replaying everything from position 0 writes nothing new."""
    auto = world.automation(action_type="NO_OP", agg=None, threshold=0.5, cooldown_seconds=0)
    run = world.run()
    world.log(run, "val/acc", [0.1, 0.9, 0.95])
    world.log(run, "val/acc", [0.2, 0.3])
    evaluator.run_once()
    assert len(world.executions(auto)) == 1
    evaluator.close()  # as Engine.stop() does
    events.set_cursor(db, CURSOR, 0)
    fresh = Evaluator(db)
    try:
        fresh.run_once()
        assert len(world.executions(auto)) == 1
        world.log(run, "val/acc", [0.9])  # a genuinely new edge still fires
        fresh.run_once()
        assert len(world.executions(auto)) == 2
    finally:
        fresh.close()


def test_only_one_evaluator_per_database_works(evaluator, world, db):
    """An app engine and a headless engine on one database never both fire the same edge."""
    auto = world.automation(action_type="NO_OP", agg=None, threshold=0.5)
    other = Evaluator(db)
    try:
        assert evaluator.holds_lease() and not other.holds_lease()
        world.log(world.run(), "val/acc", [0.9])
        assert other.run_once() == 0 and world.executions(auto) == []
        evaluator.run_once()
        assert len(world.executions(auto)) == 1
        evaluator.close()
        assert other.holds_lease()
    finally:
        other.close()


def test_automation_ignores_events_older_than_itself(evaluator, world, db):
    run = world.run()
    world.log(run, "val/acc", [0.99])  # before the automation existed
    auto = world.automation(action_type="NO_OP", agg=None, threshold=0.5)
    evaluator.run_once()
    assert world.executions(auto) == []
    world.log(run, "val/acc", [0.98])
    evaluator.run_once()
    assert len(world.executions(auto)) == 1


def test_notify_desktop_writes_one_execution_per_target(evaluator, world, db, memory_keyring):  # noqa: F811
    slack = world.slack("https://hooks.slack.com/services/T1/B1/abcdefghijkl")
    auto = world.automation(agg=None, threshold=0.5, action_config={
        "integration_id": slack.id, "title": "Acc ${metric_value}", "message": "run ${run_name}",
        "severity": "WARN", "notify_desktop": True})
    run = world.run()
    world.log(run, "val/acc", [0.75])
    evaluator.run_once()
    primary, desktop = world.executions(auto)
    assert (primary.action_type, primary.status) == ("NOTIFICATION", "pending")
    assert primary.action["channel"] == "#ml-alerts"
    assert primary.action["message"]["blocks"][0]["text"]["text"] == ":warning: Acc 0.75"
    assert (desktop.action_type, desktop.action["title"], desktop.action["message"]) == \
        ("DESKTOP_NOTIFICATION", "Acc 0.75", "run golden-sun-3")
    assert desktop.action["target"]["run_id"] == run.id


def test_run_state_failed_fires_once_and_killed_never(evaluator, world, db):
    auto = world.automation(name="failed runs", event_type="RUN_STATE", action_type="NO_OP",
                            event_filter={"run_filter": '{"$and": []}', "run_state_filter": {"states": ["FAILED"]}})
    crashed, killed = world.run("crashes"), world.run("killed")
    runs.set_state(db, crashed.id, "crashed")
    runs.set_state(db, killed.id, "killed")
    evaluator.run_once()
    [fired] = world.executions(auto)
    assert fired.run_id == crashed.id and fired.event["new_run_state"] == "crashed"


def test_run_alert_becomes_a_desktop_notification(evaluator, world, db):
    run = world.run()
    runs.record_alert(db, run.id, "Loss exploded", "loss=1e9", "ERROR")
    evaluator.run_once()
    [alert] = world.executions()
    assert (alert.automation_name, alert.action_type, alert.status) == ("run.alert", "DESKTOP_NOTIFICATION", "pending")
    assert alert.action["severity"] == "ERROR" and alert.action["title"] == "Loss exploded"


def test_deleted_automation_changes_are_seen(evaluator, world, db):
    auto = world.automation(action_type="NO_OP", agg=None, threshold=0.5)
    run = world.run()
    evaluator.run_once()
    automations.set_enabled(db, auto.id, False)
    world.log(run, "val/acc", [0.9])
    evaluator.run_once()
    assert world.executions(auto) == []


@pytest.mark.parametrize("stored", ["[1, 2]", '"x"', "123", "{not json"])
def test_a_row_whose_filter_is_not_a_json_object_is_reported_and_the_rest_still_fire(evaluator, world, db, stored):
    bad = world.automation(name="edited by hand", action_type="NO_OP", agg=None, threshold=0.5)
    good = world.automation(name="good", action_type="NO_OP", agg=None, threshold=0.5)
    with db.engine.begin() as conn:  # what someone with sqlite3 might do to the file
        conn.execute(sa.text("UPDATE automations SET event_filter = :v WHERE id = :i"), {"v": stored, "i": bad.id})
    assert {a.name for a in automations.list_automations(db, team_id=world.team.id)} == {"edited by hand", "good"}
    run = world.run()
    world.log(run, "val/acc", [0.9])
    evaluator.run_once()
    assert [x.status for x in world.executions(good)] == ["finished"]
    [failed] = world.executions(bad)
    assert failed.status == "failed" and "cannot fire" in failed.reason
