"""Where speech is: the Silero VAD that ships in faster-whisper's wheel, the one voice-activity detector here.

Callers choose the pauses that split regions and the padding around them (an audio LLM's windows want long
pauses and generous padding, diarization short turn-taking gaps); the regions are always in samples.
"""

from __future__ import annotations

import numpy as np


def speech_regions(
    samples: np.ndarray, min_silence_ms: int = 300, pad_ms: int = 200, min_speech_ms: int | None = None
) -> list[tuple[int, int]]:
    """Speech as (start, end) in samples (16 kHz), split at pauses of `min_silence_ms`, padded by `pad_ms`;
    regions shorter than `min_speech_ms` are dropped (faster-whisper's default when None)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    minimum = {} if min_speech_ms is None else {"min_speech_duration_ms": min_speech_ms}
    options = VadOptions(min_silence_duration_ms=min_silence_ms, speech_pad_ms=pad_ms, **minimum)
    return [(r["start"], r["end"]) for r in get_speech_timestamps(samples, options)]
