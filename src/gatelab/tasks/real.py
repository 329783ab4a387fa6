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

    ``mode="rows"``: 8 steps of 8 pixels; ``"pixels"``: 64 steps of one pixel (a long-range version);
    ``"permuted"``: the 64 pixels in a fixed random order (the permuted-pixel benchmark's point: no locality to
    lean on). Fixed 70/15/15 split. Metric: accuracy; chance 0.1; solved at the accuracy of logistic regression
    on the flat image on the same split (:meth:`logistic_regression_accuracy`): a recurrent model passes when it
    does at least as well as the non-sequential reference.
    """

    name = "digits"
    kind = "classification"
    metric = "accuracy"
    higher_is_better = True
    mode: Literal["rows", "pixels", "permuted"] = "rows"

    def __post_init__(self) -> None:
        if self.mode not in ("rows", "pixels", "permuted"):
            raise bad_argument("mode", "'rows', 'pixels' or 'permuted'", self.mode)

    input_size = property(lambda self: 8 if self.mode == "rows" else 1)
    output_size = property(lambda self: 10)
    trivial = property(lambda self: 0.1)
    solved_at = property(lambda self: self.logistic_regression_accuracy())

    def batch(self, size: int, generator: torch.Generator, split: str = "train") -> tuple[Tensor, Tensor]:
        """x (B, 8, 8) or (B, 64, 1), y (B,). A size at least the split's returns the whole split, in order."""
        g = checked_stream(generator, split)                                 # also checks the split's name
        images, labels, splits = _digits()
        index = splits[split]
        if size < len(index):
            index = index[torch.randperm(len(index), generator=g)[:size]]
        return images[index].reshape(len(index), 64)[:, self.pixel_order()], labels[index]

    def pixel_order(self) -> Tensor:
        """(steps, inputs): which pixel of the flat image (row-major, 0…63) input k carries at step t."""
        if self.mode == "rows":
            return torch.arange(64).reshape(8, 8)
        if self.mode == "permuted":
            return torch.randperm(64, generator=torch.Generator().manual_seed(64)).reshape(64, 1)
        return torch.arange(64).reshape(64, 1)

    def reference_metrics(self) -> dict[str, float]:
        return {"logistic regression on the flat image": self.logistic_regression_accuracy()}

    def criterion(self, split: str) -> float:
        return self.logistic_regression_accuracy(split)

    def logistic_regression_accuracy(self, split: str = "test") -> float:
        """Accuracy on ``split`` of logistic regression on the flat 64-pixel image, fitted on the training split
        (the non-sequential reference)."""
        return _logistic_regression()[2][split]

    def logistic_regression(self) -> tuple[Tensor, Tensor]:
        """The reference's fitted weights (10, 64) over the flat image and intercepts (10,)."""
        return _logistic_regression()[:2]


@cache
def _logistic_regression() -> tuple[Tensor, Tensor, dict[str, float]]:
    from sklearn.linear_model import LogisticRegression

    images, labels, splits = _digits()
    flat = images.reshape(len(labels), -1).numpy()
    model = LogisticRegression(max_iter=2000).fit(flat[splits["train"]], labels[splits["train"]].numpy())
    return (torch.tensor(model.coef_, dtype=torch.float64), torch.tensor(model.intercept_, dtype=torch.float64),
            {s: float(model.score(flat[splits[s]], labels[splits[s]].numpy())) for s in ("valid", "test")})


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
    text's character frequencies (a memoryless model); solved below the bits per character of an interpolated
    trigram model fitted on the training text (:meth:`ngram_bits_per_char`, n = 3, its interpolation weights
    chosen on the validation text) — a recurrent model passes when its memory beats two characters of context.
    """

    name = "charlm"
    kind = "classification"
    readout = "all"
    metric = "bits_per_char"
    length: int = 100

    input_size = property(lambda self: len(_text()[1]))
    output_size = property(lambda self: len(_text()[1]))
    solved_at = property(lambda self: self.ngram_bits_per_char())

    def criterion(self, split: str) -> float:
        return self.ngram_bits_per_char(split)

    def ngram_bits_per_char(self, split: str = "test") -> float:
        """Bits per character on ``split`` of the interpolated trigram model (the criterion)."""
        return _ngram_bits_per_char(3)[split]

    def reference_metrics(self) -> dict[str, float]:
        return {"interpolated trigram, bits per character": self.ngram_bits_per_char()}

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
def _ngram_bits_per_char(n: int) -> dict[str, float]:
    """Jelinek–Mercer interpolation of the 1 … n-gram maximum-likelihood estimates (the unigram add-one smoothed),
    the weights chosen from a small grid on the validation text; bits per character on the validation and the
    test text. Every prediction uses only the characters before it in its own split."""
    task = CharLMTask()
    splits = {s: task.encoded(s).tolist() for s in ("train", "valid", "test")}
    vocab = task.input_size
    counts = [Counter() for _ in range(n + 1)]                          # counts[k][(context..., char)]
    train = splits["train"]
    for k in range(1, n + 1):
        counts[k].update(tuple(train[i - k + 1:i + 1]) for i in range(k - 1, len(train)))
    contexts = [Counter() for _ in range(n + 1)]
    for k in range(2, n + 1):
        for gram, c in counts[k].items():
            contexts[k][gram[:-1]] += c
    total = len(train)

    def probabilities(codes: list[int]) -> list[list[float]]:
        out = []
        for i, ch in enumerate(codes):
            levels = [(counts[1][(ch,)] + 1) / (total + vocab)]
            for k in range(2, n + 1):
                if i - k + 1 < 0:
                    levels.append(levels[-1])
                    continue
                context = tuple(codes[i - k + 1:i])
                seen = contexts[k][context]
                levels.append(counts[k][context + (ch,)] / seen if seen else levels[-1])
            out.append(levels)
        return out

    def bits(levels: list[list[float]], weights: tuple[float, ...]) -> float:
        return -sum(math.log2(sum(w * p for w, p in zip(weights, ps))) for ps in levels) / len(levels)

    grid = [(a, b, 1.0 - a - b) for a in (0.02, 0.05, 0.1) for b in (0.1, 0.2, 0.3, 0.4)]
    valid = probabilities(splits["valid"])
    best = min(grid, key=lambda w: bits(valid, w))
    return {"valid": bits(valid, best), "test": bits(probabilities(splits["test"]), best)}


@cache
def _encode(text: str, vocab: tuple[str, ...]) -> Tensor:
    lookup = {ch: i for i, ch in enumerate(vocab)}
    return torch.tensor([lookup[ch] for ch in text], dtype=torch.long)
