"""Corpus scanners: CREMA-D (Kaggle layout), RAVDESS, TESS and manifest corpora to labelled
utterance lists."""

import csv
from dataclasses import dataclass
from pathlib import Path

from ser.errors import SerError
from ser.labels import EMOTIONS


@dataclass(frozen=True)
class Utterance:
    """One labelled clip: where it is, its class index, who speaks and their sex (m/f/?)."""

    path: Path
    label: int
    speaker: str
    sex: str = "?"


CREMAD_CODES = {"ANG": 0, "DIS": 1, "FEA": 2, "HAP": 3, "NEU": 4, "SAD": 5}
RAVDESS_CODES = {"05": 0, "07": 1, "06": 2, "03": 3, "01": 4, "04": 5}
TESS_NAMES = {"angry": 0, "disgust": 1, "fear": 2, "happy": 3, "neutral": 4, "sad": 5}


def _require_dir(root: Path, corpus: str) -> Path:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise SerError(f"{corpus} data folder not found: {root}")
    return root


def _cremad_sexes(root: Path) -> dict[str, str]:
    """Actor sex from CREMA-D's VideoDemographics.csv when it sits beside AudioWAV/."""
    for candidate in (root / "VideoDemographics.csv", root.parent / "VideoDemographics.csv"):
        if candidate.is_file():
            with candidate.open(newline="") as handle:
                return {
                    row["ActorID"]: "m" if row["Sex"].lower().startswith("m") else "f"
                    for row in csv.DictReader(handle)
                }
    return {}


def scan_cremad(root: str | Path) -> list[Utterance]:
    """CREMA-D: `AudioWAV/1001_DFA_ANG_XX.wav` (actor_sentence_emotion_level)."""
    root = _require_dir(Path(root), "CREMA-D")
    audio_dir = root / "AudioWAV" if (root / "AudioWAV").is_dir() else root
    sexes = _cremad_sexes(root)
    items = []
    for path in sorted(audio_dir.glob("*.wav")):
        parts = path.stem.split("_")
        if len(parts) >= 3 and parts[2] in CREMAD_CODES:
            items.append(
                Utterance(path, CREMAD_CODES[parts[2]], parts[0], sexes.get(parts[0], "?"))
            )
    return items


def scan_ravdess(root: str | Path) -> list[Utterance]:
    """RAVDESS speech: `Actor_NN/03-01-EE-II-SS-RR-AA.{wav,flac}`; calm and surprised dropped."""
    root = _require_dir(Path(root), "RAVDESS")
    items = []
    for path in sorted(root.glob("Actor_*/*")):
        parts = path.stem.split("-")
        if path.suffix.lower() not in (".wav", ".flac") or len(parts) != 7:
            continue
        if parts[0] == "03" and parts[1] == "01" and parts[2] in RAVDESS_CODES:
            actor = parts[6]
            sex = "m" if int(actor) % 2 else "f"
            items.append(Utterance(path, RAVDESS_CODES[parts[2]], actor, sex))
    return items


def scan_tess(root: str | Path) -> list[Utterance]:
    """TESS: `<OAF|YAF>_<emotion>/*.{wav,flac}`; both speakers female."""
    root = _require_dir(Path(root), "TESS")
    items = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        speaker, _, emotion = folder.name.partition("_")
        label = TESS_NAMES.get(emotion.lower())
        if label is None:
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in (".wav", ".flac"):
                items.append(Utterance(path, label, f"tess-{speaker}", "f"))
    return items


def scan_manifest(root: str | Path) -> list[Utterance]:
    """A corpus with `manifest.csv` (path,speaker,emotion,mapped); rows with no mapped class
    are skipped. Serves URDU, EMOVO, ASED and any corpus laid out the same way."""
    root = _require_dir(Path(root), "manifest corpus")
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise SerError(f"{manifest}: no manifest.csv in the corpus folder")
    index = {name: i for i, name in enumerate(EMOTIONS)}
    items = []
    with manifest.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            mapped = (row.get("mapped") or "").strip()
            if not mapped:
                continue
            if mapped not in index:
                raise SerError(f"{manifest}: unknown class {mapped!r}")
            items.append(Utterance(root / row["path"], index[mapped], row["speaker"]))
    return items


SCANNERS = {
    "cremad": scan_cremad,
    "ravdess": scan_ravdess,
    "tess": scan_tess,
    "manifest": scan_manifest,
}


def scan(corpus: str, root: str | Path) -> list[Utterance]:
    """Scan a named corpus; SerError when the folder is missing or holds no clips."""
    if corpus not in SCANNERS:
        raise SerError(f"unknown corpus '{corpus}' (known: {', '.join(SCANNERS)})")
    items = SCANNERS[corpus](root)
    if not items:
        raise SerError(f"no {corpus} clips found under {root}")
    return items
