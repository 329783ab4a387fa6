"""The run record: what one run returns, what the driver stores and what the report reads — one typed contract.

A record crosses a process (or Ray worker) boundary and a file boundary (the store's JSON), so it is declared
here once, with a schema version, and written (:meth:`RunRecord.to_dict`) and read (:meth:`RunRecord.from_dict`)
only here. Readers never rebuild a task or a model to interpret it: the task's facts (metric, direction, trivial
level, criterion, what it isolates) travel in the record.

Schema versions:
    1  (gatelab ≤ 0.1.0, no ``schema`` key) — the task's facts inside ``metrics``, no ``isolates``; migrated on
       reading, with ``isolates`` taken from the task registry where the task is still registered.
    2  the typed record below.
A record of a newer schema than this gatelab reads is refused with a clear message, never guessed at.
"""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass, field, fields, replace

from .._errors import InputError
from ..tasks import TaskFacts

SCHEMA_VERSION = 2


@dataclass(frozen=True)
class RunMetrics:
    """What training and the test batch measured. ``test`` is None when the run did not finish training."""

    parameters: int = 0
    steps_done: int = 0
    steps_to_criterion: int | None = None     # the first evaluation step at which validation met the criterion
    best_valid: float | None = None
    test: float | None = None
    solved: bool = False                      # the test metric meets the criterion too (see met_criterion)
    references: dict[str, float] = field(default_factory=dict)   # non-recurrent references of the task


def met_criterion(record) -> bool:
    """Whether a run met its task's criterion: on validation, at one of its evaluations within its budget — the
    event its steps to criterion time (a run that never does is censored) and at which a study's run stops. The
    test metric stays the held-out endpoint of the metric comparison, not the success event: a run stopped the
    moment validation crosses the level sits at that level, so judged again on test it would pass or miss by
    chance (in the first tuned `standard`, 65 of the 323 runs that met it on validation missed it on test)."""
    return record.status in ("ok", "diverged") and record.metrics.steps_to_criterion is not None


@dataclass(frozen=True)
class SmoothingFit:
    """The exponential-smoothing distance of a trained unit (:func:`gatelab.diagnostics.smoothing_fit`)."""

    explained_variance: float | None
    clamp_explained_variance: float | None


@dataclass(frozen=True)
class RunDiagnostics:
    """Why a run works (the report's "Why" sections). A diagnostic that does not apply is None; one that failed
    leaves its message in ``error`` / ``error_init`` (the run itself stands)."""

    sensitivity_init: list[float] | None = None       # ‖uᵀ∂h_T/∂h_t‖ per t, before training
    spectral_radius_init: list[float] | None = None   # of ∂h_t/∂h_{t−1} along the first sequence, before training
    sensitivity: list[float] | None = None            # the same, trained
    spectral_radius: list[float] | None = None
    spectral_radius_median: float | None = None
    time_scales: list[float] | None = None            # per unit: 1/mean z (LSTM: 1/mean(1 − f))
    time_scale_quartiles: list[float] | None = None
    r_closed: float | None = None                     # share of r values below 0.1
    r_open: float | None = None                       # share above 0.9
    smoothing: SmoothingFit | None = None
    clamps: dict[str, float] | None = None            # gru only: test metric with one gate clamped, untrained
    heatmaps: dict[str, list[list[float]]] | None = None
    seconds: float | None = None
    error: str | None = None
    error_init: str | None = None

    @classmethod
    def from_dict(cls, data: dict | None) -> RunDiagnostics:
        data = dict(data or {})
        if data.get("smoothing") is not None:
            data["smoothing"] = SmoothingFit(**data["smoothing"])
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class RunRecord:
    """One run's outcome. ``status``: ``ok`` | ``diverged`` (a non-finite loss, at ``metrics.steps_done``) |
    ``failed`` (an exception, in ``traceback``)."""

    key: str
    study: str
    variant: str
    task: str
    seed: int
    config: dict                                   # RunConfig.to_dict()
    status: str = "failed"
    task_facts: TaskFacts | None = None            # None only for a run that failed before its task was built
    metrics: RunMetrics = field(default_factory=RunMetrics)
    curve: list[list[float | None]] = field(default_factory=list)   # [step, train loss, validation metric]
    backend: str | None = None                     # the computation backend that actually ran
    seconds: float = 0.0
    traceback: str | None = None
    host: str = field(default_factory=platform.node)
    versions: dict[str, str] = field(default_factory=dict)
    diagnostics: RunDiagnostics = field(default_factory=RunDiagnostics)
    schema: int = SCHEMA_VERSION

    @property
    def learning_rate(self) -> float:
        return float(self.config["train"]["learning_rate"])

    def to_dict(self) -> dict:
        """Plain JSON-able data, the shape stored."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunRecord:
        """Read a stored record of any schema this gatelab knows (older ones migrated)."""
        schema = data.get("schema", 1)
        if not isinstance(schema, int) or schema > SCHEMA_VERSION:
            raise InputError(f"store: expected run records of schema ≤ {SCHEMA_VERSION}, got schema {schema!r} "
                             f"(run {data.get('key', '?')} was written by a newer gatelab; upgrade gatelab to read "
                             "this store)", "store")
        if schema == 1:
            data = _migrate_v1(data)
        metrics = RunMetrics(**{k: v for k, v in (data.get("metrics") or {}).items()
                                if k in {f.name for f in fields(RunMetrics)}})
        facts = data.get("task_facts")
        known = {f.name for f in fields(cls)}
        return replace(cls(**{k: v for k, v in data.items() if k in known and k not in
                              ("metrics", "task_facts", "diagnostics")}),
                       metrics=metrics, task_facts=None if facts is None else TaskFacts(**facts),
                       diagnostics=RunDiagnostics.from_dict(data.get("diagnostics")))


def _migrate_v1(data: dict) -> dict:
    """A schema-1 record in schema 2's shape: the task's facts move out of ``metrics``."""
    from ..tasks import get_task, is_registered, isolates

    data = dict(data)
    metrics = dict(data.get("metrics") or {})
    facts = {k: metrics.pop(k) for k in ("metric", "higher_is_better", "trivial", "solved_at") if k in metrics}
    data["metrics"] = metrics
    data["task_facts"] = None
    if len(facts) == 4:
        task = data["task"]
        sentence = ""
        if is_registered(task):
            try:
                sentence = isolates(get_task(task, **data["config"]["task"].get("sizes", {})))
            except InputError:                  # sizes the task no longer takes: say nothing rather than guess
                sentence = ""
        kind = "classification" if facts["metric"] in ("accuracy", "cross_entropy", "bits_per_char") else "regression"
        data["task_facts"] = {"name": task, "kind": kind, "isolates": sentence, **facts}
    data["schema"] = SCHEMA_VERSION
    return data


def read_records(store, study: str | None = None) -> list[RunRecord]:
    """Every record of a store (optionally of one study), typed."""
    return [RunRecord.from_dict(d) for d in store.records(study)]
