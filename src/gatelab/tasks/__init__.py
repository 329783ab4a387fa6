"""The task battery: sequence tasks that separate the roles of the gates.

Each task is a frozen dataclass sized by its fields, seeded through the generator it is given, with its
metric, its trivial (memoryless) level and its pass criterion; the first sentence of its docstring says what it
isolates. The battery is declared in :mod:`gatelab.registry`.
"""

from .adding import AddingTask, PaddedAddingTask
from .automata import Mod3Task, ParityTask, ResetTokenTask
from .base import IGNORE, SPLITS, SequenceTask, isolates
from .dynamics import MackeyGlassTask, Narma10Task
from .memory import CopyMemoryTask, SelectiveCopyTask
from .real import CharLMTask, DigitsTask

__all__ = ["IGNORE", "SPLITS", "AddingTask", "CharLMTask", "CopyMemoryTask", "DigitsTask", "MackeyGlassTask",
           "Mod3Task", "Narma10Task", "PaddedAddingTask", "ParityTask", "ResetTokenTask", "SelectiveCopyTask",
           "SequenceTask", "isolates"]
