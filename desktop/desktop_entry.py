"""`runbell install-desktop-entry`: the freedesktop launcher entry and icon for this user.

It writes `<XDG_DATA_HOME>/applications/runbell.desktop` (from resources/runbell.desktop, with
Exec pointing at this installation) and `<XDG_DATA_HOME>/icons/hicolor/scalable/apps/runbell.svg`.
"""
from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from desktop.resources import resource_path

ENTRY = "runbell.desktop"


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def launch_command() -> list[str]:
    """How a launcher starts this installation: the frozen binary, the `runbell` script, or Python."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    script = Path(sys.executable).with_name("runbell")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "desktop"]


def _exec_value(argv: list[str]) -> str:
    # The Exec key quotes arguments with double quotes (Desktop Entry Specification, "The Exec key").
    def quote(arg: str) -> str:
        if not any(c in arg for c in ' \t\n"\'\\><~|&;$*?#()`'):
            return arg
        return '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'

    return " ".join(quote(a) for a in argv)


def render_entry(argv: list[str]) -> str:
    lines = []
    for line in resource_path(ENTRY).read_text("utf-8").splitlines():
        lines.append(f"Exec={_exec_value(argv)}" if line.startswith("Exec=") else line)
    return "\n".join(lines) + "\n"


def install(target: Path | None = None) -> tuple[Path, Path]:
    """Write the entry and the icon; returns their paths."""
    base = target or data_home()
    entry = base / "applications" / ENTRY
    icon = base / "icons" / "hicolor" / "scalable" / "apps" / "runbell.svg"
    entry.parent.mkdir(parents=True, exist_ok=True)
    icon.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(render_entry(launch_command()), "utf-8")
    shutil.copyfile(resource_path("icons", "runbell.svg"), icon)
    return entry, icon


def main() -> int:
    if not sys.platform.startswith(("linux", "freebsd", "openbsd")):
        print("install-desktop-entry is for Linux/BSD desktops; on this system use the app bundle or installer.")
        return 1
    entry, icon = install()
    print(f"installed {entry}\ninstalled {icon}\nRunbell now appears in the application menu "
          f"(launcher: {shlex.join(launch_command())}).")
    return 0
