"""我的待办 (issue 23): what waits on each person, from a registry of sources."""

from .menu import menu_counts
from .registry import counts, items_for, overdue_by_department, register, todo

__all__ = ["counts", "items_for", "menu_counts", "overdue_by_department", "register", "todo"]
