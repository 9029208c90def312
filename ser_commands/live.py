"""`ser-live`: live emotion timeline from a microphone, or a file streamed as if it were one."""

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ser.bundle import DEMO_AUDIO_NAME, asset_path
from ser.cli_support import hold_signals, report_ending, report_error, run_command
from ser.errors import DeviceError
from ser.predictor import Predictor
from ser.records import RecordWriter
from ser.runtime import set_cpu_threads
from ser.vad import VadConfig
from ser.windowing import MIN_START_SECONDS
from ser_commands.options import add_compute, add_gate, add_hop, add_model, add_output, validate
from streaming.headless import HeadlessRun
from streaming.pipeline import LivePipeline
from streaming.sources import (
    AudioSource,
    FileSource,
    LevelProbe,
    MicrophoneSource,
    list_input_devices,
    narrowband_warning,
    parse_device,
)
from streaming.worker import WorkerConfig, check_settings

PROG = "ser-live"
NO_DEVICE_HINT = "play a file with --file PATH, or a bundled recording with --demo"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__)
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--device",
        help="input device index or name (default: choose on screen; "
        "the system default with --no-tui)",
    )
    src.add_argument("--file", help="stream an audio file through the live path")
    src.add_argument(
        "--demo",
        action="store_true",
        help="play the bundled 29 s of emotional speech (RAVDESS actor 20, CC BY-NC-SA 4.0)",
    )
    src.add_argument("--list-devices", action="store_true", help="list input devices and exit")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument(
        "--realtime",
        dest="realtime",
        action="store_true",
        default=None,
        help="play --file at real speed (default with the TUI)",
    )
    pace.add_argument(
        "--fast",
        dest="realtime",
        action="store_false",
        help="process --file as fast as possible (default with --no-tui)",
    )
    add_hop(p, None, "seconds between windows (default 0.5 live, 1 file)")
    p.add_argument(
        "--min-start",
        type=float,
        default=MIN_START_SECONDS,
        help="seconds of audio before the first (padded) window (default %(default)s)",
    )
    add_gate(p)
    add_model(p)
    p.add_argument(
        "--threads",
        type=int,
        help="CPU inference threads (default: all cores but one, all for --fast files)",
    )
    add_compute(p)
    p.add_argument("--no-tui", action="store_true", help="write events instead of the TUI")
    add_output(
        p,
        None,
        "events file (.jsonl or .csv), or - for stdout",
        "events format (default: from --output)",
    )
    p.add_argument("--record", help="save what was heard to this WAV/FLAC file")
    return p.parse_args(argv)


def print_devices() -> int:
    for d in list_input_devices():
        print(
            f"{'*' if d['default'] else ' '}{d['index']:>3}  {d['name']}  ({d['hostapi']}, "
            f"{d['channels']} ch, {d['default_samplerate']:.0f} Hz)"
        )
    return 0


def build_source(args: argparse.Namespace) -> AudioSource:
    if args.file:
        source = FileSource(args.file, realtime=args.realtime)
        if source.duration < 5.0:
            print(
                f"{PROG}: warning: {args.file} lasts {source.duration:.1f} s, shorter than "
                "one 5 s window; it is classified zero-padded",
                file=sys.stderr,
            )
        return source
    if args.device is not None:
        return MicrophoneSource(parse_device(args.device))
    with hint_on_no_device():
        return MicrophoneSource(None)


@contextmanager
def hint_on_no_device() -> Iterator[None]:
    """A failure to find the default microphone also says how to play a file instead."""
    try:
        yield
    except DeviceError as exc:
        raise DeviceError(f"{exc}; {NO_DEVICE_HINT}") from exc


def live(args: argparse.Namespace) -> int:
    if args.list_devices:
        return print_devices()
    if args.demo:
        args.file = str(asset_path(DEMO_AUDIO_NAME))
    if args.realtime is None:
        args.realtime = not args.no_tui
    validate(args)
    hop = args.hop if args.hop is not None else (1.0 if args.file else 0.5)
    source: AudioSource | None = None
    if args.no_tui or args.device is not None or args.file is not None:
        source = build_source(args)  # inputs are checked before the model or any output
        if args.no_tui and (note := narrowband_warning(source.sample_rate)):
            print(f"{PROG}: warning: {note}", file=sys.stderr)
    else:  # no source named: the TUI lets the user pick a microphone first
        with hint_on_no_device():
            devices = list_input_devices()
    predictor = Predictor.load(
        args.checkpoint, args.compute, args.precision, adapt=not args.no_adapt
    )
    if predictor.device.type == "cpu":  # live audio and the UI keep a core; --fast files not
        set_cpu_threads(args.threads, keep_one_core=args.file is None or args.realtime)
    config = WorkerConfig(hop, args.min_start, vad=VadConfig(args.vad_threshold, args.speech_share))
    check_settings(config, predictor)
    pipeline = None if source is None else LivePipeline(source, predictor, config, args.record)
    writer = RecordWriter(args.output or "-", args.format) if args.no_tui or args.output else None
    if args.no_tui:
        return HeadlessRun(pipeline, writer, PROG).run()
    from tui.app import LiveApp
    from tui.devices import DeviceChoice

    def open_device(index: int) -> LivePipeline:
        return LivePipeline(MicrophoneSource(index), predictor, config, args.record)

    picker = (DeviceChoice(devices, LevelProbe), open_device) if pipeline is None else None
    app = LiveApp(pipeline, predictor.labels, writer=writer, picker=picker)
    try:
        app.run()
    finally:  # however the screen ended, what it computed is written and summarised
        hold_signals()
        app.run_log.close()
    if app.error:
        report_error(PROG, app.error)
    if app.ending:
        report_ending(PROG, app.ending)
    return app.status_code


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    sys.exit(run_command(PROG, lambda: live(parse_args(argv))))
