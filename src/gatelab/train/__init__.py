"""ONE training loop for every task and variant; it knows nothing about GRUs."""

from .loop import TrainConfig, TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "train"]
