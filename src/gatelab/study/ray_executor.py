"""The Ray executor: each run is a Ray task; results stream back to the driver, which alone writes the store.

Ray is optional (``pip install gatelab[ray]``) and imported only here. Without an address, a local Ray instance
is started for the study (dashboard off, token authentication off; Ray ≥ 2.x binds it to the node's own address —
it replaces a loopback address by that — so on a shared network run it behind a firewall) and shut down after it.
gatelab counts and retries lost workers itself (Ray's own task retries are off), so attempts are
recorded the same way on every executor.
"""

from __future__ import annotations

import os

from .._errors import InputError, bad_argument
from .executor import WorkerLost
from .record import RunRecord


def _run_on_worker(config: dict, study: str, threads: int) -> RunRecord:
    import torch

    from .run import execute_run

    torch.set_num_threads(threads)                           # the run's share of the node's CPUs
    return execute_run(config, study)


class RayExecutor:
    def __init__(self, address: str | None = None, cpus_per_run: int = 1, num_cpus: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise InputError("executor: expected Ray to be installed for 'ray', got no module 'ray' "
                             "(pip install 'gatelab[ray]')", "executor") from None
        if isinstance(cpus_per_run, bool) or not isinstance(cpus_per_run, int) or cpus_per_run < 1:
            raise bad_argument("cpus_per_run", "a positive int", cpus_per_run)
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            if address is None:
                os.environ.setdefault("RAY_AUTH_MODE", "disabled")
                ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            else:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
            self._started = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.capacity = max(1, cpus // cpus_per_run)
        self._threads = cpus_per_run
        self._task = ray.remote(_run_on_worker).options(num_cpus=cpus_per_run, max_retries=0)

    def submit(self, config: dict, study: str):
        return self._task.remote(config, study, self._threads)

    def wait(self, handles: list) -> list[tuple[object, RunRecord | WorkerLost]]:
        ready, _ = self._ray.wait(handles, num_returns=1)
        out = []
        for ref in ready:
            try:
                out.append((ref, self._ray.get(ref)))
            except self._ray.exceptions.RayError as error:      # the worker died; execute_run itself never raises
                out.append((ref, WorkerLost(f"Ray worker lost: {type(error).__name__}: {str(error)[:300]}")))
        return out

    def cancel(self, handles: list) -> None:
        for ref in handles:
            self._ray.cancel(ref, force=True)

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False
