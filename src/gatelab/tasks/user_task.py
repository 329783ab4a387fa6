"""A user's sequences as a task of the battery (``gatelab explain --data``): the split, the standardisation, the
metric, the trivial level, and the non-recurrent reference that sets the criterion."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor
from torch.nn.utils.rnn import pack_sequence

from .._errors import InputError
from .base import SequenceTask, checked_stream
from .user_data import SPLIT_FRACTIONS, SPLIT_NAMES, SequenceData, load_normalised


@dataclass(frozen=True)
class Prepared:
    """The split and standardised sequences (float32 tensors) and labels, per split, and the reference's score."""

    x: dict[str, list[Tensor]]
    y: dict[str, Tensor]
    reference: float
    trivial: float
    balanced_reference: float | None
    reference_valid: float = float("nan")        # the reference's score on the validation split


@dataclass(frozen=True)
class DataTask(SequenceTask):
    """Isolates nothing chosen in advance: the user's own sequences, to ask whether this task needs the gates.

    A stratified 70/15/15 split (fixed seed) or the user's split column; standardisation fitted on the training
    sequences only; variable lengths packed, never padded into the loss. Metric: accuracy (classification) or
    NRMSE (regression). The criterion is the score of a non-recurrent reference fitted on the same training
    split — logistic regression (classification) or ridge regression on summary features (each feature's mean,
    std, min, max and last value): a recurrent unit passes when it beats a bag-of-features model.
    """

    name = "data"
    readout = "last"
    store: str = ""                  # the study's normalised copy (data-<digest>.npz); not part of the run key
    digest: str = ""                 # the content hash: what the run key holds
    seed: int = 0                    # the split's seed
    unkeyed: ClassVar[tuple[str, ...]] = ("store",)
    in_battery: ClassVar[bool] = False
    compare_unsolved: ClassVar[bool] = True      # no criterion chosen in advance: compare on the metric

    def __post_init__(self) -> None:
        if not self.store or not self.digest:
            raise InputError("data: expected a data set (gatelab explain --data FILE), got none", "data")

    @property
    def data(self) -> SequenceData:
        return _load(self.store, self.digest)

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.data.kind

    @property
    def metric(self) -> str:  # type: ignore[override]
        return "accuracy" if self.kind == "classification" else "nrmse"

    @property
    def higher_is_better(self) -> bool:  # type: ignore[override]
        return self.kind == "classification"

    input_size = property(lambda self: self.data.input_size)
    output_size = property(lambda self: len(self.data.classes) if self.kind == "classification" else 1)
    trivial = property(lambda self: _prepare(self.store, self.digest, self.seed).trivial)
    solved_at = property(lambda self: _prepare(self.store, self.digest, self.seed).reference)

    def criterion(self, split: str) -> float:
        prepared = _prepare(self.store, self.digest, self.seed)
        return prepared.reference_valid if split == "valid" else prepared.reference

    def reference_metrics(self) -> dict[str, float]:
        prepared = _prepare(self.store, self.digest, self.seed)
        model = "logistic regression" if self.kind == "classification" else "ridge regression"
        out = {f"{model} on summary features ({self.metric}; the criterion)": prepared.reference}
        if prepared.balanced_reference is not None:
            out[f"{model}, balanced accuracy"] = prepared.balanced_reference
        return out

    def batch(self, size: int, generator: torch.Generator, split: str = "train"):
        """x: a PackedSequence (or a (B, T, I) tensor when every sequence has one length), y (B,) or (B, 1). A
        size at least the split's returns the whole split, in order."""
        g = checked_stream(generator, split)
        prepared = _prepare(self.store, self.digest, self.seed)
        xs, y = prepared.x[split], prepared.y[split]
        index = torch.arange(len(xs))
        if size < len(xs):
            index = torch.randint(0, len(xs), (size,), generator=g)
        chosen = [xs[i] for i in index.tolist()]
        target = y[index]
        if len({len(s) for s in chosen}) == 1:
            return torch.stack(chosen), target
        return pack_sequence(chosen, enforce_sorted=False), target


@cache
def _load(store: str, digest: str) -> SequenceData:
    data = load_normalised(store)
    if data.digest() != digest:
        raise InputError(f"data: expected the data set {digest}, got {data.digest()} in {store!r} (the study's copy "
                         "was changed)", "data")
    return data


def split_indices(data: SequenceData, seed: int) -> dict[str, np.ndarray]:
    """The user's split, or a stratified (by class) 70/15/15 split with a fixed seed."""
    if data.split is not None:
        parts = np.array(data.split)
        return {name: np.flatnonzero(parts == name) for name in SPLIT_NAMES}
    from sklearn.model_selection import train_test_split

    everything = np.arange(len(data.x))
    stratify = data.y if data.kind == "classification" else None
    train, rest = train_test_split(everything, train_size=SPLIT_FRACTIONS[0], random_state=seed, stratify=stratify)
    valid, test = train_test_split(rest, test_size=0.5, random_state=seed,
                                   stratify=None if stratify is None else data.y[rest])
    return {"train": np.sort(train), "valid": np.sort(valid), "test": np.sort(test)}


def summary_features(sequences: list[np.ndarray]) -> np.ndarray:
    """Per sequence: each feature's mean, std, min, max and last value (the bag-of-features reference's input)."""
    return np.stack([np.concatenate([s.mean(0), s.std(0), s.min(0), s.max(0), s[-1]]) for s in sequences])


@cache
def _prepare(store: str, digest: str, seed: int) -> Prepared:
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = _load(store, digest)
    parts = split_indices(data, seed)
    train = np.concatenate([data.x[i] for i in parts["train"]])
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > 0, std, 1.0)                          # a constant feature stays as it is
    x = {name: [torch.tensor((data.x[i] - mean) / std, dtype=torch.float32) for i in idx]
         for name, idx in parts.items()}
    features = {name: summary_features([s.numpy().astype(np.float64) for s in x[name]]) for name in parts}
    labels = {name: data.y[idx] for name, idx in parts.items()}
    if data.kind == "classification":
        y = {name: torch.tensor(v, dtype=torch.long) for name, v in labels.items()}
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        model.fit(features["train"], labels["train"])
        predicted = model.predict(features["test"])
        reference = float((predicted == labels["test"]).mean())
        reference_valid = float((model.predict(features["valid"]) == labels["valid"]).mean())
        balanced = float(balanced_accuracy_score(labels["test"], predicted))
        trivial = float((labels["test"] == np.bincount(labels["train"]).argmax()).mean())
    else:
        y = {name: torch.tensor(v, dtype=torch.float32).reshape(-1, 1) for name, v in labels.items()}
        model = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(features["train"], labels["train"])

        def nrmse(split: str) -> float:
            error = model.predict(features[split]) - labels[split]
            return float(np.sqrt((error ** 2).mean()) / (labels[split].std(ddof=1) or 1.0))   # as the task's NRMSE

        reference, reference_valid = nrmse("test"), nrmse("valid")
        scale = labels["test"].std(ddof=1) or 1.0
        trivial = float(np.sqrt(((labels["test"] - labels["train"].mean()) ** 2).mean()) / scale)
        balanced = None
    return Prepared(x, y, reference, trivial, balanced, reference_valid)
