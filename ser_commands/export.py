"""`ser-export`: ONNX and TorchScript copies of a checkpoint, checked against PyTorch."""

import argparse
import sys
from pathlib import Path

from ser.cli_support import run_command
from ser.errors import SerError
from ser_commands.options import add_model, add_output_dir, validate
from training.export import TOLERANCE, export

PROG = "ser-export"


def comma_list(text: str) -> list[str]:
    """`a, b,` -> ["a", "b"]."""
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    add_model(parser, precision=False, adapt=False)
    add_output_dir(parser, Path("export"))
    parser.add_argument(
        "--formats",
        type=comma_list,
        default="onnx,torchscript",
        help="comma list: onnx,torchscript",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    validate(args)
    differences = export(args.checkpoint, args.output_dir, args.formats)
    if any(d > TOLERANCE for d in differences.values()):
        raise SerError(f"exported model disagrees with PyTorch beyond {TOLERANCE}")
    return 0


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    sys.exit(run_command(PROG, lambda: run(parse_args(argv))))
