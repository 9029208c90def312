"""`ser-bench`: per-window cost (eager fp32 vs fast path), file-mode throughput, live latency."""

import argparse
import json
import sys
from pathlib import Path

from benchmarks.bench import measure, print_table
from ser.cli_support import run_command
from ser_commands.options import add_model, validate

PROG = "ser-bench"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few minutes on a 2-core CPU")
    add_model(parser, precision=False, adapt=False)
    parser.add_argument("--live-seconds", type=float, help="paced live stream length (default 600)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--no-gate", action="store_true", help="skip the speech-gate benchmark")
    return parser.parse_args(argv)


def bench(args: argparse.Namespace) -> int:
    validate(args)
    results = measure(args.checkpoint, args.quick, args.live_seconds, gate=not args.no_gate)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    sys.exit(run_command(PROG, lambda: bench(parse_args(argv))))
