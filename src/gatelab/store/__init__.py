"""The results database: one SQLite file per study directory, written by the driver only."""

from .sqlite import FINISHED, Store, StoreWriteError

__all__ = ["FINISHED", "Store", "StoreWriteError"]
