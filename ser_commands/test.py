"""`ser-test`: evaluate a ser checkpoint on a corpus split; JSON report + confusion PNG,
optionally with added white or babble noise, or the whole noise-robustness table."""

import argparse
import logging
import sys

from ser.cli_support import run_command
from ser_commands.options import add_compute, add_hop, add_model, add_output_dir, validate
from training.evaluate import EvalOptions, evaluate

PROG = "ser-test"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    add_model(parser, precision=False)
    parser.add_argument(
        "--data", default=EvalOptions.data, help="data config name: ravdess, cremad, manifest"
    )
    parser.add_argument("--root", help="corpus folder (default: the data config's root)")
    parser.add_argument(
        "--split",
        choices=("test", "val", "all"),
        default=EvalOptions.split,
        help="speakers to score; all: the whole corpus (leave-one-corpus-out)",
    )
    parser.add_argument(
        "--streams",
        action="store_true",
        help="also score each speaker's clips joined into a long recording and played through "
        "the live worker (clean; with babble and white noise at 10 dB unless --split all)",
    )
    add_hop(parser, EvalOptions.hop, "window hop for --streams, s (default %(default)s)")
    add_output_dir(parser, EvalOptions.output_dir)
    parser.add_argument("--noise", choices=("white", "babble"), help="add noise to every clip")
    parser.add_argument(
        "--snr",
        type=float,
        default=EvalOptions.snr,
        help="SNR in dB for --noise (default %(default)s)",
    )
    parser.add_argument(
        "--robustness",
        action="store_true",
        help="clean, white and babble noise at 20/10/5 dB SNR: robustness.json + table",
    )
    parser.add_argument(
        "--batch-size", type=int, help="clips per batch (default: the data config's)"
    )
    parser.add_argument(
        "--num-workers", type=int, help="data loader workers (default: the data config's)"
    )
    add_compute(parser)
    parser.add_argument(
        "overrides", nargs="*", help="extra Hydra overrides, e.g. data.split.kind=fraction"
    )
    return parser.parse_args(argv)


def options(args: argparse.Namespace) -> EvalOptions:
    """The checked arguments as evaluation options."""
    validate(args)
    fields = {k: v for k, v in vars(args).items() if k not in ("no_adapt", "overrides")}
    return EvalOptions(**fields, adapt=not args.no_adapt, overrides=tuple(args.overrides))


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # no banner per pass
    sys.exit(run_command(PROG, lambda: evaluate(options(parse_args(argv)))))
