"""Workspace plotting benchmark (headless, offscreen, one process run, side by side).

1. static: 10 runs × 1,000,000 points in one panel. Time to the first full view, then median and
   p95 frame time over a pan/zoom sequence; the same against plain pyqtgraph `plot()` of the same
   arrays with no downsampling (the baseline), and the ratio. Goal: p95 frame ≤ 33 ms.
2. live: 20 runs logging 10 metrics at 50 steps/s into the store (a separate writer process)
   while the workspace shows them: p95 frame time and lag from log to pixel. Goal: lag p95 ≤ 250 ms.
3. start-up: a store of 200 runs × 10 metrics × 5,000 points: time until the project's
   workspace is painted. Goal ≤ 1.5 s.

    QT_QPA_PLATFORM=offscreen python benchmarks/plots.py [--quick]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QObject  # noqa: E402
from PySide6.QtGui import QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import pyqtgraph as pg  # noqa: E402
from store import metrics, runs, teams  # noqa: E402
from store.db import Database  # noqa: E402


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def write_series(db, run_id: str, key: str, values: np.ndarray, chunk: int = 50_000, wall0: float = 1.7e9) -> None:
    steps = np.arange(len(values))
    metrics.import_series(db, run_id, key, steps, values, wall0 + steps * 0.01, chunk=chunk)


def make_world(folder: str, name: str):
    from desktop.context import AppContext

    db = Database(f"sqlite:///{folder}/{name}.db")
    team, user = teams.ensure_default_team(db, "bench")
    project = teams.get_or_create_project(db, team.id, name)
    return db, AppContext(db, team, user), project


def pump_until(app: QApplication, done, timeout: float = 120.0) -> float:
    start = time.perf_counter()
    while not done():
        app.processEvents()
        if time.perf_counter() - start > timeout:
            raise TimeoutError("benchmark step did not finish")
        time.sleep(0.001)
    return time.perf_counter() - start


def open_workspace(ctx, project_id: int):
    from desktop.store_watcher import StoreWatcher
    from desktop.tasks import TaskRunner
    from desktop.workspace import WorkspaceView

    tasks = TaskRunner(max_threads=4)
    watcher = StoreWatcher(ctx.db, interval_s=0.05)
    view = WorkspaceView(ctx, tasks, watcher, project_id)
    watcher.start()
    view.resize(1400, 900)
    view.show()
    return view, tasks, watcher


def screen_complete(view, n_runs: int) -> bool:
    """Every panel on screen shows all `n_runs` runs' lines (panels scrolled out may still load)."""
    shown = [p for p in view.panels if p.is_on_screen()]
    return bool(shown) and all(
        len(p.curves) == n_runs and not p.has_dirty()
        and all(c.raw.xData is not None and len(c.raw.xData) for c in p.curves.values())
        for p in shown)


def settled(view) -> bool:
    return view.is_loaded and not any(p.has_dirty() and p.is_on_screen() for p in view.panels)


def paint(widget) -> None:
    """Paint `widget` once into an image of its size: the frame a screen would show.

    `grab()` adds a pixmap copy and readback that dwarf the drawing on the offscreen platform;
    ours and the baseline are measured the same way.
    """
    image = QImage(widget.size(), QImage.Format.Format_ARGB32_Premultiplied)
    painter = QPainter(image)
    widget.render(painter)
    painter.end()


def zoom_sequence(n_points: int, frames: int) -> list[tuple[float, float]]:
    """Zoom in towards the middle, pan across, zoom back out."""
    seq, mid = [], n_points / 2
    for i in range(frames // 3):
        half = n_points / 2 * (0.85 ** i)
        seq.append((mid - half, mid + half))
    half = seq[-1][1] - mid
    for i in range(frames // 3):
        c = mid + (i - frames / 6) * half * 0.2
        seq.append((c - half, c + half))
    seq.extend(reversed(seq[: frames // 3]))
    return seq


# -- 1. static ------------------------------------------------------------------------------------

def bench_static(app: QApplication, folder: str, n_runs: int, n_points: int, frames: int) -> dict:
    db, ctx, project = make_world(folder, "static")
    rng = np.random.default_rng(0)
    arrays = []
    for i in range(n_runs):
        y = np.cumsum(rng.standard_normal(n_points)) * 0.01 + i
        y[rng.integers(n_points)] += 50  # one spike per run
        arrays.append(y)
        run = runs.create_run(db, project.id, name=f"run-{i}")
        write_series(db, run.id, "loss", y)
    t0 = time.perf_counter()
    view, tasks, watcher = open_workspace(ctx, project.id)
    pump_until(app, lambda: settled(view))
    view.grab()
    first_view = time.perf_counter() - t0
    panel = view.panel("loss")
    ours = []
    for x0, x1 in zoom_sequence(n_points, frames):
        start = time.perf_counter()
        panel.plot.setXRange(x0, x1, padding=0)
        view._repaint()
        paint(panel.plot)
        ours.append(time.perf_counter() - start)
        app.processEvents()  # range reads land in the background and draw on later frames
    pump_until(app, lambda: settled(view))
    view.close()
    watcher.stop()
    tasks.wait_idle(30_000)

    base = pg.PlotWidget()
    base.resize(panel.plot.size())
    base.show()
    x = np.arange(n_points, dtype=np.float64)
    t0 = time.perf_counter()
    for y in arrays:
        base.plot(x, y)
    base.grab()
    base_first = time.perf_counter() - t0
    theirs = []
    for x0, x1 in zoom_sequence(n_points, max(6, frames // 4)):  # the baseline is slow: fewer frames
        start = time.perf_counter()
        base.setXRange(x0, x1, padding=0)
        paint(base)
        theirs.append(time.perf_counter() - start)
    base.close()
    db.dispose()
    return {"first_view_s": first_view, "median_ms": pct(ours, 50) * 1e3, "p95_ms": pct(ours, 95) * 1e3,
            "base_first_view_s": base_first, "base_median_ms": pct(theirs, 50) * 1e3,
            "base_p95_ms": pct(theirs, 95) * 1e3}


# -- 2. live --------------------------------------------------------------------------------------

def _writer(url: str, run_ids: list[str], n_metrics: int, rate: float, seconds: float, flush_s: float) -> None:
    db = Database(url)
    step = 1  # step 0 is logged before the workspace opens
    start = time.time()
    next_flush = start
    while time.time() - start < seconds:
        next_flush += flush_s
        now = time.time()
        target = int((now - start) * rate)
        for run_id in run_ids:
            points = [(f"m{k}", s, float(np.sin(s / 50 + k)), now) for s in range(step, target) for k in range(n_metrics)]
            if points:
                runs.append_points(db, run_id, points)
        step = max(step, target)
        time.sleep(max(0.0, next_flush - time.time()))
    db.dispose()


def bench_live(app: QApplication, folder: str, n_runs: int, n_metrics: int, rate: float, seconds: float) -> dict:
    db, ctx, project = make_world(folder, "live")
    run_ids = [runs.create_run(db, project.id, name=f"live-{i}").id for i in range(n_runs)]
    runs.append_points(db, run_ids[0], [(f"m{k}", 0, 0.0, time.time()) for k in range(n_metrics)])  # panels exist
    # the frame tick only hands curves their points; Qt paints the panels afterwards: count that
    # too (patched before the panels exist: PySide binds a widget's overrides when it is made)
    paints, paint_event, counting = [], pg.GraphicsView.paintEvent, [False]

    def timed_paint(widget, event) -> None:  # noqa: ANN001
        start = time.perf_counter()
        paint_event(widget, event)
        if counting[0]:
            paints.append(time.perf_counter() - start)
            if frames:  # a frame is the tick plus Qt's paints of the panels it changed
                frames[-1] += paints[-1]

    pg.GraphicsView.paintEvent = timed_paint
    view, tasks, watcher = open_workspace(ctx, project.id)
    pump_until(app, lambda: view.is_loaded)
    frames, ticks, lags = [], [], []
    original = view._repaint

    def timed_repaint() -> None:
        start = time.perf_counter()
        original()
        now = time.time()
        frames.append(time.perf_counter() - start)
        ticks.append(frames[-1])
        for panel in view.panels:
            if not panel.is_on_screen():
                continue
            for curve in panel.curves.values():
                x = curve.raw.xData
                src = curve.source
                if x is None or not len(x) or not hasattr(src, "walls") or not len(src.walls):
                    continue
                shown = int(x[-1])
                seen = getattr(curve, "_bench_seen", 0)
                if shown > seen:
                    i = int(np.searchsorted(src.steps, shown))
                    lags.append(now - float(src.walls[min(i, len(src.walls) - 1)]))
                    curve._bench_seen = shown

    view._timer.timeout.disconnect()
    view._timer.timeout.connect(timed_repaint)
    counting[0] = True
    live_start = time.perf_counter()
    proc = multiprocessing.get_context("spawn").Process(
        target=_writer, args=(db.url, run_ids, n_metrics, rate, seconds, 0.1))
    proc.start()
    deadline = time.perf_counter() + seconds + 60
    while proc.is_alive() and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.002)
    proc.join()
    live_s = time.perf_counter() - live_start
    counting[0] = False
    pump_until(app, lambda: view.live.idle, timeout=30)
    watcher.stop()
    view.close()
    pg.GraphicsView.paintEvent = paint_event
    tasks.wait_idle(30_000)
    db.dispose()
    return {"frames": len(frames), "frame_p95_ms": pct(frames, 95) * 1e3, "frame_median_ms": pct(frames, 50) * 1e3,
            "tick_p95_ms": pct(ticks, 95) * 1e3,
            "lag_median_ms": pct(lags, 50) * 1e3, "lag_p95_ms": pct(lags, 95) * 1e3,
            "fps": len(frames) / live_s, "paints": len(paints), "paint_p95_ms": pct(paints, 95) * 1e3,
            "paint_share": sum(paints) / live_s}


# -- 3. start-up ----------------------------------------------------------------------------------

class PaintWatch(QObject):
    """Which panels drew new curves and have not been painted since (wraps `MetricPanel.render`
    and watches each plot's viewport for its Paint event)."""

    def __init__(self) -> None:
        super().__init__()
        from desktop.workspace.panel import MetricPanel

        self._waiting: set[QObject] = set()
        self._original = MetricPanel.render
        watch, original = self, self._original

        def render(panel) -> int:  # noqa: ANN001 - MetricPanel
            drawn = original(panel)
            if drawn:
                viewport = panel.plot.viewport()
                if viewport not in watch._waiting:
                    viewport.installEventFilter(watch)
                    watch._waiting.add(viewport)
            return drawn

        MetricPanel.render = render

    def eventFilter(self, obj, event) -> bool:  # noqa: ANN001, N802
        if event.type() == QEvent.Type.Paint and obj in self._waiting:
            self._waiting.discard(obj)
            obj.removeEventFilter(self)
        return False

    def all_painted(self) -> bool:
        return not self._waiting

    def stop(self) -> None:
        from desktop.workspace.panel import MetricPanel

        MetricPanel.render = self._original


def bench_startup(app: QApplication, folder: str, n_runs: int, n_metrics: int, n_points: int) -> dict:
    db, ctx, project = make_world(folder, "startup")
    rng = np.random.default_rng(2)
    for i in range(n_runs):
        run = runs.create_run(db, project.id, name=f"run-{i}")
        for k in range(n_metrics):
            write_series(db, run.id, f"metric/{k}", np.cumsum(rng.standard_normal(n_points)) * 0.01, chunk=1000)
    db.dispose()
    db2 = Database(db.url)  # a cold connection, as at app start
    from desktop.context import AppContext

    ctx = AppContext(db2, ctx.team, ctx.user)
    t0 = time.perf_counter()
    paints = PaintWatch()
    view, tasks, watcher = open_workspace(ctx, project.id)
    pump_until(app, lambda: screen_complete(view, n_runs) and paints.all_painted())
    painted = time.perf_counter() - t0
    paints.stop()
    drawn = sum(c.raw.xData is not None and len(c.raw.xData) > 0
                for p in view.panels if p.is_on_screen() for c in p.curves.values())
    on_screen = sum(p.is_on_screen() for p in view.panels)
    print(f"  start-up: {drawn} curves drawn in the {on_screen} panels on screen")
    watcher.stop()
    view.close()
    tasks.wait_idle(30_000)
    db2.dispose()
    return {"painted_s": painted}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads (CI smoke run)")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as folder:
        if args.quick:
            static = bench_static(app, folder, 10, 200_000, 30)
            live = bench_live(app, folder, 20, 10, 50, 4)
            startup = bench_startup(app, folder, 50, 10, 5000)
        else:
            static = bench_static(app, folder, 10, 1_000_000, 60)
            live = bench_live(app, folder, 20, 10, 50, 15)
            startup = bench_startup(app, folder, 200, 10, 5000)
    print("static (10 runs in one panel)              runbell      plain plot()   ratio")
    print(f"  time to first full view                  {static['first_view_s']:8.2f} s  "
          f"{static['base_first_view_s']:8.2f} s   {static['base_first_view_s'] / static['first_view_s']:6.1f}x")
    print(f"  frame median (pan/zoom)                  {static['median_ms']:8.1f} ms "
          f"{static['base_median_ms']:8.1f} ms  {static['base_median_ms'] / static['median_ms']:6.1f}x")
    print(f"  frame p95 (pan/zoom)     goal <= 33 ms   {static['p95_ms']:8.1f} ms "
          f"{static['base_p95_ms']:8.1f} ms  {static['base_p95_ms'] / static['p95_ms']:6.1f}x")
    print(f"live (20 runs x 10 metrics x 50 steps/s): {live['frames']} frames (tick + Qt paints), frame median "
          f"{live['frame_median_ms']:.1f} ms, p95 {live['frame_p95_ms']:.1f} ms (goal <= 33; tick alone p95 "
          f"{live['tick_p95_ms']:.1f} ms); "
          f"log-to-pixel lag median {live['lag_median_ms']:.0f} ms, p95 {live['lag_p95_ms']:.0f} ms (goal <= 250)")
    print(f"  {live['fps']:.1f} frames/s; Qt paints of panels: {live['paints']}, p95 {live['paint_p95_ms']:.1f} ms, "
          f"{live['paint_share'] * 100:.0f}% of the UI thread's time")
    print(f"start-up: workspace painted in {startup['painted_s']:.2f} s (goal <= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
