"""Hydra entry points over training/conf/config.yaml (ser-train, python -m training.crossval)."""

import sys
from collections.abc import Callable

import hydra
from omegaconf import DictConfig

from ser.cli_support import run_command


def hydra_task(prog: str, job: Callable[[DictConfig], int]) -> Callable[[], None]:
    """A Hydra task running `job` on the composed config; user errors become one line and a
    non-zero exit."""

    def task(cfg: DictConfig) -> None:
        code = run_command(prog, lambda: job(cfg))
        if code:
            sys.exit(code)

    # Hydra names the job (the --help title, the log file) after the task's module.
    task.__module__ = f"training.{prog}"
    return hydra.main(config_path="conf", config_name="config", version_base="1.3")(task)
