"""`runbell demo`: the demo project and alert, and the real digits training it launches (no Qt)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from desktop import demo
from store import automations, runs, teams

ROOT = Path(__file__).resolve().parents[1]


def test_prepare_demo_creates_the_project_and_one_desktop_alert(db):
    team, _user = teams.ensure_default_team(db, "alice")
    project = demo.prepare_demo(db, team)
    again = demo.prepare_demo(db, team)
    assert project.name == "digits-demo" and again.id == project.id
    [auto] = automations.list_automations(db, team_id=team.id)
    assert auto.name == "val/acc avg5 > 0.9 (demo)"
    assert auto.project_id == project.id and auto.enabled
    assert auto.event_type == "RUN_METRIC"
    assert auto.event_filter == {
        "run_filter": '{"$and": []}',
        "run_metric_filter": {"threshold_filter": {
            "name": "val/acc", "agg_op": "AVERAGE", "window_size": 5, "cmp_op": "$gt", "threshold": 0.9}},
    }
    assert auto.action_type == "DESKTOP_NOTIFICATION"  # Slack-free
    assert auto.action_config["severity"] == "INFO" and auto.action_config["title"] == auto.name


def test_demo_training_learns_the_digits_and_logs_real_metrics(db, db_url):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "desktop.demo_training", "--epochs", "1", "--step-delay", "0", "--seed", "0",
         "--db-url", db_url],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    team, _ = teams.ensure_default_team(db)
    [project] = [p for p in teams.list_projects(db, team.id) if p.name == "digits-demo"]
    [run] = runs.list_runs(db, project.id)
    assert run.state == "finished" and run.exit_code in (0, None)
    assert run.config["dataset"].startswith("sklearn digits") and run.config["seed"] == 0
    assert runs.metric_keys(db, project.id) == ["train/acc", "train/loss", "val/acc", "val/loss"]

    steps, loss, _ = runs.metric_series(db, run.id, "train/loss")
    train_size = run.config["train_size"]
    assert len(steps) == -(-train_size // run.config["batch_size"])  # one step per mini-batch
    np.testing.assert_array_equal(steps, np.arange(len(steps)))
    assert np.isfinite(loss).all() and loss.min() > 0
    assert loss[-5:].mean() < loss[:5].mean() - 0.2  # it really learns

    val_steps, val_acc, _ = runs.metric_series(db, run.id, "val/acc")
    np.testing.assert_array_equal(val_steps, np.arange(0, len(steps), 5))
    assert ((0 <= val_acc) & (val_acc <= 1)).all()
    assert val_acc[-1] > val_acc[0] + 0.2
    _s, train_acc, _ = runs.metric_series(db, run.id, "train/acc")
    assert ((0 <= train_acc) & (train_acc <= 1)).all()
