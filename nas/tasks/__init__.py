"""Retraining tasks (``TASKS``): each supplies datasets, heads on a backbone, a loss, metrics and its primary metric."""
from __future__ import annotations

from nas.tasks.base import TASKS, Datasets, Task, get_task, list_tasks, register_task, resolve_task

__all__ = ["TASKS", "Datasets", "Task", "get_task", "list_tasks", "register_task", "resolve_task"]
