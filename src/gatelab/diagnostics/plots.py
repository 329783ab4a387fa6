"""Plots of one run's diagnostics: gradient flow and the step Jacobian's spectral radius (at initialisation and
trained), gate heatmaps of one sequence, the time-scale histogram."""

from __future__ import annotations

from pathlib import Path

from .gates import GateStatistics


def write_diagnostic_plots(found: dict, stats: GateStatistics | None, folder: Path) -> list[Path]:
    """``found``: the diagnostics a study run stores (``sensitivity``, ``spectral_radius`` and their ``_init``
    twins); ``stats``: the trained layer's gates on the test batch. Returns the files written."""
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

    for key, label, name, log in (("sensitivity", "‖uᵀ ∂h_T/∂h_t‖", "flow.png", True),
                                  ("spectral_radius", "spectral radius of ∂h_t/∂h_(t−1)", "spectrum.png", False)):
        if key not in found:
            continue
        fig, ax = plt.subplots(figsize=(6, 3.4))
        curves = ((found.get(f"{key}_init"), "--", "at initialisation"), (found[key], "-", "trained"))
        for values, style, when in curves:
            if not values:
                continue
            if key == "sensitivity":
                x_axis, x_label = range(len(values) - 1, -1, -1), "steps back from the last state"
            else:
                x_axis, x_label = range(1, len(values) + 1), "time step t (first test sequence)"
            (ax.semilogy if log else ax.plot)(list(x_axis), [max(v, 1e-30) if log else v for v in values],
                                              style, label=when)
        ax.set_xlabel(x_label)
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
        save(fig, name)
    if stats is not None:
        for name, gate in stats.gates.items():
            fig, ax = plt.subplots(figsize=(6, 3.4))
            image = ax.imshow(gate[:, 0].T.tolist(), aspect="auto", vmin=0, vmax=1, cmap="viridis",
                              interpolation="nearest")
            ax.set_xlabel("time step (first test sequence)")
            ax.set_ylabel("unit")
            ax.set_title(f"{name} over units × time")
            fig.colorbar(image)
            save(fig, f"gate_{name}.png")
        if stats.time_scale is not None:
            fig, ax = plt.subplots(figsize=(6, 3.4))
            ax.hist(stats.time_scale.tolist(), bins=20)
            ax.set_xlabel("time scale τ (steps)")
            ax.set_ylabel("units")
            save(fig, "time_scales.png")
    return written
