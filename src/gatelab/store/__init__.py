"""The results database: one SQLite file per study directory, written by the driver only."""

from .sqlite import Store

__all__ = ["Store"]
