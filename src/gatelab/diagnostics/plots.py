"""Plots of one run's diagnostics: gradient flow, gate heatmaps of one sequence, the time-scale histogram."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from .gates import GateStatistics


def write_diagnostic_plots(profile: Tensor, stats: GateStatistics | None, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(fig, name: str) -> None:
        fig.tight_layout()
        written.append(folder / name)
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.4))
    steps = len(profile)
    ax.semilogy(range(steps - 1, -1, -1), profile.clamp_min(1e-30).tolist())
    ax.set_xlabel("steps back from the last state")
    ax.set_ylabel("‖uᵀ ∂h_T/∂h_t‖")
    save(fig, "flow.png")
    if stats is not None:
        for name, gate in (("z", stats.z), ("r", stats.r)):
            if gate is None:
                continue
            fig, ax = plt.subplots(figsize=(6, 3.4))
            image = ax.imshow(gate[:, 0].T.tolist(), aspect="auto", vmin=0, vmax=1, cmap="viridis")
            ax.set_xlabel("time step (first test sequence)")
            ax.set_ylabel("unit")
            ax.set_title(f"{name} over units × time")
            fig.colorbar(image)
            save(fig, f"gate_{name}.png")
        if stats.time_scale is not None:
            fig, ax = plt.subplots(figsize=(6, 3.4))
            ax.hist(stats.time_scale.tolist(), bins=20)
            ax.set_xlabel("time scale τ = 1 / mean z (steps)")
            ax.set_ylabel("units")
            save(fig, "time_scales.png")
    return written
