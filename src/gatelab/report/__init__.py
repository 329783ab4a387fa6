"""Store → HTML/Markdown report with plots. Reads the store only; nothing in training imports it."""

from .build import write_report

__all__ = ["write_report"]
