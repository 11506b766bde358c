"""Where the speaker encoder looks: speech in 10 ms frames (the encoder's mel hop) and the sliding windows
inside it that are embedded. Used by the diarizer and by the voice samples alike.
"""

from __future__ import annotations

import numpy as np

from transcriber.audio import SAMPLE_RATE
from transcriber.vad import speech_regions

FRAMES_PER_SECOND = 100  # resemblyzer's mel hop is 10 ms
WINDOW_FRAMES = 160  # 1.6 s
STEP_FRAMES = 40  # 0.4 s
MIN_WINDOW_FRAMES = 40  # regions shorter than 0.4 s are not embedded; they take their neighbour's speaker


def speech_frames(samples: np.ndarray) -> list[tuple[int, int]]:
    """Speech as (first, last) 10 ms frames, split at pauses of 250 ms (turn-taking gaps)."""
    per_frame = SAMPLE_RATE // FRAMES_PER_SECOND
    regions = speech_regions(samples, min_silence_ms=250, pad_ms=30, min_speech_ms=100)
    return [(start // per_frame, end // per_frame) for start, end in regions]


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
