"""Cutting a recording into windows an audio LLM accepts, at silences found by faster-whisper's Silero VAD.

Qwen processors cut audio at 30 s per input without a word of warning; windows cut here, between speech
regions, keep every word inside exactly one window. Only a single stretch of speech longer than the limit
has to be cut inside speech, and then at its quietest 20 ms within the last few seconds before the limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from transcriber.audio import SAMPLE_RATE
from transcriber.vad import speech_regions

_FRAME = SAMPLE_RATE // 50  # 20 ms
_SEARCH_SECONDS = 3.0


@dataclass(frozen=True)
class Window:
    """A span of the recording in samples; `seconds` gives it in seconds."""

    start: int
    end: int

    @property
    def seconds(self) -> tuple[float, float]:
        return self.start / SAMPLE_RATE, self.end / SAMPLE_RATE


def _quietest_cut(samples: np.ndarray, start: int, limit: int) -> int:
    """The quietest 20 ms frame boundary in the last seconds before `start + limit`."""
    lo = max(start + _FRAME, start + limit - int(_SEARCH_SECONDS * SAMPLE_RATE))
    hi = start + limit
    frames = samples[lo:hi][: (hi - lo) // _FRAME * _FRAME].reshape(-1, _FRAME)
    if not len(frames):
        return hi
    return lo + int(np.argmin((frames**2).mean(axis=1))) * _FRAME


def plan_windows(samples: np.ndarray, max_seconds: float, regions: list[tuple[int, int]] | None = None) -> list[Window]:
    """Windows of at most `max_seconds` covering all speech, cut between speech regions where possible."""
    limit = int(max_seconds * SAMPLE_RATE)
    regions = speech_regions(samples) if regions is None else regions
    pieces: list[tuple[int, int]] = []
    for start, end in regions:
        while end - start > limit:
            cut = _quietest_cut(samples, start, limit)
            pieces.append((start, cut))
            start = cut
        pieces.append((start, end))
    windows: list[Window] = []
    for start, end in pieces:
        if windows and end - windows[-1].start <= limit:
            windows[-1] = Window(windows[-1].start, end)
        else:
            windows.append(Window(start, end))
    return windows
