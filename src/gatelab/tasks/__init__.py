"""The task battery: sequence tasks that separate the roles of the gates.

Each task is a frozen dataclass sized by its fields, seeded through the generator it is given, with its
metric, its trivial (memoryless) level and its pass criterion; the first sentence of its docstring says what it
isolates. The battery registers itself here (:mod:`gatelab.tasks.registry`); the variant registry never imports
a task.
"""

from .adding import AddingTask, PaddedAddingTask
from .automata import Mod3Task, ParityTask, ResetTokenTask, S3Task
from .base import IGNORE, SPLITS, SequenceTask, TaskFacts, isolates
from .dynamics import MackeyGlassTask, Narma10Task
from .memory import CopyMemoryTask, SelectiveCopyTask
from .real import CharLMTask, DigitsTask
from .registry import get_task, is_registered, register_task, task_class, tasks, unregister_task
from .user_task import DataTask

for _task in (AddingTask, CopyMemoryTask, PaddedAddingTask, ParityTask, Mod3Task, S3Task, ResetTokenTask,
              SelectiveCopyTask, Narma10Task, MackeyGlassTask, DigitsTask, CharLMTask, DataTask):
    register_task(_task)

__all__ = ["IGNORE", "SPLITS", "AddingTask", "CharLMTask", "CopyMemoryTask", "DigitsTask", "MackeyGlassTask",
           "Mod3Task", "Narma10Task", "PaddedAddingTask", "ParityTask", "ResetTokenTask", "S3Task", "SelectiveCopyTask",
           "SequenceTask", "TaskFacts", "DataTask", "get_task", "is_registered", "isolates", "register_task",
           "task_class", "tasks", "unregister_task"]
