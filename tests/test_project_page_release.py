"""Closing a project page lets its workspace go: switching projects all day must not pile up
panels, curves and timers (each would slow every later garbage collection and paint)."""
from __future__ import annotations

import gc
import os
import weakref

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEvent  # noqa: E402
from shiboken6 import isValid  # noqa: E402
from ui_fixtures import OFFSCREEN_NOISE, qsettings_isolated, seed_run, tasks, ui_ctx, watcher  # noqa: E402, F401

from desktop.projects.page import ProjectsPage  # noqa: E402
from desktop.workspace.panel import MetricPanel  # noqa: E402
from store import teams  # noqa: E402

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)


def test_closing_a_project_frees_its_workspace(qtbot, ui_ctx, tasks, watcher, qsettings_isolated):
    project = teams.get_or_create_project(ui_ctx.db, ui_ctx.team.id, "digits")
    run = seed_run(ui_ctx.db, project.id, {"loss": [2.0, 1.0, 0.5], "acc": [0.1, 0.5, 0.9]})
    projects = ProjectsPage(ui_ctx, tasks, watcher)
    qtbot.addWidget(projects)
    projects.show()
    for _ in range(3):
        with qtbot.waitSignal(projects.project_opened, timeout=10_000) as opened:
            projects.open_project(project.id)
        page = opened.args[0]
        del opened
        qtbot.waitUntil(lambda p=page: p.workspace.curve(run.id, "acc") is not None
                        and p.workspace.curve(run.id, "acc").xData is not None, timeout=10_000)
        view = page.workspace
        assert len(view.panels) == 2 and all(isinstance(p, MetricPanel) for p in view.panels)
        refs = [weakref.ref(o) for o in [view, *view.panels, *view.panels[0].curves.values()]]
        projects.close_project()
        del page
        tasks.wait_idle(10_000)
        QCoreApplication.processEvents()  # late results reach their (guarded) callbacks
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        assert not isValid(view)  # the Qt side is gone
        del view
        gc.collect()
        assert [r() for r in refs] == [None] * len(refs)  # and so is every Python side of it
