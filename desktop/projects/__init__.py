"""The Projects tab: the project list and one project's Workspace / Runs / Automations."""
from desktop.projects.page import ProjectsPage
from desktop.projects.project_page import ProjectPage

__all__ = ["ProjectPage", "ProjectsPage"]
