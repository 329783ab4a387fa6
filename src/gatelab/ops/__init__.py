"""Whole-sequence functions. Every fast op has a ``_ref`` twin with the same signature."""

from .dispatch import BACKEND_CHOICES, resolve_backend, sequence_op, use_backend
from .recurrence import recurrence, recurrence_ref

__all__ = ["BACKEND_CHOICES", "recurrence", "recurrence_ref", "resolve_backend", "sequence_op", "use_backend"]
