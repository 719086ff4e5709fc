"""`runbell install-desktop-entry`: the freedesktop entry and icon land in XDG_DATA_HOME."""
from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop import desktop_entry

ROOT = Path(__file__).resolve().parents[1]


def _entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_the_shipped_entry_is_a_valid_application_entry():
    entry = _entry(ROOT / "resources" / "runbell.desktop")
    assert entry["Type"] == "Application" and entry["Name"] == "Runbell"
    assert entry["Icon"] == "runbell" and entry["Terminal"] == "false"
    assert entry["StartupWMClass"] == "runbell"  # QApplication.setDesktopFileName("runbell")
    assert (ROOT / "resources" / "icons" / f"{entry['Icon']}.svg").is_file()
    if shutil.which("desktop-file-validate"):
        proc = subprocess.run(["desktop-file-validate", str(ROOT / "resources" / "runbell.desktop")],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="freedesktop entries are for Linux desktops")
def test_install_command_writes_entry_and_icon(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_DATA_HOME=str(tmp_path / "share"))
    proc = subprocess.run([sys.executable, "-m", "desktop", "install-desktop-entry"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    entry_path = tmp_path / "share" / "applications" / "runbell.desktop"
    icon_path = tmp_path / "share" / "icons" / "hicolor" / "scalable" / "apps" / "runbell.svg"
    assert f"installed {entry_path}" in proc.stdout
    assert icon_path.read_bytes() == (ROOT / "resources" / "icons" / "runbell.svg").read_bytes()
    entry = _entry(entry_path)
    assert entry["Exec"] == desktop_entry._exec_value(desktop_entry.launch_command())
    assert entry["Name"] == "Runbell" and entry["Icon"] == "runbell"


def test_exec_quoting_follows_the_spec():
    assert desktop_entry._exec_value(["/opt/runbell/runbell"]) == "/opt/runbell/runbell"
    assert desktop_entry._exec_value(["/home/a b/py", "-m", "desktop"]) == '"/home/a b/py" -m desktop'
    assert desktop_entry._exec_value(['/x/$y"z']) == '"/x/\\$y\\"z"'


def test_install_into_a_folder(tmp_path):
    entry, icon = desktop_entry.install(tmp_path)
    assert entry == tmp_path / "applications" / "runbell.desktop" and icon.is_file()
    assert _entry(entry)["Exec"].split()[0].strip('"') in (sys.executable, str(Path(sys.executable).with_name("runbell")))
