"""Device, precision and thread choices for inference."""

import os
from pathlib import Path

import torch

from ser.errors import SerError


def select_device(choice: str = "auto") -> torch.device:
    """'auto' -> CUDA when present, else CPU; 'cuda'/'gpu' fails clearly without a GPU."""
    if choice in ("cuda", "gpu"):
        if not torch.cuda.is_available():
            raise SerError("--gpu was asked for but no CUDA GPU is available")
        return torch.device("cuda")
    if choice == "cpu":
        return torch.device("cpu")
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def cpu_has_bf16() -> bool:
    """True when the CPU has native bf16 dot products (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16}


def select_dtype(device: torch.device, precision: str = "auto") -> torch.dtype:
    """Compute dtype for the network: bf16 where the hardware runs it fast, else fp32."""
    if precision in PRECISIONS:
        return PRECISIONS[precision]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    return torch.bfloat16 if cpu_has_bf16() else torch.float32


def precision_name(dtype: torch.dtype) -> str:
    """fp32 or bf16."""
    return next((name for name, known in PRECISIONS.items() if known == dtype), str(dtype))


def set_cpu_threads(requested: int | None = None, keep_one_core: bool = True) -> int:
    """Torch's intra-op threads: `requested`, else all cores but one when live audio and the UI
    need one, else all cores; returns the number set."""
    if requested is not None and requested < 1:
        raise SerError(f"inference threads must be at least 1, not {requested}")
    cores = os.cpu_count() or 2
    threads = requested or (max(1, cores - 1) if keep_one_core else cores)
    torch.set_num_threads(threads)
    return threads
