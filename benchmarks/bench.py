"""ser-bench's figures: per-window cost (eager fp32 vs fast path), file-mode throughput and
live latency."""

import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from benchmarks.gate import gate_benchmark, print_gate
from benchmarks.peer import peer_encoders
from ser.bundle import resolve_checkpoint
from ser.checkpoint import Checkpoint, load_checkpoint
from ser.predictor import Predictor
from ser.runtime import cpu_has_bf16, set_cpu_threads
from streaming.events import EndEvent, ErrorEvent, WindowEvent
from streaming.pipeline import LivePipeline
from streaming.sources import FileSource
from streaming.summary import SummaryBuilder
from streaming.worker import WorkerConfig
from training.synthetic_audio import speech_like, speech_recording


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else the platform's machine name."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def model_checkpoint(path: str | None) -> tuple[Checkpoint, str]:
    """The given checkpoint, else the shipped model (the fp32 recomputation of near-ties makes
    the fast path's cost depend on the weights)."""
    resolved = resolve_checkpoint(path)
    return load_checkpoint(resolved), str(path or resolved.name)


def bench_audio(path: Path, seconds: float, seed: int = 0) -> str:
    """Speech for the stream figures: espeak-ng sentences with pauses where espeak-ng is
    installed (the gate passes them, as it does real speech), else speech-like bursts."""
    try:
        speech_recording(path, seconds)
        return "espeak-ng speech"
    except RuntimeError:
        sf.write(path, speech_like(seconds, seed=seed), 16000)
        return "speech-like bursts (espeak-ng not installed)"


def interleaved_ms(runs: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median milliseconds of each run after one warm-up each, the runs taking turns so that a
    busy neighbour slows them alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: float(np.median(t)) * 1000 for name, t in times.items()}


def windows_run(predictor: Predictor, windows: torch.Tensor) -> Callable[[], Any]:
    """One call of `predictor` on `windows`."""
    return lambda: predictor.probabilities(windows)


def encoder_run(predictor: Predictor, log_mel: torch.Tensor) -> Callable[[], Any]:
    """`predictor`'s network's encoder alone on `log_mel`, in inference mode as it runs."""

    @torch.inference_mode()
    def run() -> torch.Tensor:
        return predictor.net.states(log_mel)

    return run


def cpu_section(ckpt: Checkpoint, batches: list[int], repeats: int) -> dict[str, Any]:
    """ms per window for `b` windows handed over at once: eager fp32 runs them as one batch,
    the fast path as it does by default (one window at a time on CPU) but without near-tie
    recomputation, whose cost is given apart (the stream figures count how often it runs); at
    batch 1 the peer engine, and ser's fast encoder alone, encode the same window's log-mel on
    as many threads, in turns."""
    fast = Predictor(ckpt, "cpu", "auto", tie_margin=0.0)
    threads = torch.get_num_threads()
    out: dict[str, Any] = {"fast_path": fast.description, "threads": threads}
    for b in batches:
        windows = torch.from_numpy(np.stack([speech_like(5.0, seed=i) for i in range(b)]))
        eager = Predictor(ckpt, "cpu", "fp32", max_batch=b)
        runs = {"eager": windows_run(eager, windows), "fast": windows_run(fast, windows)}
        peers = {}
        if b == 1:
            log_mel = fast.frontend(windows)
            peers, out["peer"] = peer_encoders(log_mel, threads)
            if peers:  # like for like: ser's encoder alone on the log-mel the peer gets
                runs["encoder"] = encoder_run(fast, log_mel)
        ms = {name: t / b for name, t in interleaved_ms({**runs, **peers}, repeats).items()}
        out[f"eager_ms_b{b}"], out[f"fast_ms_b{b}"] = round(ms["eager"], 1), round(ms["fast"], 1)
        out[f"fast_over_eager_b{b}"] = round(ms["fast"] / ms["eager"], 3)
        for compute_type in peers:
            out[f"ctranslate2_{compute_type}_ms_b1"] = round(ms[compute_type], 1)
            out[f"fast_over_ctranslate2_{compute_type}"] = round(ms["fast"] / ms[compute_type], 3)
        if peers:
            out["fast_encoder_ms_b1"] = round(ms["encoder"], 1)
            out["fast_encoder_over_ctranslate2_int8"] = round(ms["encoder"] / ms["int8"], 3)
    out["fast_over_eager_ratio"] = out[f"fast_over_eager_b{batches[0]}"]
    always = Predictor(ckpt, "cpu", "auto", tie_margin=1.0)  # every window recomputed in fp32
    one = torch.from_numpy(speech_like(5.0, seed=0))[None]
    recomputed = interleaved_ms({"always": windows_run(always, one)}, repeats)["always"]
    out["recompute_extra_ms_b1"] = round(recomputed - out["fast_ms_b1"], 1)
    return out


def run_file(predictor: Predictor, path: Path, hop: float, realtime: bool) -> dict[str, Any]:
    """Stream `path` through the live pipeline; its summary plus the share of windows that the
    fast path recomputed in fp32."""
    windows, recomputed = predictor.windows, predictor.recomputed
    pipeline = LivePipeline(FileSource(path, realtime=realtime), predictor, WorkerConfig(hop))
    summary = SummaryBuilder(predictor.labels)
    stats: dict[str, Any] = {}
    pipeline.start()
    for event in pipeline.iter_events():
        if isinstance(event, WindowEvent):
            summary.add(event)
        elif isinstance(event, EndEvent):
            stats = event.stats
        elif isinstance(event, ErrorEvent):
            raise RuntimeError(event.message)
    share = (predictor.recomputed - recomputed) / max(1, predictor.windows - windows)
    return {**summary.summary(stats), "recomputed_share": round(share, 4)}


def measure(
    checkpoint: str | None, quick: bool, live_seconds: float | None, gate: bool
) -> dict[str, Any]:
    """Every figure of ser-bench (`quick`: a few minutes on a 2-core CPU)."""
    ckpt, model_name = model_checkpoint(checkpoint)
    all_threads = torch.get_num_threads()
    threads = set_cpu_threads()  # as ser-live does for live audio
    live_seconds = live_seconds or (60.0 if quick else 600.0)
    file_seconds = 120.0 if quick else 600.0
    results: dict[str, Any] = {
        "machine": {
            "cpu": cpu_name(),
            "cores": os.cpu_count(),
            "avx512_bf16": cpu_has_bf16(),
            "threads": threads,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "model": model_name,
    }
    results["cpu"] = cpu_section(ckpt, [1, 8] if quick else [1, 8, 32], 3 if quick else 5)
    fast = Predictor(ckpt, "auto", "auto")
    with tempfile.TemporaryDirectory() as tmp:
        long_wav = Path(tmp) / "long.wav"
        results["audio"] = bench_audio(long_wav, file_seconds)
        torch.set_num_threads(all_threads)  # as ser-live --file --fast does
        file_mode: dict[str, Any] = {"audio_seconds": file_seconds, "threads": all_threads}
        for hop in (0.5, 1.0):
            s = run_file(fast, long_wav, hop, realtime=False)
            key = "hop05" if hop == 0.5 else "hop1"
            file_mode[f"realtime_factor_{key}"] = s["realtime_factor"]
            file_mode[f"recomputed_share_{key}"] = s["recomputed_share"]
        results["file_mode"] = file_mode
        torch.set_num_threads(threads)
        paced = Path(tmp) / "paced.wav"
        bench_audio(paced, live_seconds, seed=1)
        s = run_file(fast, paced, 0.5, realtime=True)
        results["live"] = {
            "seconds": live_seconds,
            "hop": 0.5,
            "windows": s["windows"],
            "latency_p50_ms": s["latency_ms"]["p50"],
            "latency_p95_ms": s["latency_ms"]["p95"],
            "dropped_blocks": s["dropped_blocks"],
            "recomputed_share": s["recomputed_share"],
        }
    if gate:
        results["gate"] = gate_benchmark(fast)
        results["gate"]["vad_ms_per_window_at_hop_0.5"] = round(
            results["gate"]["vad_ms_per_audio_second"] * 0.5, 2
        )
    if torch.cuda.is_available():
        windows = torch.from_numpy(np.stack([speech_like(5.0, seed=i) for i in range(64)]))
        runs = {
            precision: windows_run(Predictor(ckpt, "cuda", precision, max_batch=64), windows)
            for precision in ("fp32", "bf16")
        }  # probabilities() returns on the host: synced
        gpu = {
            f"windows_per_s_b64_{precision}": round(64_000 / ms, 1)
            for precision, ms in interleaved_ms(runs, 10).items()
        }
        results["gpu"] = {"device": torch.cuda.get_device_name(), **gpu}
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return results


def print_table(results: dict[str, Any]) -> None:
    """The figures as lines of text."""
    cpu, machine = results["cpu"], results["machine"]
    print(
        f"machine: {machine['cpu']}, {machine['cores']} cores, AVX-512 BF16 "
        f"{'yes' if machine['avx512_bf16'] else 'no'}, torch {machine['torch']}"
    )
    print(
        f"model: {results['model']}  fast path: {cpu['fast_path']}  threads: {machine['threads']}"
    )
    print(f"{'batch':>6} {'eager fp32 ms/win':>18} {'fast ms/win':>12} {'fast/eager':>11}")
    for b in sorted(int(k.removeprefix("eager_ms_b")) for k in cpu if k.startswith("eager_ms_b")):
        key = f"eager_ms_b{b}"
        print(
            f"{b:>6} {cpu[key]:>18} {cpu[f'fast_ms_b{b}']:>12} {cpu[f'fast_over_eager_b{b}']:>11}"
        )
    for compute_type in ("int8", "float32"):
        if f"ctranslate2_{compute_type}_ms_b1" in cpu:
            print(
                f"{cpu['peer']} {compute_type} Whisper.encode, same window and threads: "
                f"{cpu[f'ctranslate2_{compute_type}_ms_b1']} ms; fast path "
                f"{cpu[f'fast_over_ctranslate2_{compute_type}']}x of it"
            )
    if "fast_encoder_ms_b1" in cpu:
        print(
            f"ser's fast encoder alone on that log-mel: {cpu['fast_encoder_ms_b1']} ms, "
            f"{cpu['fast_encoder_over_ctranslate2_int8']}x CTranslate2 int8"
        )
    else:
        print(f"peer: {cpu['peer']}")
    print(
        f"near-ties recomputed in fp32 (speech windows only): "
        f"+{cpu['recompute_extra_ms_b1']} ms for each recomputed window"
    )
    fm, live = results["file_mode"], results["live"]
    print(f"stream audio: {results['audio']}")
    print(
        f"file mode ({fm['audio_seconds']:.0f} s): {fm['realtime_factor_hop05']}x real time at "
        f"hop 0.5 s, {fm['realtime_factor_hop1']}x at hop 1 s; recomputed "
        f"{fm['recomputed_share_hop05']:.1%} / {fm['recomputed_share_hop1']:.1%} of windows"
    )
    print(
        f"live ({live['seconds']:.0f} s paced, hop 0.5 s): latency p50 {live['latency_p50_ms']} ms,"
        f" p95 {live['latency_p95_ms']} ms, dropped blocks {live['dropped_blocks']}, "
        f"recomputed {live['recomputed_share']:.1%}"
    )
    if "gpu" in results:
        print(f"gpu {results['gpu']}")
    if "gate" in results:
        print_gate(results["gate"])
    print(f"peak RSS {results['peak_rss_mb']} MB")
    sys.stdout.flush()
