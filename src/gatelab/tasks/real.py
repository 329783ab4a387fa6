"""Real data that ships with installed packages: sklearn's digits and the text of Python's own help topics."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Literal

import torch
from torch import Tensor

from .._errors import bad_argument
from .base import SequenceTask, checked_stream, one_hot


@cache
def _digits() -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    from sklearn.datasets import load_digits  # the lab's optional dependency, imported where used

    data = load_digits()
    images = torch.tensor(data.images, dtype=torch.float32) / 16.0           # (N, 8, 8)
    labels = torch.tensor(data.target, dtype=torch.long)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    cut1, cut2 = int(0.7 * len(order)), int(0.85 * len(order))
    return images, labels, {"train": order[:cut1], "valid": order[cut1:cut2], "test": order[cut2:]}


@dataclass(frozen=True)
class DigitsTask(SequenceTask):
    """Isolates nothing in particular — a real-data control: classify sklearn's 8×8 digits read as a sequence.

    ``mode="rows"``: 8 steps of 8 pixels; ``"pixels"``: 64 steps of one pixel (a long-range version). Fixed
    70/15/15 split. Metric: accuracy; chance 0.1; solved at 0.9. :meth:`logistic_regression_accuracy` gives the
    accuracy of logistic regression on the flat image, printed beside it.
    """

    name = "digits"
    kind = "classification"
    metric = "accuracy"
    higher_is_better = True
    mode: Literal["rows", "pixels"] = "rows"

    def __post_init__(self) -> None:
        if self.mode not in ("rows", "pixels"):
            raise bad_argument("mode", "'rows' or 'pixels'", self.mode)

    input_size = property(lambda self: 8 if self.mode == "rows" else 1)
    output_size = property(lambda self: 10)
    trivial = property(lambda self: 0.1)
    solved_at = property(lambda self: 0.9)

    def batch(self, size: int, generator: torch.Generator, split: str = "train") -> tuple[Tensor, Tensor]:
        """x (B, 8, 8) or (B, 64, 1), y (B,). A size at least the split's returns the whole split, in order."""
        g = checked_stream(generator, split)                                 # also checks the split's name
        images, labels, splits = _digits()
        index = splits[split]
        if size < len(index):
            index = index[torch.randperm(len(index), generator=g)[:size]]
        x = images[index]
        return (x if self.mode == "rows" else x.reshape(len(index), 64, 1)), labels[index]

    def reference_metrics(self) -> dict[str, float]:
        return {"logistic regression on the flat image": self.logistic_regression_accuracy()}

    def logistic_regression_accuracy(self) -> float:
        """Test accuracy of logistic regression on the flat 64-pixel image (the non-sequential reference)."""
        return _logistic_regression_accuracy()


@cache
def _logistic_regression_accuracy() -> float:
    from sklearn.linear_model import LogisticRegression

    images, labels, splits = _digits()
    flat = images.reshape(len(labels), -1).numpy()
    model = LogisticRegression(max_iter=2000).fit(flat[splits["train"]], labels[splits["train"]].numpy())
    return float(model.score(flat[splits["test"]], labels[splits["test"]].numpy()))


@cache
def _text() -> tuple[str, tuple[str, ...]]:
    from pydoc_data.topics import topics

    text = "".join(topics[key] for key in sorted(topics))
    return text, tuple(sorted(set(text)))


@dataclass(frozen=True)
class CharLMTask(SequenceTask):
    """Isolates nothing in particular — a realistic mixture: character-level language modelling of the text of
    Python's help topics (``pydoc_data.topics``, about 465k characters, shipped with Python).

    Fixed 90/5/5 split in order; a batch is random windows of ``length`` characters (input one-hot, target the
    next character at every step). Metric: bits per character; the trivial level is the entropy of the training
    text's character frequencies (a memoryless model); solved at one bit below it.
    """

    name = "charlm"
    kind = "classification"
    readout = "all"
    metric = "bits_per_char"
    length: int = 100

    input_size = property(lambda self: len(_text()[1]))
    output_size = property(lambda self: len(_text()[1]))
    solved_at = property(lambda self: self.trivial - 1.0)

    def encoded(self, split: str) -> Tensor:
        text, vocab = _text()
        codes = _encode(text, vocab)
        cut1, cut2 = int(0.9 * len(codes)), int(0.95 * len(codes))
        return {"train": codes[:cut1], "valid": codes[cut1:cut2], "test": codes[cut2:]}[split]

    @property
    def trivial(self) -> float:
        counts = Counter(self.encoded("train").tolist())
        total = sum(counts.values())
        return -sum(c / total * math.log2(c / total) for c in counts.values())

    def batch(self, size: int, generator: torch.Generator, split: str = "train") -> tuple[Tensor, Tensor]:
        """x (B, T, V) one-hot, y (B, T) next-character classes."""
        g = checked_stream(generator, split)
        codes = self.encoded(split)
        starts = torch.randint(0, len(codes) - self.length - 1, (size,), generator=g)
        windows = codes[starts.unsqueeze(1) + torch.arange(self.length + 1)]
        return one_hot(windows[:, :-1], self.input_size), windows[:, 1:]


@cache
def _encode(text: str, vocab: tuple[str, ...]) -> Tensor:
    lookup = {ch: i for i, ch in enumerate(vocab)}
    return torch.tensor([lookup[ch] for ch in text], dtype=torch.long)
