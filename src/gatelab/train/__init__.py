"""ONE training loop for every task and variant; it knows nothing about GRUs. Checkpoints keep a trained model
with its config."""

from .checkpoint import load_checkpoint, save_checkpoint
from .loop import TrainConfig, TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "load_checkpoint", "save_checkpoint", "train"]
