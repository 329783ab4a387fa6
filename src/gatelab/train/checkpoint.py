"""Checkpoints: a trained model with the config that made it, so it can be rebuilt and diagnosed anywhere."""

from __future__ import annotations

from pathlib import Path

import torch

from .._errors import InputError


def save_checkpoint(path: str | Path, model: torch.nn.Module, config_data: dict) -> Path:
    """Write ``model``'s weights and its run config (``RunConfig.to_dict()``) to ``path``."""
    from .._version import __version__

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": "gatelab-checkpoint-1", "gatelab": __version__, "config": config_data,
                "state_dict": model.state_dict()}, path)
    return path


def load_checkpoint(path: str | Path) -> tuple[dict, dict]:
    """(config data, state dict) of a checkpoint written by :func:`save_checkpoint`, or a clear error."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint: expected a gatelab checkpoint file, got {str(path)!r} (no such file)",
                         "checkpoint")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 — any unreadable file is the same user error
        raise InputError(f"checkpoint: expected a gatelab checkpoint file, got {str(path)!r} "
                         f"({type(error).__name__})", "checkpoint") from None
    if not isinstance(data, dict) or data.get("format") != "gatelab-checkpoint-1":
        raise InputError(f"checkpoint: expected a gatelab checkpoint file, got {str(path)!r} (another format)",
                         "checkpoint")
    return data["config"], data["state_dict"]
