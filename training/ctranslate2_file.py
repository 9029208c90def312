"""Reader for CTranslate2 `model.bin` files (binary version 6): named tensors, no runtime."""

import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from ser.errors import CheckpointError

SUPPORTED_VERSION = 6
DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
BF16 = 5


def _unpack(handle: BinaryIO, fmt: str) -> int:
    size = struct.calcsize(fmt)
    data = handle.read(size)
    if len(data) != size:
        raise CheckpointError("CTranslate2 file is truncated")
    return struct.unpack(fmt, data)[0]


def _string(handle: BinaryIO) -> str:
    length = _unpack(handle, "<H")
    raw = handle.read(length)
    if len(raw) != length or not raw.endswith(b"\0"):
        raise CheckpointError("CTranslate2 file has a malformed name")
    return raw[:-1].decode("utf-8")


def _tensor(handle: BinaryIO) -> torch.Tensor:
    rank = _unpack(handle, "<B")
    shape = [_unpack(handle, "<I") for _ in range(rank)]
    dtype_id = _unpack(handle, "<B")
    nbytes = _unpack(handle, "<I")
    raw = handle.read(nbytes)
    if len(raw) != nbytes:
        raise CheckpointError("CTranslate2 file is truncated")
    if dtype_id == BF16:
        words = torch.from_numpy(np.frombuffer(raw, dtype="<u2").astype(np.int32) << 16)
        return words.view(torch.float32).reshape(shape)
    if dtype_id not in DTYPES:
        raise CheckpointError(f"CTranslate2 dtype {dtype_id} is not supported")
    array = np.frombuffer(raw, dtype=np.dtype(DTYPES[dtype_id]).newbyteorder("<"))
    return torch.from_numpy(array.copy()).reshape(shape)


def read_ctranslate2(path: str | Path, prefix: str = "") -> tuple[str, dict[str, torch.Tensor]]:
    """The spec name and the variables whose names start with `prefix` (others skipped)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such CTranslate2 file")
    variables: dict[str, torch.Tensor] = {}
    with path.open("rb") as handle:
        version = _unpack(handle, "<I")
        if version != SUPPORTED_VERSION:
            raise CheckpointError(f"{path}: CTranslate2 binary version {version}, expected 6")
        spec = _string(handle)
        _unpack(handle, "<I")  # spec revision
        for _ in range(_unpack(handle, "<I")):
            name = _string(handle)
            tensor = _tensor(handle)
            if name.startswith(prefix):
                variables[name] = tensor
    return spec, variables
