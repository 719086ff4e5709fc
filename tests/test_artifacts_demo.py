"""The digits demo logs its trained model as artifact `digits-mlp`."""
from __future__ import annotations

import numpy as np

from desktop import demo_training
from store import artifact_files, artifacts, runs, teams


def test_the_demo_run_logs_its_weights_as_an_npz_artifact(db, db_url):
    assert demo_training.main(["--epochs", "1", "--step-delay", "0", "--seed", "0", "--db-url", db_url]) == 0
    team, _ = teams.ensure_default_team(db)
    project = teams.get_or_create_project(db, team.id, demo_training.PROJECT)
    version = artifacts.find_version(db, project.id, demo_training.MODEL_ARTIFACT)
    [run] = runs.list_runs(db, project.id)
    assert (version.index, version.artifact_type, version.run_id) == (0, "model", run.id)
    assert 0.5 < version.metadata["val_acc"] <= 1.0 and version.metadata["seed"] == 0
    [stored] = version.files
    weights = np.load(artifact_files.blob_path(stored.digest))
    assert weights["coef_0"].shape == (64, 64) and weights["coef_1"].shape == (64, 10)
