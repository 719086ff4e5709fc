"""The workspace layout: which panels, in which order, each with its own settings; saved per
project in QSettings (keyed by database and project, so two stores never share a layout)."""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field, fields

from PySide6.QtCore import QSettings

from desktop.engine.regex import compile_regex

log = logging.getLogger("runbell.workspace")

X_MODES = ("step", "relative", "wall")


@dataclass
class PanelSpec:
    """One panel: a single metric (`metric`) or every metric matching `pattern` (a regex)."""

    metric: str = ""
    pattern: str = ""
    x_mode: str = "step"
    log_y: bool = False
    smoothing: float = 0.0  # EMA weight, 0 = off
    y_range: tuple[float, float] | None = None  # None = auto
    robust_y: bool = False  # auto y range ignores outliers (1st–99th percentile)
    wide: bool = False  # spans both columns

    @property
    def title(self) -> str:
        return self.metric or f"/{self.pattern}/"

    def matches(self, key: str) -> bool:
        if self.metric:
            return key == self.metric
        try:
            return compile_regex(self.pattern).search(key) is not None
        except ValueError:
            return False


@dataclass
class Layout:
    panels: list[PanelSpec] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)  # metrics whose default panel the user closed

    def with_defaults(self, keys: list[str]) -> bool:
        """Give every metric no panel shows yet (by name or by pattern) a panel of its own;
        True when panels were added."""
        new = [k for k in sorted(keys)
               if k not in self.removed and not any(p.matches(k) for p in self.panels)]
        self.panels.extend(PanelSpec(metric=k) for k in new)
        return bool(new)


def project_settings_key(kind: str, db_url: str, project_id: int) -> str:
    """A QSettings key per database and project; the URL is hashed (it may hold a password)."""
    digest = hashlib.sha1(db_url.encode()).hexdigest()[:12]
    return f"{kind}/{digest}/project-{project_id}"


def settings_key(db_url: str, project_id: int) -> str:
    return project_settings_key("workspace", db_url, project_id)


def _valid_pattern(pattern: str) -> bool:
    try:
        compile_regex(pattern)
    except ValueError:
        return False
    return bool(pattern)


def load_layout(key: str) -> Layout:
    raw = QSettings().value(key)
    if not raw:
        return Layout()
    try:
        data = json.loads(str(raw))
        names = {f.name for f in fields(PanelSpec)}
        panels = []
        for item in data.get("panels", []):
            spec = PanelSpec(**{k: v for k, v in item.items() if k in names})
            if spec.y_range is not None:
                spec.y_range = (float(spec.y_range[0]), float(spec.y_range[1]))
            if spec.x_mode not in X_MODES:
                spec.x_mode = "step"
            if not spec.metric and not _valid_pattern(spec.pattern):
                log.warning("dropping a saved panel with an unusable pattern %r", spec.pattern)
                continue
            panels.append(spec)
        return Layout(panels=panels, removed=set(data.get("removed", [])))
    except (ValueError, TypeError, AttributeError) as exc:
        log.warning("ignoring an unreadable workspace layout: %s", exc)
        return Layout()


def save_layout(key: str, layout: Layout) -> None:
    data = {"panels": [asdict(p) for p in layout.panels], "removed": sorted(layout.removed)}
    settings = QSettings()
    settings.setValue(key, json.dumps(data))
    settings.sync()
