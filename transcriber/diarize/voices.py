"""Naming speakers from voice samples: `--voices DIR` holds `NAME.wav` (any audio format), a few seconds each.

Each sample and each diarized speaker becomes one GE2E embedding (the mean of its windows); samples are
matched to speakers one-to-one by the Hungarian assignment on cosine similarity, and a match counts only
above `MATCH_THRESHOLD`, so a voice with no sample keeps "Speaker N" rather than taking the nearest name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from transcriber.audio import SAMPLE_RATE, decode
from transcriber.diarize import Turn
from transcriber.diarize.encoder import SpeakerEncoder
from transcriber.discovery import AUDIO_EXTENSIONS
from transcriber.errors import AudioError, ConfigError
from transcriber.transcript import Transcript

MATCH_THRESHOLD = 0.75


def sample_files(folder: Path) -> list[Path]:
    """The voice samples in `folder`, sorted; a missing or empty folder is a usage error."""
    if not folder.is_dir():
        raise ConfigError(f"--voices {folder}: is not a folder; give a folder of NAME.wav voice samples")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
    if not files:
        raise ConfigError(f"--voices {folder}: holds no audio files; add NAME.wav samples of a few seconds each")
    return files


def fingerprint(folder: Path) -> str:
    """Names and content of the samples, for the settings hash: a changed sample redoes the naming."""
    digest = hashlib.sha256()
    for path in sample_files(folder):
        digest.update(path.stem.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def check_samples(folder: Path) -> None:
    """Decode every sample before any recording is recognised: a sample that is not audio is a usage error
    (exit 2, nothing ran), not a failure found after an hour of recognition."""
    for path in sample_files(folder):
        try:
            decode(path)
        except AudioError as exc:
            raise ConfigError(f"--voices: {exc}") from exc


def load_voices(folder: Path, encoder: SpeakerEncoder) -> dict[str, np.ndarray]:
    """NAME -> embedding for every sample; a sample with no speech in it is a usage error naming it."""
    voices = {}
    for path in sample_files(folder):
        try:
            embedding = encoder.embed_samples(decode(path).samples)
        except AudioError as exc:
            raise ConfigError(f"--voices: {exc}") from exc
        if embedding is None:
            raise ConfigError(f"--voices: {path} holds no speech; record a few seconds of that voice")
        voices[path.stem] = embedding
    return voices


def speaker_embeddings(samples: np.ndarray, turns: Sequence[Turn], encoder: SpeakerEncoder) -> dict[str, np.ndarray]:
    """One embedding per speaker label from the audio of all its turns joined."""
    found = {}
    for label in dict.fromkeys(t.speaker for t in turns):
        pieces = [samples[int(t.start * SAMPLE_RATE) : int(t.end * SAMPLE_RATE)] for t in turns if t.speaker == label]
        embedding = encoder.embed_samples(np.concatenate(pieces))
        if embedding is not None:
            found[label] = embedding
    return found


def name_from_voices(
    transcript: Transcript, speakers: dict[str, np.ndarray], voices: dict[str, np.ndarray]
) -> dict[str, float]:
    """Rename table entries whose embedding matches a sample; returns name -> similarity for the matches.

    `speakers` is keyed by the table's ids (S1, S2...).
    """
    from scipy.optimize import linear_sum_assignment

    ids, names = list(speakers), list(voices)
    if not ids or not names:
        return {}
    similarity = np.stack([speakers[i] for i in ids]) @ np.stack([voices[n] for n in names]).T
    matched = {}
    for row, col in zip(*linear_sum_assignment(-similarity), strict=True):
        if similarity[row, col] >= MATCH_THRESHOLD:
            entry = next(s for s in transcript.speakers if s.id == ids[row])
            entry.name = names[col]
            matched[names[col]] = float(similarity[row, col])
    return matched
