"""Frozen configs, each owned by the part it configures, composed into one :class:`RunConfig` with a stable key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields

from ._errors import check_positive_int, unknown_name
from .registry import get_task, get_variant
from .tasks import SequenceTask
from .train import TrainConfig


@dataclass(frozen=True)
class ModelConfig:
    """The recurrent model: a ``variant`` layer and a linear read-out.

    Attributes:
        variant: a registered variant.
        hidden_size: H.
        num_layers: stacked layers.
        reset: where r acts (``"before"`` or ``"after"``; ignored by variants without a learned r).
    """

    variant: str = "gru"
    hidden_size: int = 32
    num_layers: int = 1
    reset: str = "before"

    def __post_init__(self) -> None:
        get_variant(self.variant)
        check_positive_int("hidden_size", self.hidden_size)
        check_positive_int("num_layers", self.num_layers)


@dataclass(frozen=True)
class TaskConfig:
    """A task of the battery and its sizes (``sizes`` as sorted (name, value) pairs, so the config hashes)."""

    name: str
    sizes: tuple[tuple[str, object], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", tuple(sorted((str(k), v) for k, v in dict(self.sizes).items())))
        self.build()                                                          # unknown names and sizes fail here

    def build(self) -> SequenceTask:
        return get_task(self.name, **dict(self.sizes))


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one run; its :attr:`key` is the hash of the resolved config."""

    task: TaskConfig
    model: ModelConfig
    train: TrainConfig = field(default_factory=TrainConfig)

    @property
    def key(self) -> str:
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        return {"task": {"name": self.task.name, "sizes": dict(self.task.sizes)},
                "model": asdict(self.model), "train": asdict(self.train)}

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        return cls(TaskConfig(data["task"]["name"], tuple(data["task"].get("sizes", {}).items())),
                   strict_config(ModelConfig, data.get("model", {}), "model"),
                   strict_config(TrainConfig, data.get("train", {}), "train"))


def strict_config(cls, values: dict, section: str):
    """Build a config dataclass from a dict, rejecting unknown keys with the close matches."""
    known = [f.name for f in fields(cls)]
    for key in values:
        if key not in known:
            raise unknown_name(f"{section}.{key}", key, known)
    return cls(**values)
