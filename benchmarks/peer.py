"""The peer engine: CTranslate2's `Whisper.encode` on the same Whisper-base weights (a model
folder made from the two pinned weight packages), on ser's log-mel window and thread count."""

import tempfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ser.errors import SerError
from training.import_whisper import ctranslate2_model

COMPUTE_TYPES = ("int8", "float32")


def peer_encoders(
    log_mel: torch.Tensor, threads: int
) -> tuple[dict[str, Callable[[], Any]], str | None]:
    """({"int8": run, "float32": run}, version), each run encoding `log_mel` (1, 80, frames)
    once; ({}, why not) without ctranslate2 (a [dev] extra, never a run-time import) or the
    weight packages."""
    try:
        import ctranslate2
    except ImportError:
        return {}, "ctranslate2 is not installed (pip install '.[dev]'): no peer figures"
    features = ctranslate2.StorageView.from_array(np.ascontiguousarray(log_mel.numpy()))
    runs = {}
    with tempfile.TemporaryDirectory(prefix="ser-ct2-") as tmp:
        try:
            folder = str(ctranslate2_model(Path(tmp)))
            for compute_type in COMPUTE_TYPES:  # loaded into memory: the folder may go
                model = ctranslate2.models.Whisper(
                    folder, "cpu", compute_type=compute_type, intra_threads=threads
                )
                runs[compute_type] = lambda model=model: model.encode(features, to_cpu=True)
        except (SerError, OSError, RuntimeError, ValueError) as exc:
            return {}, f"no CTranslate2 model, no peer figures: {exc}"
    return runs, f"CTranslate2 {version('ctranslate2')}"
