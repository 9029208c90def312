"""A tiny Whisper-shaped CTranslate2 `model.bin` written by the tests (random weights), in the
same binary layout as the real Whisper-base file."""

import struct
from pathlib import Path

import torch

WIDTH, HEADS, FF, LAYERS, POSITIONS = 16, 2, 32, 2, 1500


def _string(text: str) -> bytes:
    raw = text.encode("utf-8") + b"\0"
    return struct.pack("<H", len(raw)) + raw


def write_ctranslate2(path: Path, spec: str, variables: dict[str, torch.Tensor]) -> Path:
    """Binary version 6: spec, revision, count, then name/rank/shape/dtype/bytes/data each."""
    codes = {torch.float32: 0, torch.float16: 4, torch.int32: 3}
    out = [struct.pack("<I", 6), _string(spec), struct.pack("<II", 1, len(variables))]
    for name, tensor in variables.items():
        data = tensor.contiguous().numpy().tobytes()
        out += [_string(name), struct.pack("<B", tensor.ndim)]
        out += [struct.pack(f"<{tensor.ndim}I", *tensor.shape)]
        out += [struct.pack("<BI", codes[tensor.dtype], len(data)), data]
    path.write_bytes(b"".join(out))
    return path


def tiny_whisper_variables(seed: int = 0) -> dict[str, torch.Tensor]:
    """Encoder variables (fp16 like the real file) plus one decoder tensor to skip."""
    g = torch.Generator().manual_seed(seed)

    def rand(*shape: int) -> torch.Tensor:
        return (torch.randn(*shape, generator=g) * 0.2).half()

    v = {
        "encoder/conv1/weight": rand(WIDTH, 80, 3),
        "encoder/conv1/bias": rand(WIDTH),
        "encoder/conv2/weight": rand(WIDTH, WIDTH, 3),
        "encoder/conv2/bias": rand(WIDTH),
        "encoder/position_encodings/encodings": rand(POSITIONS, WIDTH),
        "encoder/num_heads": torch.tensor([HEADS], dtype=torch.int32),
        "encoder/layer_norm/gamma": 1 + rand(WIDTH),
        "encoder/layer_norm/beta": rand(WIDTH),
        "decoder/embeddings/weight": rand(4, WIDTH),
    }
    for i in range(LAYERS):
        a, f = f"encoder/layer_{i}/self_attention", f"encoder/layer_{i}/ffn"
        v.update(
            {
                f"{a}/layer_norm/gamma": 1 + rand(WIDTH),
                f"{a}/layer_norm/beta": rand(WIDTH),
                f"{a}/linear_0/weight": rand(3 * WIDTH, WIDTH),
                f"{a}/linear_0/bias": rand(3 * WIDTH),
                f"{a}/linear_1/weight": rand(WIDTH, WIDTH),
                f"{a}/linear_1/bias": rand(WIDTH),
                f"{f}/layer_norm/gamma": 1 + rand(WIDTH),
                f"{f}/layer_norm/beta": rand(WIDTH),
                f"{f}/linear_0/weight": rand(FF, WIDTH),
                f"{f}/linear_0/bias": rand(FF),
                f"{f}/linear_1/weight": rand(WIDTH, FF),
                f"{f}/linear_1/bias": rand(WIDTH),
            }
        )
    return v


def tiny_model_overrides(encoder: Path) -> list[str]:
    """ser-train overrides for a Whisper-family model of the tiny file's sizes."""
    return [
        "model=whisper",
        f"model.encoder_weights={encoder}",
        f"model.width={WIDTH}",
        f"model.heads={HEADS}",
        f"model.ff_width={FF}",
        f"model.layers={LAYERS}",
        "model.hidden=8",
    ]
