"""The baseline every benchmark compares against: plain faster-whisper, its own defaults, the same model.

"Plain" means what a user gets from `WhisperModel(...).transcribe(audio)` without this tool: no VAD,
beam 5, previous text as a prompt, no cleanup. `transcriber bench` and `scripts/bench_overhead.py` both
use it, so "the tool against plain faster-whisper" means one thing in every report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

BASELINE_PREFIX = "faster-whisper plain"


def load_plain(model: str, device: str, compute_type: str) -> tuple[str, Any]:
    """(catalog name, `WhisperModel`) for `model`, resolved the way `transcriber run` resolves it."""
    from faster_whisper import WhisperModel

    from transcriber.catalog import resolve_model

    name, path = resolve_model(model)
    return name, WhisperModel(str(path), device=device, compute_type=compute_type)


def plain_text(whisper: Any, audio: str | np.ndarray) -> tuple[str, str]:
    """The text plain faster-whisper makes of `audio` (a file path or 16 kHz mono samples), and its language."""
    segments, info = whisper.transcribe(audio)
    return " ".join(s.text.strip() for s in segments), info.language
