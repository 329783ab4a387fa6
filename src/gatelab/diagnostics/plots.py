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
    written = []
    fig, ax = plt.subplots(figsize=(6, 3.4))
    steps = len(profile)
    ax.semilogy(range(steps - 1, -1, -1), profile.clamp_min(1e-30).tolist())
    ax.set_xlabel("steps back from the last state")
    ax.set_ylabel("‖uᵀ ∂h_T/∂h_t‖")
    fig.tight_layout()
    written.append(folder / "flow.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)
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
            fig.tight_layout()
            written.append(folder / f"gate_{name}.png")
            fig.savefig(written[-1], dpi=110)
            plt.close(fig)
        if stats.time_scale is not None:
            fig, ax = plt.subplots(figsize=(6, 3.4))
            ax.hist(stats.time_scale.tolist(), bins=20)
            ax.set_xlabel("time scale τ = 1 / mean z (steps)")
            ax.set_ylabel("units")
            fig.tight_layout()
            written.append(folder / "time_scales.png")
            fig.savefig(written[-1], dpi=110)
            plt.close(fig)
    return written
