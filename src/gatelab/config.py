"""Frozen configs, each owned by the part it configures, composed into one :class:`RunConfig` with a stable key.

Every config validates where it is defined; a study file is checked when it is loaded, so a typo such as
``reset = "afer"`` is refused with its key and a "did you mean", before any run starts. :func:`cli_option` turns a
config field into a CLI option (its default and its documented help), so the CLI states no default of its own.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import MISSING, asdict, dataclass, field, fields

from ._errors import InputError, bad_argument, check_positive_int, unknown_name
from .cells.options import CellOptions
from .tasks import SequenceTask, get_task
from .tasks.registry import current_sizes, task_class
from .train import TrainConfig

LABEL = re.compile(r"[A-Za-z0-9_.=-]+")


@dataclass(frozen=True)
class ModelConfig:
    """The recurrent model: a ``variant`` layer and a linear read-out.

    Attributes:
        variant: a registered variant.
        hidden_size: H.
        num_layers: stacked layers.
        reset: where r acts (``"before"`` or ``"after"``; ignored by variants without a learned r).
    """

    variant: str = field(default="gru", metadata={"help": "a registered variant (gatelab list)"})
    hidden_size: int = field(default=32, metadata={"help": "hidden units H"})
    num_layers: int = field(default=1, metadata={"help": "stacked layers"})
    reset: str = field(default="before", metadata={"help": "where r acts: before (the seed's) or after (cuDNN's)"})
    init: str = field(default="default", metadata={
        "help": "gate initialisation: default (PyTorch's uniform; the LSTM's forget bias 1) or chrono (Tallec & "
                "Ollivier 2018: time scales spread over [1, T])"})

    def __post_init__(self) -> None:
        self.cell_options()                                   # the variant and the reset placement, as cells check them
        check_positive_int("hidden_size", self.hidden_size)
        check_positive_int("num_layers", self.num_layers)
        if self.init not in INITS:
            raise unknown_name("init", self.init, INITS)

    def cell_options(self) -> CellOptions:
        return CellOptions(self.variant, self.reset)


@dataclass(frozen=True)
class TaskConfig:
    """A task of the battery and its sizes (``sizes`` as sorted (name, value) pairs, so the config hashes), and
    its ``label`` when one study holds the task more than once (a length sweep: ``adding_T200``) — the name its
    runs are grouped and reported under (:attr:`key`)."""

    name: str
    sizes: tuple[tuple[str, object], ...] = ()
    label: str | None = None

    def __post_init__(self) -> None:
        sizes = current_sizes(self.name, dict(self.sizes))                   # unknown names and sizes fail here
        object.__setattr__(self, "sizes", tuple(sorted((str(k), v) for k, v in sizes.items())))
        if self.label is not None and not (isinstance(self.label, str) and LABEL.fullmatch(self.label)):
            raise bad_argument(f"tasks.{self.name}.label", "letters, digits and _ . = - (it names files and anchors)",
                               self.label)
        self.build()                                                          # and invalid values here

    @property
    def key(self) -> str:
        """The task's name in its study: the label, or the task's name."""
        return self.label or self.name

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
        """The hash of the resolved config, without the task's unkeyed sizes (where a data set's copy lies: the
        same content elsewhere is the same run)."""
        data = self.to_dict()
        unkeyed = task_class(self.task.name).unkeyed
        data["task"]["sizes"] = {k: v for k, v in data["task"]["sizes"].items() if k not in unkeyed}
        text = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        """The config as plain data. A field added after a run key was first computed is left out while it has
        its default value, so that the keys of runs stored before it was added stay valid."""
        task = {"name": self.task.name, "sizes": dict(self.task.sizes),
                **({"label": self.task.label} if self.task.label is not None else {})}
        return {"task": task,
                "model": config_data(self.model, "model"), "train": config_data(self.train, "train")}

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        return cls(TaskConfig(data["task"]["name"], tuple(data["task"].get("sizes", {}).items()),
                              data["task"].get("label")),
                   strict_config(ModelConfig, data.get("model", {}), "model"),
                   strict_config(TrainConfig, data.get("train", {}), "train"))


INITS = ("default", "chrono")
# Fields added to a config after keys were stored, with the default that older runs had implicitly.
LATE_FIELDS = {"model": {"init": "default"}, "train": {"stop_at_criterion": False, "restore_best": False}}


def config_data(config, section: str) -> dict:
    """A model or train config as plain data, late fields at their default left out (see :data:`LATE_FIELDS`)."""
    late = LATE_FIELDS[section]
    return {k: v for k, v in asdict(config).items() if not (k in late and v == late[k])}


def strict_config(cls, values: dict, section: str):
    """Build a config dataclass from a dict, rejecting unknown keys with the close matches; an invalid value is
    reported under its dotted key (``model.reset: expected …``)."""
    known = [f.name for f in fields(cls)]
    for key in values:
        if key not in known:
            raise unknown_name(f"{section}.{key}", key, known)
    try:
        return cls(**values)
    except InputError as error:
        if error.argument in known:
            raise type(error)(f"{section}.{error}", f"{section}.{error.argument}") from None
        raise


def cli_option(cls, name: str) -> dict:
    """``add_argument`` keywords for the config field ``name``: its default and its help (with the default)."""
    (spec,) = [f for f in fields(cls) if f.name == name]
    default = spec.default if spec.default is not MISSING else None
    text = spec.metadata.get("help", name.replace("_", " "))
    return {"default": default, "help": f"{text} (default: {default})" if default is not None else text}
