"""The evaluator over a real temp database for change, z-score, NaN/Inf, state and stalled
events: firing rules, chain depth, restarts. Driven synchronously (`run_once`, `check_stalls`)."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from store import automations, events, executions, runs

from desktop.engine import run_events, templating
from desktop.engine.evaluator import CURSOR, Evaluator
from tests.support.engine_fixtures import world  # noqa: F401  (fixture)
from tests.support.waiting import wait_until

NAN = math.nan


@pytest.fixture
def evaluator(db):
    ev = Evaluator(db)
    yield ev
    ev.close()


def nan_auto(world, name="loss is NaN", metric="loss", **kwargs):
    return world.automation(name=name, event_type=run_events.RUN_METRIC_NAN, action_type="NO_OP",
                            event_filter=run_events.nan_filter(metric), **kwargs)


def fired(world, automation):
    return [(x.status, x.event.get("step")) for x in world.executions(automation)]


def test_c2_nan_loss_fires_the_nan_automation_once_and_never_the_threshold(evaluator, world, db):
    """C2: loss 0.9, 0.8, NaN, 0.7, NaN, 0.6 — avg(loss, 3) > 10 never fires; "loss is NaN/Inf"
    fires exactly once, with ${metric_value} = NaN (the second NaN is inside the cooldown)."""
    threshold = world.automation(name="avg loss > 10", metric="loss", threshold=10, action_type="NO_OP")
    nan = nan_auto(world)
    run = world.run()
    for value in (0.9, 0.8, NAN, 0.7, NAN, 0.6):
        world.log(run, "loss", [value])
    evaluator.run_once()
    assert world.executions(threshold) == []
    assert fired(world, nan) == [("finished", 2), ("skipped", 4)]
    first = world.executions(nan)[0]
    assert first.event["metric_value"] == "NaN" and first.event["metric_name"] == "loss"
    variables = templating.from_storable({"metric_value": first.event["metric_value"]})
    assert templating.render_json('{"v": "${metric_value}"}', variables) == '{"v": "NaN"}'
    assert "already fired for run" in world.executions(nan)[1].reason


def test_nan_one_metric_ignores_other_metrics_and_any_metric_sees_them(evaluator, world, db):
    loss_only = nan_auto(world)
    anything = nan_auto(world, name="any NaN", metric=None)
    run = world.run()
    runs.append_points(db, run.id, [("loss", 0, 1.0, 0.0), ("grad", 0, math.inf, 0.0)])
    evaluator.run_once()
    assert world.executions(loss_only) == []
    [hit] = world.executions(anything)
    assert (hit.event["metric_name"], hit.event["metric_value"], hit.event["step"]) == ("grad", "Infinity", 0)


def test_nan_fires_again_on_a_new_episode_after_the_cooldown(evaluator, world, db):
    auto = nan_auto(world, cooldown_seconds=0)
    run = world.run()
    world.log(run, "loss", [NAN, NAN, 1.0, math.inf])  # two episodes: steps 0-1 and 3
    evaluator.run_once()
    assert fired(world, auto) == [("finished", 0), ("finished", 3)]


def test_change_and_zscore_fire_on_their_edges(evaluator, world, db):
    drop = world.automation(name="loss drops", event_type=run_events.RUN_METRIC_CHANGE, action_type="NO_OP",
                            event_filter=run_events.change_filter("loss", amount=0.6, current_window=2,
                                                                  prior_window=2, direction="DECREASE"))
    spike = world.automation(name="loss spike", event_type=run_events.RUN_METRIC_ZSCORE, action_type="NO_OP",
                             event_filter=run_events.zscore_filter("loss", window=4, threshold=2, direction="INCREASE"))
    run = world.run()
    world.log(run, "loss", [1.0, 1.0, 0.8])  # window not full yet
    evaluator.run_once()
    assert world.executions(drop) == []
    world.log(run, "loss", [0.2, 0.2, 1.2])
    evaluator.run_once()
    # change: step 3 is a 50 % drop (1.0 → 0.5), step 4 a 78 % drop (avg 0.9 → avg 0.2)
    [change] = world.executions(drop)
    assert change.event["step"] == 4 and change.event["prior_value"] == pytest.approx(0.9)
    # z-score at step 5: the 4 before are 1.0, 0.8, 0.2, 0.2: mean 0.55, std 0.357 → z 1.82: no
    assert world.executions(spike) == []
    world.log(run, "loss", [9.0])
    evaluator.run_once()
    [z] = world.executions(spike)
    assert z.event["step"] == 6 and z.event["zscore"] > 2


def test_several_automations_on_one_event_fire_independently_and_disabled_never(evaluator, world, db):
    a = nan_auto(world, name="a")
    b = nan_auto(world, name="b", metric=None)
    off = nan_auto(world, name="off", enabled=False)
    bob = world.automation(name="bob only", event_type=run_events.RUN_METRIC_NAN, action_type="NO_OP",
                           event_filter=run_events.nan_filter("loss", run_filter='{"$and": [{"username": "bob"}]}'))
    regex = world.automation(name="exp runs", event_type=run_events.RUN_METRIC_NAN, action_type="NO_OP",
                             event_filter=run_events.nan_filter(
                                 "loss", run_filter='{"$and": [{"display_name": {"$regex": "^exp-"}}]}'))
    world.log(world.run("exp-1"), "loss", [NAN])
    evaluator.run_once()
    assert [len(world.executions(x)) for x in (a, b, off, bob, regex)] == [1, 1, 0, 0, 1]


# --- run state -----------------------------------------------------------------------------------

def test_run_state_every_state_and_replay_never_fires_twice(evaluator, world, db):
    auto = world.automation(name="ends", event_type="RUN_STATE", action_type="NO_OP", cooldown_seconds=0,
                            event_filter=run_events.state_filter(["FINISHED", "FAILED"]))
    done, failed, crashed, killed = (world.run(n) for n in ("done", "failed", "crashed", "killed"))
    runs.set_state(db, done.id, "finished")
    runs.set_state(db, failed.id, "failed", exit_code=3)
    runs.set_state(db, crashed.id, "crashed")
    runs.set_state(db, killed.id, "killed")
    evaluator.run_once()
    assert sorted(x.event["new_run_state"] for x in world.executions(auto)) == ["crashed", "failed", "finished"]
    evaluator.close()
    events.set_cursor(db, CURSOR, 0)  # a restart that lost its cursor replays everything
    fresh = Evaluator(db)
    try:
        fresh.run_once()
    finally:
        fresh.close()
    assert len(world.executions(auto)) == 3


# --- chain depth (C7, engine side) -----------------------------------------------------------------

def test_c7_chain_depth_counts_through_caused_by_and_skips_past_the_limit(evaluator, world, db):
    auto = world.automation(name="new run", event_type="RUN_STATE", action_type="NO_OP",
                            event_filter=run_events.state_filter(["RUNNING"]))
    cause = None
    for _ in range(5):
        world_run = runs.create_run(db, world.project.id, caused_by=cause)
        evaluator.run_once()
        last = [x for x in world.executions(auto) if x.run_id == world_run.id][0]
        cause = last.delivery_id
        if last.status == "skipped":
            break
    found = world.executions(auto)
    assert [(x.status, x.event["chain_depth"]) for x in found] == \
        [("finished", 1), ("finished", 2), ("finished", 3), ("skipped", 4)]
    assert found[-1].reason.startswith("chain depth limit (3) reached")
    assert found[1].event["caused_by"] == found[0].delivery_id


def test_chain_depth_limit_is_configurable(world, db):
    ev = Evaluator(db, max_chain_depth=1)
    try:
        auto = nan_auto(world)
        runs.append_points(db, world.run().id, [("loss", 0, NAN, 0.0)], caused_by="some-delivery")
        ev.run_once()
        [skipped] = world.executions(auto)
        assert skipped.status == "skipped" and "chain depth limit (1) reached" in skipped.reason
    finally:
        ev.close()
    with pytest.raises(ValueError):
        Evaluator(db, max_chain_depth=0)


# --- restarts --------------------------------------------------------------------------------------

def test_a_crossing_while_the_engine_was_down_fires_on_start_and_only_once(world, db):
    change = world.automation(name="jump", event_type=run_events.RUN_METRIC_CHANGE, action_type="NO_OP",
                              event_filter=run_events.change_filter("loss", amount=1, change_type="ABSOLUTE",
                                                                    current_window=1, prior_window=1))
    run = world.run()
    first = Evaluator(db)
    world.log(run, "loss", [1.0])
    first.run_once()
    first.close()  # the engine stops
    world.log(run, "loss", [3.0])  # the crossing happens while it is down
    world.log(run, "loss", [3.5])
    second = Evaluator(db)  # the engine starts again: the window comes from the database
    try:
        second.run_once()
        assert fired(world, change) == [("finished", 1)]
        second.run_once()
    finally:
        second.close()
    third = Evaluator(db)
    try:
        events.set_cursor(db, CURSOR, 0)
        third.run_once()
    finally:
        third.close()
    assert fired(world, change) == [("finished", 1)]


# --- stalled ---------------------------------------------------------------------------------------

def stall_auto(world, minutes=10, **kwargs):
    return world.automation(name=f"stalled {minutes}", event_type=run_events.RUN_STALLED, action_type="NO_OP",
                            event_filter=run_events.stall_filter(minutes), **kwargs)


def test_stalled_fires_once_at_t_resets_on_a_new_step_and_ignores_ended_runs(evaluator, world, db):
    auto = stall_auto(world, minutes=10, cooldown_seconds=0)
    run, ended = world.run("live"), world.run("ended")
    world.log(run, "loss", [1.0])
    runs.set_state(db, ended.id, "finished")
    t0 = datetime.now(timezone.utc)
    assert evaluator.check_stalls(t0 + timedelta(minutes=9, seconds=59)) == 0
    evaluator.check_stalls(t0 + timedelta(minutes=10, seconds=1))
    evaluator.check_stalls(t0 + timedelta(minutes=30))  # still stalled: no second firing
    assert [(x.run_id, x.status) for x in world.executions(auto)] == [(run.id, "finished")]
    assert world.executions(auto)[0].event["step"] == 0
    world.log(run, "loss", [0.9])  # a new step: the condition resets ...
    evaluator.check_stalls(t0 + timedelta(minutes=31))
    assert executions.run_state(db, auto.id, run.id)[0] is False
    evaluator.check_stalls(t0 + timedelta(minutes=41, seconds=1))  # ... and the next stall fires again
    assert len(world.executions(auto)) == 2


def test_a_stall_during_downtime_fires_on_start_and_a_fired_one_does_not_again(world, db):
    auto = stall_auto(world, minutes=5)
    run = world.run()
    world.log(run, "loss", [1.0])
    later = datetime.now(timezone.utc) + timedelta(minutes=6)
    first = Evaluator(db)  # started after the stall began: knows only the database
    try:
        first.check_stalls(later)
    finally:
        first.close()
    assert len(world.executions(auto)) == 1
    second = Evaluator(db)
    try:
        second.check_stalls(later + timedelta(minutes=1))
    finally:
        second.close()
    assert len(world.executions(auto)) == 1


def test_run_once_runs_the_stall_check_when_due(world, db):
    auto = stall_auto(world, minutes=0.0001)
    world.run()
    ev = Evaluator(db, stall_check_seconds=0)
    try:
        wait_until(lambda: ev.run_once() or world.executions(auto), timeout=5)
    finally:
        ev.close()
    assert world.executions(auto)[0].event["type"] == "RUN_STALLED"


def test_invalid_new_automation_is_reported_once(evaluator, world, db):
    bad = world.automation(name="bad change", event_type=run_events.RUN_METRIC_CHANGE, action_type="NO_OP",
                           event_filter={"run_metric_filter": {"change_filter": {"name": "loss", "change_amount": 0}}})
    run = world.run()
    world.log(run, "loss", [1.0])
    world.log(run, "loss", [2.0])
    evaluator.run_once()
    [failed] = world.executions(bad)
    assert failed.status == "failed" and "greater than 0" in failed.reason
    automations.delete_automation(db, bad.id)
