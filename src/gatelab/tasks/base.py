"""What every task of the battery shares: splits, its metric, its trivial level and its pass criterion.

A task is a frozen dataclass sized by its fields. The first sentence of its docstring says what it isolates;
the report prints it next to the task's results (:func:`isolates`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from .._errors import bad_argument

SPLITS = ("train", "valid", "test")
IGNORE = -100          # class target of a step that is not scored; a regression target is unscored where NaN


def checked_stream(generator: torch.Generator, split: str) -> torch.Generator:
    """Check ``split`` and return ``generator``: tasks draw from the caller's stream, and a caller keeps one
    stream per split (the trainer seeds them apart), so synthetic splits never replay each other. For real
    data the split also selects the partition."""
    if split not in SPLITS:
        raise bad_argument("split", f"one of {list(SPLITS)}", split)
    return generator


@dataclass(frozen=True)
class TaskFacts:
    """What a report needs to know about a task, stored with every run (so a store reports without the task's
    class, even for a task that is no longer registered).

    Attributes:
        name: the task's registry name.
        kind: ``"regression"`` or ``"classification"``.
        metric: the test metric's name; ``higher_is_better`` its direction.
        trivial: the metric of the best memoryless predictor (chance level).
        solved_at: the pass criterion (below it, or at least it when higher is better), on the test split.
        isolates: the one sentence saying what the task isolates.
        compare_unsolved: compare variants even where the reference misses the criterion — for a user's data,
            whose criterion is a baseline to beat, not a level at which the task is solved.
        solved_at_valid: the criterion on the validation split, where a run is judged to have met it (the same
            as ``solved_at`` unless the criterion is a reference's score); None in records stored before it.
    """

    name: str
    kind: str
    metric: str
    higher_is_better: bool
    trivial: float
    solved_at: float
    isolates: str
    compare_unsolved: bool = False
    solved_at_valid: float | None = None

    def solved(self, value: float) -> bool:
        return value >= self.solved_at if self.higher_is_better else value < self.solved_at


@dataclass(frozen=True)
class SequenceTask:
    """Base of the battery's tasks (not a task itself)."""

    name: ClassVar[str] = ""
    in_battery: ClassVar[bool] = True        # listed by tasks() and gatelab list (a user's data set is not)
    compare_unsolved: ClassVar[bool] = False  # see TaskFacts.compare_unsolved
    unkeyed: ClassVar[tuple[str, ...]] = ()  # sizes that locate the task but do not change it: not in run keys
    # Sizes renamed since older study files were written: old name → current name (read with a FutureWarning).
    renamed: ClassVar[dict[str, str]] = {"steps": "length", "test_steps": "test_length"}
    kind: ClassVar[Literal["regression", "classification"]] = "regression"
    readout: ClassVar[Literal["last", "all"]] = "last"
    metric: ClassVar[str] = "mse"             # mse | nrmse | accuracy | cross_entropy | bits_per_char
    higher_is_better: ClassVar[bool] = False

    @property
    def input_size(self) -> int:
        raise NotImplementedError

    @property
    def output_size(self) -> int:
        raise NotImplementedError

    @property
    def trivial(self) -> float:
        """The metric of the best predictor that uses no memory of the sequence (chance level)."""
        raise NotImplementedError

    @property
    def solved_at(self) -> float:
        """The pass criterion: the metric must be below (or, if higher is better, at least) this value."""
        raise NotImplementedError

    def batch(self, size: int, generator: torch.Generator, split: str = "train") -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def reference_metrics(self) -> dict[str, float]:
        """Non-recurrent references printed beside the task's results (none by default)."""
        return {}

    def criterion(self, split: str) -> float:
        """The pass level of a metric measured on ``split``. ``solved_at`` (the test split's) for a fixed level;
        a criterion that is a reference's score (logistic regression, a trigram, persistence) is the reference's
        score on that same split — the trainer checks a run's validation metric against validation's level."""
        return self.solved_at

    def solved(self, value: float, split: str = "test") -> bool:
        level = self.criterion(split)
        return value >= level if self.higher_is_better else value < level

    def facts(self) -> TaskFacts:
        """The task's facts as plain data, for run records."""
        return TaskFacts(self.name, self.kind, self.metric, self.higher_is_better, float(self.trivial),
                         float(self.solved_at), isolates(self), self.compare_unsolved, float(self.criterion("valid")))

    # ---- loss and metric from the model's output ----------------------------------------------------------
    def loss(self, output: Tensor, target: Tensor) -> Tensor:
        """Cross-entropy over scored steps (target ≠ IGNORE), or the MSE over scored targets (not NaN): a
        washout or warm-up the model reads but is not scored on."""
        if self.kind == "classification":
            return F.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1), ignore_index=IGNORE)
        scored = ~torch.isnan(target)
        return F.mse_loss(output[scored], target[scored])

    def evaluate(self, output: Tensor, target: Tensor) -> float:
        """The task's metric of ``output`` against ``target``."""
        if self.metric == "accuracy":
            scored = target != IGNORE
            return float((output.argmax(-1) == target)[scored].float().mean())
        if self.metric in ("cross_entropy", "bits_per_char"):
            value = float(self.loss(output, target))
            return value / math.log(2) if self.metric == "bits_per_char" else value
        scored = ~torch.isnan(target)
        mse = float(F.mse_loss(output[scored], target[scored]))
        if self.metric == "nrmse":
            return math.sqrt(mse) / float(target[scored].std())
        return mse


def isolates(task: type[SequenceTask] | SequenceTask) -> str:
    """The first sentence of the task's docstring: what it isolates."""
    doc = (task.__doc__ or "").strip().replace("\n", " ")
    return " ".join(doc.split(". ")[0].split()).rstrip(".") + "."


def one_hot(indices: Tensor, classes: int) -> Tensor:
    return F.one_hot(indices, classes).to(torch.float32)
