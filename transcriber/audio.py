"""Decoding any audio or video container PyAV reads into 16 kHz mono float32.

faster-whisper's `decode_audio` does the resampling; this module adds what a batch needs around it:
one `AudioError` that names the file and the problem for everything that cannot be decoded, and a
warning when a file decodes to much less than its container claims (a truncated download or recording).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from transcriber.errors import AudioError

SAMPLE_RATE = 16000
_TRUNCATED_BELOW = 0.9


@dataclass
class Audio:
    """Decoded samples and what was noticed while decoding."""

    samples: np.ndarray
    warnings: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def _declared_duration(path: Path) -> float | None:
    import av

    with av.open(str(path)) as container:
        streams = container.streams.audio
        if not streams:
            raise AudioError(f"{path}: has no audio stream; nothing to transcribe")
        stream = streams[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        if container.duration is not None:
            return container.duration / 1_000_000
    return None


def decode(path: Path) -> Audio:
    """Decode `path`; raises `AudioError` for empty, corrupt, non-audio or unreadable files."""
    import av
    from faster_whisper.audio import decode_audio

    if path.is_dir():
        raise AudioError(f"{path}: is a folder named like an audio file; rename it or move its recordings out")
    try:
        if path.stat().st_size == 0:
            raise AudioError(f"{path}: is empty (0 bytes); re-export or re-copy the recording")
        declared = _declared_duration(path)
        samples = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    except AudioError:
        raise
    except PermissionError as exc:
        raise AudioError(f"{path}: cannot be read ({exc.strerror}); check its permissions") from exc
    except (av.error.FFmpegError, OSError, ValueError, IndexError, RuntimeError) as exc:
        raise AudioError(f"{path}: is not decodable audio ({exc}); it may be corrupt or not a recording") from exc
    if samples.size == 0:
        raise AudioError(f"{path}: holds no decodable audio samples; it may be truncated or corrupt")
    audio = Audio(samples=samples.astype(np.float32, copy=False))
    if declared and audio.duration < _TRUNCATED_BELOW * declared:
        audio.warnings.append(
            f"decoded {audio.duration:.1f} s of the {declared:.1f} s the file declares: it looks truncated, "
            "so only the part present was transcribed"
        )
    return audio
