"""The project workspace: live metric panels, one per metric, every run overlaid."""
from desktop.workspace.view import WorkspaceView

__all__ = ["WorkspaceView"]
