"""Whole-sequence functions. Every fast op has a ``_ref`` twin with the same signature."""

from .dispatch import BACKEND_CHOICES, resolve_backend, sequence_op, use_backend
from .recurrence import StepTrace, recurrence, recurrence_ref, recurrence_trace

__all__ = ["BACKEND_CHOICES", "StepTrace", "recurrence", "recurrence_ref", "recurrence_trace", "resolve_backend",
           "sequence_op", "use_backend"]
