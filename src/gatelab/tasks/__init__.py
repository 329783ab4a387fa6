"""Sequence tasks that separate the roles of the gates. Each states what it isolates in its docstring."""

from .adding import AddingTask

__all__ = ["AddingTask"]
