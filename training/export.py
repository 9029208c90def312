"""ONNX and TorchScript copies of a checkpoint (ser-export), each checked against PyTorch."""

import json
import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ser.bundle import resolve_checkpoint
from ser.checkpoint import load_checkpoint
from ser.model import SerModel

TOLERANCE = 1e-3  # max |probability difference| accepted between exported and PyTorch


def export_onnx(model: SerModel, example: torch.Tensor, path: Path) -> None:
    """Waveform (batch, samples) -> logits, with a dynamic batch axis."""
    batch = torch.export.Dim("batch", min=1, max=1024)
    exporter_log = logging.getLogger("torch.onnx")  # e.g. "torchvision is not installed"
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (example,),
                str(path),
                dynamo=True,
                input_names=["waveform"],
                output_names=["logits"],
                dynamic_shapes={"waveform": {0: batch}},
                verbose=False,
            )
    finally:
        exporter_log.setLevel(level)


class FixedLengthWindow(nn.Module):
    """Runs a traced model only on windows of the length it was traced at: a trace freezes the
    front end's cut/pad branch, so any other length is refused with a clear error."""

    def __init__(self, traced: nn.Module, samples: int) -> None:
        super().__init__()
        self.traced = traced
        self.samples = samples

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        if waveform.shape[-1] != self.samples:
            raise RuntimeError("ser window length mismatch: pad or cut windows to 'samples'")
        return self.traced(waveform)


def export_torchscript(model: SerModel, example: torch.Tensor, path: Path) -> None:
    """TorchScript, waveform (batch, window samples) -> logits; other lengths are refused."""
    with torch.no_grad(), warnings.catch_warnings():
        # The trace is specialised to the window length on purpose (checked at run time);
        # TorchScript's deprecation notice is not the user's concern here.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        traced = torch.jit.trace(model, example)
        torch.jit.script(FixedLengthWindow(traced, example.shape[-1])).save(str(path))


def onnx_probabilities(path: Path, waveform: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"waveform": waveform})[0]
    return torch.from_numpy(logits).softmax(-1).numpy()


def torchscript_probabilities(path: Path, waveform: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        module = torch.jit.load(str(path))
    with torch.no_grad():
        return module(torch.from_numpy(waveform)).softmax(-1).numpy()


def export(checkpoint: str | None, output_dir: Path, formats: list[str]) -> dict[str, float]:
    """Write the requested formats; returns the max probability difference per format."""
    model = load_checkpoint(resolve_checkpoint(checkpoint)).model.float().eval()
    samples = model.frontend.config.clip_samples
    example = torch.randn(2, samples) * 0.1
    check = (torch.randn(3, samples) * 0.1).numpy()
    with torch.no_grad():
        reference = model(torch.from_numpy(check)).softmax(-1).numpy()
    output_dir.mkdir(parents=True, exist_ok=True)
    exporters = {
        "onnx": (export_onnx, onnx_probabilities, "model.onnx"),
        "torchscript": (export_torchscript, torchscript_probabilities, "model.torchscript.pt"),
    }
    differences = {}
    for name in formats:
        write, run, filename = exporters[name]
        path = output_dir / filename
        write(model, example, path)
        differences[name] = float(np.abs(run(path, check) - reference).max())
        status = "ok" if differences[name] <= TOLERANCE else "MISMATCH"
        print(f"{name}: {path} (max |Δp| = {differences[name]:.2e}, {status})")
    (output_dir / "export.json").write_text(
        json.dumps(
            {
                "input": f"waveform float32 (batch, {samples}) at "
                f"{model.frontend.config.sample_rate} Hz",
                "output": "logits",
                "max_probability_difference": differences,
            },
            indent=2,
        )
    )
    return differences
