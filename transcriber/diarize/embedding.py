"""The offline diarizer: Silero VAD regions, GE2E embeddings of sliding windows, clustering, smoothing.

Everything comes from pip: the VAD model ships in faster-whisper's wheel, the encoder's weights in
resemblyzer's. Windows of 1.6 s (the length GE2E was trained on) step by 0.4 s inside each speech region;
each 10 ms frame takes the speaker most of its covering windows voted for, and turns shorter than
`MIN_TURN_SECONDS` are folded into their neighbours, so one odd window cannot invent a speaker change.
"""

from __future__ import annotations

import numpy as np

from transcriber.audio import SAMPLE_RATE
from transcriber.diarize import Turn
from transcriber.diarize.clustering import cluster
from transcriber.diarize.encoder import FRAMES_PER_SECOND, SpeakerEncoder

WINDOW_FRAMES = 160  # 1.6 s
STEP_FRAMES = 40  # 0.4 s
MIN_WINDOW_FRAMES = 40  # regions shorter than 0.4 s are not embedded; they take their neighbour's speaker
MIN_TURN_SECONDS = 0.6


def speech_regions(samples: np.ndarray) -> list[tuple[int, int]]:
    """Speech as (first, last) 10 ms frames from Silero VAD, split at pauses of 250 ms (turn-taking gaps)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=250, speech_pad_ms=30, min_speech_duration_ms=100)
    per_frame = SAMPLE_RATE // FRAMES_PER_SECOND
    return [(r["start"] // per_frame, r["end"] // per_frame) for r in get_speech_timestamps(samples, options)]


def windows(regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sliding windows inside each region; a region shorter than one window is one window of its own length."""
    spans = []
    for first, last in regions:
        if last - first < MIN_WINDOW_FRAMES:
            continue
        if last - first <= WINDOW_FRAMES:
            spans.append((first, last))
            continue
        starts = list(range(first, last - WINDOW_FRAMES + 1, STEP_FRAMES))
        if starts[-1] + WINDOW_FRAMES < last:
            starts.append(last - WINDOW_FRAMES)
        spans += [(s, s + WINDOW_FRAMES) for s in starts]
    return spans


def frame_labels(regions: list[tuple[int, int]], spans: list[tuple[int, int]], labels: np.ndarray) -> np.ndarray:
    """Speaker per 10 ms frame (-1 outside speech): the majority of covering windows, else the nearest one."""
    total = max(last for _, last in regions)
    votes = np.zeros((total, int(labels.max()) + 1))
    for (first, last), label in zip(spans, labels, strict=True):
        votes[first:last, label] += 1
    out = np.full(total, -1)
    voiced = np.zeros(total, dtype=bool)
    for first, last in regions:
        voiced[first:last] = True
    known = voiced & (votes.sum(axis=1) > 0)
    out[known] = votes[known].argmax(axis=1)
    missing = np.flatnonzero(voiced & ~known)
    if missing.size:
        have = np.flatnonzero(known)
        nearest = np.clip(np.searchsorted(have, missing), 0, have.size - 1)
        out[missing] = out[have[nearest]]
    return out


def _runs(labels: np.ndarray) -> list[list[int]]:
    """[label, first, last) runs of equal labels; -1 runs are silence."""
    edges = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [labels.size]])
    return [[int(labels[s]), int(s), int(e)] for s, e in zip(starts, ends, strict=True)]


def smooth(labels: np.ndarray) -> list[Turn]:
    """Runs of one speaker as turns; a run shorter than `MIN_TURN_SECONDS` joins the longer neighbour."""
    labels = labels.copy()
    shortest = int(MIN_TURN_SECONDS * FRAMES_PER_SECOND)
    for label, first, last in sorted(_runs(labels), key=lambda r: r[2] - r[1]):
        if label < 0 or last - first >= shortest:
            continue
        before = labels[first - 1] if first > 0 else -1
        after = labels[last] if last < labels.size else -1
        if before >= 0 or after >= 0:
            labels[first:last] = before if before >= 0 else after
    return [
        Turn(first / FRAMES_PER_SECOND, last / FRAMES_PER_SECOND, f"spk{label}")
        for label, first, last in _runs(labels)
        if label >= 0
    ]


class EmbeddingDiarizer:
    """Diarizes with nothing but what pip installed; `speakers` fixes the count, None estimates it."""

    name = "embedding"

    def __init__(self, speakers: int | None, device: str = "cpu") -> None:
        self.speakers = speakers
        self.encoder = SpeakerEncoder(device)

    def turns(self, samples: np.ndarray) -> list[Turn]:
        regions = speech_regions(samples)
        spans = windows(regions)
        if not spans:
            return [Turn(f / FRAMES_PER_SECOND, t / FRAMES_PER_SECOND, "spk0") for f, t in regions]
        embeddings = self.encoder.embed(self.encoder.mel(samples), spans)
        return smooth(frame_labels(regions, spans, cluster(embeddings, self.speakers)))
