"""A study as data: variants × tasks × seeds × settings, from a preset (``studies/*.toml``) or a user file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path

from .._errors import InputError, bad_argument, unknown_name
from ..config import ModelConfig, RunConfig, TaskConfig, config_data, strict_config
from ..layers import SequenceModel
from ..registry import get_variant, variants
from ..train import TrainConfig

STUDY_KEYS = ("name", "variants", "seeds", "match_params", "learning_rates", "model", "train", "tasks", "primary",
              "primary_seeds")


@dataclass(frozen=True)
class PrimaryFamily:
    """A family of primary comparisons declared in a study file (``[[primary]]``): these variants against
    ``gru`` on these tasks, corrected together with Holm; every other comparison is exploratory
    (Benjamini–Hochberg). E.g. the "z question": ``gru_no_update`` and ``gru_no_carry`` on the long-lag tasks."""

    name: str
    variants: tuple[str, ...]
    tasks: tuple[str, ...]

    def contains(self, task: str, variant: str) -> bool:
        return task in self.tasks and variant in self.variants

    def to_dict(self) -> dict:
        return {"name": self.name, "variants": list(self.variants), "tasks": list(self.tasks)}

    @classmethod
    def from_dict(cls, data: dict) -> PrimaryFamily:
        unknown = set(data) - {"name", "variants", "tasks"}
        if unknown:
            raise unknown_name("primary key", sorted(unknown)[0], ["name", "tasks", "variants"])
        if not data.get("name") or not data.get("variants") or not data.get("tasks"):
            raise bad_argument("primary", "a table with a name, variants and tasks", data)
        return cls(str(data["name"]), tuple(data["variants"]), tuple(data["tasks"]))


@dataclass(frozen=True)
class StudySpec:
    """Attributes:
        name: the study's name (stored with every run).
        variants: the variants compared (``gru`` is the reference of every paired comparison).
        tasks: the tasks, with their sizes.
        seeds: seeds per (variant, task); run i uses seed i.
        primary_seeds: seeds for the declared primary comparisons (their variants and gru on their tasks), when
            more than ``seeds`` — where the answer needs its power; None: ``seeds`` everywhere.
        model: hidden size, layers and reset placement of the ``gru`` (others follow, see ``match_params``).
        train: the training config of every run (its seed is replaced per run).
        match_params: choose each variant's hidden size so that its parameter count is closest to the ``gru``'s
            on the same task (Chung et al. 2014), instead of the same hidden size.
        learning_rates: a grid; when given, every variant is trained at each rate and the report compares each
            variant at its best rate by the validation metric (so no variant loses by an ill-suited rate).
        budgets: per task, its own step budget (a task table's ``budget = N``) in place of ``train.steps``: long-lag
            tasks need more steps than the others for the reference ``gru`` to meet their criterion.
    """

    name: str
    variants: tuple[str, ...]
    tasks: tuple[TaskConfig, ...]
    seeds: int = 2
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    match_params: bool = True
    learning_rates: tuple[float, ...] = ()
    primary: tuple[PrimaryFamily, ...] = ()
    primary_seeds: int | None = None
    budgets: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        for v in self.variants:
            get_variant(v)
        names = {t.name for t in self.tasks}
        for family in self.primary:
            for v in family.variants:
                if v not in self.variants:
                    raise unknown_name(f"primary {family.name!r} variant", v, self.variants)
            for t in family.tasks:
                if t not in names:
                    raise unknown_name(f"primary {family.name!r} task", t, sorted(names))
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 1:
            raise bad_argument("seeds", "a positive int", self.seeds)
        for task, budget in self.budgets:
            if task not in names:
                raise unknown_name("budget task", task, sorted(names))
            if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
                raise bad_argument(f"tasks.{task}.budget", "a positive int (training steps)", budget)
        if self.primary_seeds is not None and (isinstance(self.primary_seeds, bool) or not isinstance(
                self.primary_seeds, int) or self.primary_seeds < 1):
            raise bad_argument("primary_seeds", "a positive int", self.primary_seeds)

    # ---- the study-file format: written and read here only ----------------------------------------------
    def to_dict(self) -> dict:
        """The spec as plain data, in the shape of a study file (what the store keeps as its spec)."""
        return {"name": self.name, "variants": list(self.variants), "seeds": self.seeds,
                "match_params": self.match_params, "learning_rates": list(self.learning_rates),
                "model": config_data(self.model, "model"), "train": config_data(self.train, "train"),
                "tasks": [{"name": t.name, **dict(t.sizes),
                           **({"budget": self.budget(t.name)} if t.name in dict(self.budgets) else {})}
                          for t in self.tasks],
                **({"primary": [f.to_dict() for f in self.primary]} if self.primary else {}),
                **({"primary_seeds": self.primary_seeds} if self.primary_seeds is not None else {})}

    @classmethod
    def from_dict(cls, data: dict, default_name: str = "study") -> StudySpec:
        """A spec from a study file's data; unknown keys and invalid values are refused by their dotted key."""
        for key in data:
            if key not in STUDY_KEYS:
                raise unknown_name("study key", key, sorted(STUDY_KEYS))
        task_list = data.get("tasks", [])
        if not task_list:
            raise bad_argument("tasks", "at least one [[tasks]] table", task_list)
        tasks = tuple(TaskConfig(t["name"], tuple((k, v) for k, v in t.items() if k not in ("name", "budget")))
                      for t in task_list)
        budgets = tuple((t["name"], t["budget"]) for t in task_list if "budget" in t)
        model = strict_config(ModelConfig, data.get("model", {}), "model")
        train = strict_config(TrainConfig, data.get("train", {}), "train")
        chosen = data.get("variants", "all")
        chosen = variants() if chosen == "all" else chosen
        return cls(data.get("name", default_name), tuple(chosen), tasks, data.get("seeds", 2), model, train,
                   data.get("match_params", True), tuple(data.get("learning_rates", ())),
                   tuple(PrimaryFamily.from_dict(f) for f in data.get("primary", ())), data.get("primary_seeds"),
                   budgets)

    def runs(self) -> list[RunConfig]:
        """Every run of the study, ``gru`` first within each (task, seed) so paired comparisons fill early."""
        ordered = sorted(self.variants, key=lambda v: v != "gru")
        runs = []
        for task in self.tasks:
            for seed in range(max(self.seeds, self.primary_seeds or 0)):
                for variant in ordered:
                    if seed >= self.seeds and not self.primary_run(task.name, variant):
                        continue
                    hidden = self.model.hidden_size
                    if self.match_params and variant != "gru":
                        hidden = matched_hidden_size(variant, task, self.model)
                    model = replace(self.model, variant=variant, hidden_size=hidden)
                    for rate in self.learning_rates or (self.train.learning_rate,):
                        train = replace(self.train, seed=seed, learning_rate=rate, steps=self.budget(task.name))
                        runs.append(RunConfig(task, model, train))
        return runs

    def budget(self, task: str) -> int:
        """The training-step budget of ``task``'s runs."""
        return dict(self.budgets).get(task, self.train.steps)

    def primary_run(self, task: str, variant: str) -> bool:
        """Whether (task, variant) takes part in a primary comparison (gru does, on a primary family's task)."""
        return any(f.contains(task, variant) or (variant == "gru" and task in f.tasks) for f in self.primary)

    def restricted(self, variants: list[str] | None = None, tasks: list[str] | None = None,
                   seeds: int | None = None) -> StudySpec:
        """The same study on a subset of its variants / tasks, or another number of seeds."""
        chosen = self.tasks
        if tasks:
            known = [t.name for t in self.tasks]
            for name in tasks:
                if name not in known:
                    raise unknown_name("--tasks", name, known)
            chosen = tuple(t for t in self.tasks if t.name in tasks)
        kept_variants = tuple(variants) if variants else self.variants
        names = {t.name for t in chosen}
        primary = tuple(f for f in (replace(f, variants=tuple(v for v in f.variants if v in kept_variants),
                                            tasks=tuple(t for t in f.tasks if t in names)) for f in self.primary)
                        if f.variants and f.tasks)
        return replace(self, variants=kept_variants, tasks=chosen, seeds=self.seeds if seeds is None else seeds,
                       primary=primary, budgets=tuple((t, b) for t, b in self.budgets if t in names))


def parameter_count(variant: str, task: TaskConfig, model: ModelConfig, hidden: int) -> int:
    built = task.build()
    net = SequenceModel(variant, built.input_size, hidden, built.output_size, num_layers=model.num_layers,
                        reset=model.reset)
    return sum(p.numel() for p in net.parameters())


@cache                                    # every seed of a study asks again; the answer depends on these three
def matched_hidden_size(variant: str, task: TaskConfig, model: ModelConfig) -> int:
    """The hidden size whose parameter count is closest to the ``gru``'s at ``model.hidden_size``."""
    target = parameter_count("gru", task, model, model.hidden_size)
    high = model.hidden_size
    while parameter_count(variant, task, model, high) < target and high < 4096:   # no cap below the target:
        high *= 2                                                    # min_gru may need many more units than gru
    low = 1
    while low < high:                                                         # smallest H with count ≥ target
        mid = (low + high) // 2
        if parameter_count(variant, task, model, mid) < target:
            low = mid + 1
        else:
            high = mid
    below = max(1, low - 1)
    return min((below, low), key=lambda h: abs(parameter_count(variant, task, model, h) - target))


def presets() -> list[str]:
    """The names of the study presets that ship with gatelab (package data)."""
    return sorted(p.name.removesuffix(".toml") for p in resources.files("gatelab.studies").iterdir()
                  if p.name.endswith(".toml"))


def load_study(source: str | Path, tasks: list[dict] | None = None) -> StudySpec:
    """A preset name (``quick``, ``standard``, ``full``, ``data``) or the path of a TOML study file; ``tasks``
    (``[{"name": …, size: …}]``) replaces the file's tasks — how ``--data`` puts a user's data set in."""
    path = Path(source)
    if not path.suffix:
        if str(source) not in presets():
            raise unknown_name("preset", source, presets())
        text = resources.files("gatelab.studies").joinpath(f"{source}.toml").read_text()
        where = f"preset {source!r}"
    else:
        if not path.exists():
            raise bad_argument("study", "an existing TOML file", str(path))
        text, where = path.read_text(), str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"study: expected a TOML study file, got {where} ({error})", "study") from None
    if tasks is not None:
        data = {**data, "tasks": tasks}
    try:
        return StudySpec.from_dict(data, default_name=path.stem)
    except InputError as error:
        raise type(error)(f"{where}: {error}", error.argument) from None
