"""Export/Import of the Automations list: file choice (non-blocking QFileDialog) and the work off
the UI thread. Import renames on a name clash ("name (2)") and is all or nothing."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QWidget

from desktop.context import AppContext
from desktop.engine import portable
from store import entities as e

FILTER = "Runbell automations (*.json);;All files (*)"


def file_dialog(parent: QWidget, *, save: bool, on_chosen: Callable[[str], None]) -> QFileDialog:
    """A window-modal file dialog (object name "automations-export-file" / "automations-import-file")."""
    dialog = QFileDialog(parent, "Export automations" if save else "Import automations", "", FILTER)
    dialog.setObjectName("automations-export-file" if save else "automations-import-file")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)  # scriptable, same on every OS
    if save:
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("json")
        dialog.selectFile("automations.json")
    else:
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.fileSelected.connect(on_chosen)
    dialog.open()
    return dialog


def export_to(ctx: AppContext, project_id: int, path: str) -> int:
    """Write the project's automations to `path`; returns how many."""
    text = portable.export_automations(ctx.db, ctx.team.id, project_id=project_id)
    Path(path).write_text(text, encoding="utf-8")
    return len(json.loads(text)["automations"])


def _exported_projects(text: str) -> set[str]:
    try:
        document: Any = json.loads(text)
        return {str(item["scope"]["projectName"]) for item in document["automations"]
                if (item.get("scope") or {}).get("projectName")}
    except (ValueError, TypeError, KeyError, AttributeError):
        return set()  # import_automations says what is wrong with the file


def import_from(ctx: AppContext, project_id: int, path: str) -> list[e.Automation]:
    """Create the file's automations in this project (whatever project they came from)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OSError(f"could not read {Path(path).name}: {exc}") from exc
    project_map: dict[str, str | int] = {name: project_id for name in _exported_projects(text)}
    return portable.import_automations(ctx.db, ctx.team.id, text, project_map=project_map, on_conflict="rename")
