"""Memory while a project is opened and closed again and again (headless, offscreen).

A project of 20 runs × 6 metrics × 2,000 steps is opened until its workspace has loaded, then
closed, N times; every 5 openings the process's resident memory is printed after the closed
pages are deleted. Flat figures mean a closed page gives back what it took.

    python benchmarks/reopen.py [--openings 40]
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from benchmarks.plots import pump_until  # noqa: E402
from desktop.context import AppContext  # noqa: E402
from desktop.gui_gc import UiThreadCollector  # noqa: E402
from desktop.projects.page import ProjectsPage  # noqa: E402
from desktop.store_watcher import StoreWatcher  # noqa: E402
from desktop.tasks import TaskRunner  # noqa: E402
from store import runs, teams  # noqa: E402
from store.db import Database  # noqa: E402


def resident_mib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openings", type=int, default=40)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    collector = UiThreadCollector(app)  # as in the app
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{folder}/reopen.db")
        team, user = teams.ensure_default_team(db)
        project = teams.get_or_create_project(db, team.id, "reopen")
        now = time.time()
        for i in range(20):
            run = runs.create_run(db, project.id, name=f"run-{i}")
            runs.append_points(db, run.id, [(f"m{k}", s, float(np.sin(s / 30 + k)), now)
                                            for s in range(2000) for k in range(6)])
        tasks, watcher = TaskRunner(app), StoreWatcher(db, parent=app)
        watcher.start()
        page = ProjectsPage(AppContext(db, team, user), tasks, watcher)
        page.resize(1200, 800)
        page.show()
        pump_until(app, lambda: page.list.count() > 0, timeout=10)
        figures = []
        for i in range(args.openings):
            opened = page.open_project(project.id)
            pump_until(app, lambda: opened.workspace.is_loaded, timeout=10)
            frames_until = time.monotonic() + 0.2  # a few live frames
            pump_until(app, lambda: time.monotonic() > frames_until)
            page.close_project()
            del opened
            if i % 5 == 4:
                tasks.wait_idle(5000)
                app.processEvents()
                QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
                gc.collect()
                figures.append(resident_mib())
        print(f"resident MiB every 5 openings ({args.openings} in all): {figures}")
        watcher.stop()
        db.dispose()
    collector.uninstall()
    return 0


if __name__ == "__main__":
    sys.exit(main())
