"""`ser-train`: Hydra's command line over training/conf (training.train's fit and report)."""

from training.train import main

__all__ = ["main"]
