"""The packaged app's self-test (`runbell smoke`), from the source tree and from a PyInstaller build.

The frozen test builds build.spec into a temporary folder (a few minutes) and only runs with
RUNBELL_TEST_FROZEN=1; RUNBELL_FROZEN_APP=<path to dist/runbell/runbell> reuses a build.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fake_webhook import FakeWebhook

ROOT = Path(__file__).resolve().parents[1]
SMOKE_TIMEOUT = 120.0
# What a missing hidden import, data file or Qt plugin looks like in the app's output.
BUNDLE_PROBLEMS = re.compile(
    r"ModuleNotFoundError|ImportError|FileNotFoundError|missing resource|Traceback|"
    r"Could not load the Qt platform plugin|Cannot load library"
)


def _private_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNBELL_", "QT_", "PYTHON"))}
    env.update(
        RUNBELL_HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_STATE_HOME=str(tmp_path / "state"), XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_RUNTIME_DIR=str(tmp_path / "runtime"), QT_QPA_PLATFORM="offscreen",
        # no secrets are needed; never touch the user's keyring or notification daemon
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring", DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent",
    )
    (tmp_path / "runtime").mkdir(mode=0o700, exist_ok=True)
    return env


def run_smoke(cmd: list[str], tmp_path: Path, env: dict[str, str]) -> tuple[int, str, list]:
    """Run `<cmd> smoke` against a loopback webhook; returns (exit code, output, requests)."""
    out_path = tmp_path / "smoke.log"
    with FakeWebhook() as receiver, out_path.open("wb") as out:
        proc = subprocess.Popen(
            [*cmd, "smoke", "--webhook-url", receiver.url, "--timeout", str(SMOKE_TIMEOUT)],
            env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the demo training child goes with it
        )
        try:
            code = proc.wait(timeout=SMOKE_TIMEOUT + 60)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        received = list(receiver.requests)
    return code, out_path.read_text("utf-8", errors="replace"), received


def assert_smoke_passed(code: int, output: str, received: list, tmp_path: Path) -> None:
    assert code == 0, output[-4000:]
    problems = BUNDLE_PROBLEMS.findall(output)
    assert not problems, f"{problems}\n{output[-4000:]}"
    assert "Runbell ready" in output and "smoke: passed" in output
    assert received, "the webhook receiver got nothing"
    body = FakeWebhook.json(received[0])
    assert body["check"] == "runbell smoke" and body["automation"].startswith("smoke:")
    assert 0 <= body["value"] <= 1

    # What the app left in its fresh database: migrated schema, the demo run, the delivery.
    from store import executions, runs, teams
    from store.db import Database

    db = Database(f"sqlite:///{tmp_path / 'home' / 'runbell.db'}", migrate=False)
    try:
        team, _ = teams.ensure_default_team(db)
        [project] = [p for p in teams.list_projects(db, team.id) if p.name == "digits-demo"]
        [run] = runs.list_runs(db, project.id)
        assert body["run"] == run.id
        steps, _values, _ = runs.metric_series(db, run.id, "train/acc")
        assert len(steps) >= 1
        [delivery] = [x for x in executions.list_executions(db, project_id=project.id)
                      if x.action_type == "GENERIC_WEBHOOK"]
        assert delivery.status == "finished" and delivery.attempts[0].status_code == 200
    finally:
        db.dispose()


@pytest.mark.slow
def test_smoke_command_from_source(tmp_path):
    env = _private_env(tmp_path)
    env["PYTHONPATH"] = str(ROOT)
    code, output, received = run_smoke([sys.executable, "-m", "desktop"], tmp_path, env)
    assert_smoke_passed(code, output, received, tmp_path)


@pytest.fixture(scope="session")
def frozen_app(tmp_path_factory) -> Path:
    prebuilt = os.environ.get("RUNBELL_FROZEN_APP")
    if prebuilt:
        return Path(prebuilt)
    if shutil.which("pyinstaller", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("RUNBELL_TEST_FROZEN=1 but pyinstaller is not installed (pip install -e '.[build]')")
    build = tmp_path_factory.mktemp("frozen-build")
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(build / "dist"), "--workpath", str(build / "work"), str(ROOT / "build.spec")],
        cwd=ROOT, check=True, timeout=1200,
    )
    return build / "dist" / "runbell" / ("runbell.exe" if sys.platform == "win32" else "runbell")


frozen = pytest.mark.skipif(os.environ.get("RUNBELL_TEST_FROZEN") != "1",
                            reason="builds the PyInstaller app; set RUNBELL_TEST_FROZEN=1")


@frozen
@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_frozen_app_reports_its_version(frozen_app, tmp_path):
    import tomllib

    expected = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    proc = subprocess.run([str(frozen_app), "--version"], env=_private_env(tmp_path), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"runbell {expected}"


@frozen
@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_frozen_app_smoke(frozen_app, tmp_path):
    code, output, received = run_smoke([str(frozen_app)], tmp_path, _private_env(tmp_path))
    assert_smoke_passed(code, output, received, tmp_path)
