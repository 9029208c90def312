"""Option groups the commands share, and the one check of their values: every command refuses
the same bad value with the same line, before it loads a model or opens an input."""

import argparse
from pathlib import Path

from ser.errors import SerError
from ser.records import FORMATS
from ser.vad import VadConfig

NO_ADAPT_HELP = (
    "do not adapt to the session's voice, language and room (the model file's running-mean "
    "adaptation)"
)
# Values each must exceed, or reach, to be usable (by argparse dest).
POSITIVE = ("hop", "min_start", "live_seconds")
AT_LEAST_ONE = ("threads", "devices", "num_nodes", "batch_size")
NOT_NEGATIVE = ("workers", "num_workers")
EXPORT_FORMATS = ("onnx", "torchscript")


def add_model(
    parser: argparse.ArgumentParser, *, precision: bool = True, adapt: bool = True
) -> None:
    """--checkpoint, and where the command runs the model itself --precision and --no-adapt."""
    parser.add_argument("--checkpoint", help="model file (default: the shipped model)")
    if precision:
        parser.add_argument(
            "--precision",
            choices=("auto", "fp32", "bf16"),
            default="auto",
            help="auto: the fast path in bf16 where the hardware has it, else fp32; fp32: the "
            "eager reference; bf16: the fast path in bf16 (default auto)",
        )
    if adapt:
        parser.add_argument("--no-adapt", action="store_true", help=NO_ADAPT_HELP)


def add_compute(parser: argparse.ArgumentParser) -> None:
    """--cpu or --gpu into `compute` (auto, cpu or cuda)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--cpu", dest="compute", action="store_const", const="cpu", help="run the model on the CPU"
    )
    group.add_argument(
        "--gpu",
        dest="compute",
        action="store_const",
        const="cuda",
        help="run the model on the GPU (default: the GPU when there is one)",
    )
    parser.set_defaults(compute="auto")


def add_hop(parser: argparse.ArgumentParser, default: float | None, help: str) -> None:
    """--hop, seconds between windows."""
    parser.add_argument("--hop", type=float, default=default, help=help)


def add_gate(parser: argparse.ArgumentParser) -> None:
    """The speech gate's --vad-threshold and --speech-share."""
    parser.add_argument(
        "--vad-threshold",
        type=float,
        default=VadConfig.threshold,
        help="speech gate: Silero VAD probability above which a 32 ms chunk is speech "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--speech-share",
        type=float,
        default=VadConfig.min_speech_share,
        help="speech gate: share of a window's chunks that must be speech for it to get an "
        "emotion (default %(default)s)",
    )


def add_output(
    parser: argparse.ArgumentParser, default: str | None, help: str, format_help: str
) -> None:
    """--output/-o and its --format."""
    parser.add_argument("--output", "-o", default=default, help=help)
    parser.add_argument("--format", choices=FORMATS, help=format_help)


def add_output_dir(parser: argparse.ArgumentParser, default: Path) -> None:
    """--output-dir, the folder a command writes its files into."""
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=default,
        help="folder to write into (default %(default)s)",
    )


def flag(dest: str) -> str:
    """The option an argparse dest comes from."""
    return "--" + dest.replace("_", "-")


def validate(args: argparse.Namespace) -> None:
    """SerError for the first value no run can use, of the options `args` has."""
    given = {k: v for k, v in vars(args).items() if v is not None}
    for dest in POSITIVE:
        if dest in given and given[dest] <= 0:
            raise SerError(f"{flag(dest)} must be positive")
    for dest in AT_LEAST_ONE:
        if dest in given and given[dest] < 1:
            raise SerError(f"{flag(dest)} must be at least 1")
    for dest in NOT_NEGATIVE:
        if dest in given and given[dest] < 0:
            raise SerError(f"{flag(dest)} must be 0 or more")
    if "vad_threshold" in given and not 0 < given["vad_threshold"] < 1:
        raise SerError("--vad-threshold must lie in (0, 1)")
    if "speech_share" in given and not 0 < given["speech_share"] <= 1:
        raise SerError("--speech-share must lie in (0, 1]")
    if "formats" in given and (unknown := set(given["formats"]) - set(EXPORT_FORMATS)):
        raise SerError(f"unknown export format(s): {', '.join(sorted(unknown))}")
    if given.get("output") == "-":
        if given.get("no_tui") is False:
            raise SerError(
                "-o - would write events over the screen; add --no-tui to write them there"
            )
        if given.get("devices", 1) * given.get("num_nodes", 1) > 1:
            raise SerError(
                "--devices/--num-nodes above 1 need --output FILE (ranks write beside it)"
            )
