"""A study as data: variants × tasks × seeds × settings, from a preset (``studies/*.toml``) or a user file."""

from __future__ import annotations

import math
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path

from .._errors import InputError, bad_argument, unknown_name
from ..config import INITS, ModelConfig, RunConfig, TaskConfig, config_data, strict_config
from ..layers import SequenceModel
from ..registry import get_variant, variants
from ..train import TrainConfig

STUDY_KEYS = ("name", "variants", "seeds", "match_params", "learning_rates", "model", "train", "tasks", "primary",
              "primary_seeds", "tune_seeds")
TASK_KEYS = ("name", "label", "budget", "inits", "hidden_size")   # a task table's own keys; the rest: its sizes


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
        inits: per task, the gate initialisations tried (a task table's ``inits = ["default", "chrono"]``) for the
            variants that have a gate chrono initialisation sets (the others run at ``default`` only): so that a
            variant that fails at both can be told from one that was badly initialised.
        hidden_sizes: per task, its own ``gru`` hidden size (a task table's ``hidden_size = N``) in place of
            ``model.hidden_size`` — character modelling needs H ≥ 128 where the synthetic tasks are solved at 32;
            the other variants are matched to the gru's parameter count at that size.
        tune_seeds: when set, every configuration (learning rate × init) runs on seeds below it only; the other
            seeds of a (task, variant) run at the configuration that did best on validation over those tuning
            seeds (:func:`chosen_configuration`), once they have all finished. None: every seed at every
            configuration.
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
    inits: tuple[tuple[str, tuple[str, ...]], ...] = ()
    tune_seeds: int | None = None
    hidden_sizes: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        for v in self.variants:
            get_variant(v)
        names = {t.key for t in self.tasks}
        twice = sorted(key for key, n in Counter(t.key for t in self.tasks).items() if n > 1)
        if twice:
            raise bad_argument("tasks", "each task once, or a label = \"…\" for each entry of a task held more "
                               "than once (a length sweep)", f"{twice[0]} more than once")
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
        for task, chosen in self.inits:
            if task not in names:
                raise unknown_name("inits task", task, sorted(names))
            if not chosen or len(set(chosen)) != len(chosen):
                raise bad_argument(f"tasks.{task}.inits", "a list of distinct initialisations", list(chosen))
            for init in chosen:
                if init not in INITS:
                    raise unknown_name(f"tasks.{task}.inits", init, INITS)
        for task, hidden in self.hidden_sizes:
            if task not in names:
                raise unknown_name("hidden_size task", task, sorted(names))
            if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
                raise bad_argument(f"tasks.{task}.hidden_size", "a positive int (the gru's hidden units)", hidden)
        if self.tune_seeds is not None and (isinstance(self.tune_seeds, bool) or not isinstance(
                self.tune_seeds, int) or self.tune_seeds < 1):
            raise bad_argument("tune_seeds", "a positive int", self.tune_seeds)

    # ---- the study-file format: written and read here only ----------------------------------------------
    def to_dict(self) -> dict:
        """The spec as plain data, in the shape of a study file (what the store keeps as its spec)."""
        return {"name": self.name, "variants": list(self.variants), "seeds": self.seeds,
                "match_params": self.match_params, "learning_rates": list(self.learning_rates),
                "model": config_data(self.model, "model"), "train": config_data(self.train, "train"),
                "tasks": [{"name": t.name, **({"label": t.label} if t.label is not None else {}), **dict(t.sizes),
                           **({"budget": self.budget(t.key)} if t.key in dict(self.budgets) else {}),
                           **({"inits": list(dict(self.inits)[t.key])} if t.key in dict(self.inits) else {}),
                           **({"hidden_size": dict(self.hidden_sizes)[t.key]} if t.key in dict(self.hidden_sizes)
                              else {})}
                          for t in self.tasks],
                **({"primary": [f.to_dict() for f in self.primary]} if self.primary else {}),
                **({"primary_seeds": self.primary_seeds} if self.primary_seeds is not None else {}),
                **({"tune_seeds": self.tune_seeds} if self.tune_seeds is not None else {})}

    @classmethod
    def from_dict(cls, data: dict, default_name: str = "study") -> StudySpec:
        """A spec from a study file's data; unknown keys and invalid values are refused by their dotted key."""
        for key in data:
            if key not in STUDY_KEYS:
                raise unknown_name("study key", key, sorted(STUDY_KEYS))
        task_list = data.get("tasks", [])
        if not task_list:
            raise bad_argument("tasks", "at least one [[tasks]] table", task_list)
        tasks = tuple(TaskConfig(t["name"], tuple((k, v) for k, v in t.items() if k not in TASK_KEYS), t.get("label"))
                      for t in task_list)
        keys = [t.key for t in tasks]
        budgets = tuple((key, t["budget"]) for key, t in zip(keys, task_list) if "budget" in t)
        for key, t in zip(keys, task_list):
            if "inits" in t and not isinstance(t["inits"], list):
                raise bad_argument(f"tasks.{key}.inits", "a list such as [\"default\", \"chrono\"]", t["inits"])
        inits = tuple((key, tuple(t["inits"])) for key, t in zip(keys, task_list) if "inits" in t)
        hidden_sizes = tuple((key, t["hidden_size"]) for key, t in zip(keys, task_list) if "hidden_size" in t)
        model = strict_config(ModelConfig, data.get("model", {}), "model")
        train = strict_config(TrainConfig, data.get("train", {}), "train")
        chosen = data.get("variants", "all")
        chosen = variants() if chosen == "all" else chosen
        return cls(data.get("name", default_name), tuple(chosen), tasks, data.get("seeds", 2), model, train,
                   data.get("match_params", True), tuple(data.get("learning_rates", ())),
                   tuple(PrimaryFamily.from_dict(f) for f in data.get("primary", ())), data.get("primary_seeds"),
                   budgets, inits, data.get("tune_seeds"), hidden_sizes)

    def runs(self, records: Iterable = ()) -> list[RunConfig]:
        """Every run of the study known so far, ``gru`` first within each (task, seed) so paired comparisons fill
        early. With ``tune_seeds``, the runs of the later seeds of a (task, variant) are known once its tuning
        runs are among ``records`` (finished :class:`~gatelab.study.record.RunRecord`); until then they are
        left out."""
        ordered = sorted(self.variants, key=lambda v: v != "gru")
        by_pair: dict[tuple[str, str], list] = {}
        for r in records:
            by_pair.setdefault((r.task, r.variant), []).append(r)
        runs = []
        for task in self.tasks:
            for seed in range(max(self.seeds, self.primary_seeds or 0)):
                for variant in ordered:
                    if seed >= self.seeds and not self.primary_run(task.key, variant):
                        continue
                    configurations = self.configurations(task.key, variant)
                    if self.tune_seeds is not None and seed >= self.tune_seeds and len(configurations) > 1:
                        tuned = by_pair.get((task.key, variant), [])
                        if len({(r.seed, configuration_of(r)) for r in tuned if r.seed < self.tune_seeds}) < len(
                                configurations) * min(self.tune_seeds, self.seeds):
                            continue                                     # its tuning runs have not all finished
                        configurations = [chosen_configuration(tuned, self.tune_seeds)]
                    for rate, init in configurations:
                        runs.append(self._run(task, variant, seed, rate, init))
        return runs

    def run_count(self) -> int:
        """How many runs the study has in all (with ``tune_seeds``, the later seeds once each at its chosen
        configuration), before any has run."""
        return sum(self.run_counts().values())

    def run_counts(self) -> dict[tuple[str, str], int]:
        """(task key, variant) → how many runs it has in all, before any has run."""
        counts: dict[tuple[str, str], int] = {}
        for task in self.tasks:
            for seed in range(max(self.seeds, self.primary_seeds or 0)):
                for variant in self.variants:
                    if seed >= self.seeds and not self.primary_run(task.key, variant):
                        continue
                    tuned = self.tune_seeds is None or seed < self.tune_seeds
                    counts[task.key, variant] = counts.get((task.key, variant), 0) + (
                        len(self.configurations(task.key, variant)) if tuned else 1)
        return counts

    def configurations(self, task: str, variant: str) -> list[tuple[float, str]]:
        """The (learning rate, init) pairs ``variant`` is tried at on ``task``."""
        inits = dict(self.inits).get(task, (self.model.init,))
        if not chrono_applies(variant):
            inits = ("default",)
        return [(rate, init) for rate in self.learning_rates or (self.train.learning_rate,) for init in inits]

    def _run(self, task: TaskConfig, variant: str, seed: int, rate: float, init: str) -> RunConfig:
        reference = self.model_of(task.key)
        hidden = reference.hidden_size
        if self.match_params and variant != "gru":
            hidden = matched_hidden_size(variant, task, reference)
        model = replace(reference, variant=variant, hidden_size=hidden, init=init)
        train = replace(self.train, seed=seed, learning_rate=rate, steps=self.budget(task.key))
        return RunConfig(task, model, train)

    def model_of(self, task: str) -> ModelConfig:
        """The ``gru``'s model config on ``task`` (its own hidden size, where the task table sets one)."""
        hidden = dict(self.hidden_sizes).get(task)
        return self.model if hidden is None else replace(self.model, hidden_size=hidden)

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
            known = [t.key for t in self.tasks]
            for name in tasks:
                if name not in known:
                    raise unknown_name("--tasks", name, known)
            chosen = tuple(t for t in self.tasks if t.key in tasks)
        kept_variants = tuple(variants) if variants else self.variants
        names = {t.key for t in chosen}
        primary = tuple(f for f in (replace(f, variants=tuple(v for v in f.variants if v in kept_variants),
                                            tasks=tuple(t for t in f.tasks if t in names)) for f in self.primary)
                        if f.variants and f.tasks)
        return replace(self, variants=kept_variants, tasks=chosen, seeds=self.seeds if seeds is None else seeds,
                       primary=primary, budgets=tuple((t, b) for t, b in self.budgets if t in names),
                       inits=tuple((t, i) for t, i in self.inits if t in names),
                       hidden_sizes=tuple((t, h) for t, h in self.hidden_sizes if t in names))


def configuration_of(record) -> tuple[float, str]:
    """A run record's (learning rate, init)."""
    return record.learning_rate, str(record.config.get("model", {}).get("init", "default"))


def chosen_configuration(records: list, tune_seeds: int | None = None) -> tuple[float, str]:
    """The (learning rate, init) that did best on validation over the finished runs of seeds below
    ``tune_seeds`` (all seeds when None): the largest share of runs meeting the criterion, then the fewest steps
    to it (a run that never did counts its whole budget), then the best mean validation metric by the task's
    direction, then the smaller rate, default init first. Steps come before the metric because a run stops at
    the criterion: the metrics of runs that met it all sit just past it and say nothing more. A configuration
    whose runs all diverged or failed ranks last. The driver and the report both choose here, so they choose
    alike."""
    metric: dict[tuple[float, str], list[float]] = {}
    steps: dict[tuple[float, str], list[int]] = {}
    met: dict[tuple[float, str], list[bool]] = {}
    higher_is_better = next((r.task_facts.higher_is_better for r in records if r.task_facts is not None), False)
    for r in records:
        key = configuration_of(r)
        metric.setdefault(key, [])
        steps.setdefault(key, [])
        met.setdefault(key, [])
        if (tune_seeds is None or r.seed < tune_seeds) and r.status == "ok" and r.metrics.best_valid is not None \
                and math.isfinite(r.metrics.best_valid):
            metric[key].append(float(r.metrics.best_valid) * (1 if higher_is_better else -1))
            steps[key].append(r.metrics.steps_to_criterion or r.config["train"]["steps"])
            met[key].append(r.metrics.steps_to_criterion is not None)

    def mean(values: list) -> float:
        return sum(values) / len(values)

    def rank(key: tuple[float, str]) -> tuple:
        if not metric[key]:
            return (0, 0.0, 0.0, 0.0, 0.0, False)
        return (1, mean(met[key]), -mean(steps[key]), mean(metric[key]), -key[0], key[1] == "default")

    return max(metric, key=rank)


@cache
def chrono_applies(variant: str) -> bool:
    """Whether chrono initialisation changes ``variant`` (it sets the update gate's or the forget gate's bias)."""
    import torch

    net = SequenceModel(variant, 1, 2, 1)
    return bool(net.rnn.chrono_init_(8, torch.Generator().manual_seed(0)))


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
