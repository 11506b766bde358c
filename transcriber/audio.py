"""Decoding any audio or video container PyAV reads into 16 kHz mono float32, streamed.

Frames are resampled one by one into a single preallocated float32 array (230 MB per hour of audio), sized
from the duration the container declares and grown when that is missing or wrong, so peak memory is that
array and not several copies of it (a list of chunks plus their concatenation plus a type conversion, as
a decode-then-convert approach needs). Everything that cannot be decoded is one `AudioError` that names the
file, the stage and the fix; a file that decodes to much less than it declares gets a truncation warning.
"""

from __future__ import annotations

import io
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from transcriber.errors import AudioError, display

SAMPLE_RATE = 16000
_TRUNCATED_BELOW = 0.9
#: First allocation when the container declares no duration: ten minutes (38 MB); grown by half as needed.
_UNKNOWN_DURATION_SAMPLES = 600 * SAMPLE_RATE


@dataclass
class Audio:
    """Decoded samples and what was noticed while decoding."""

    samples: np.ndarray
    warnings: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


class _Samples:
    """A float32 array filled front to back; grows in place (realloc) when the declared length was short."""

    def __init__(self, capacity: int) -> None:
        self.data = np.empty(max(capacity, SAMPLE_RATE), dtype=np.float32)
        self.size = 0

    def append(self, chunk: np.ndarray) -> None:
        end = self.size + len(chunk)
        if end > len(self.data):
            self.data.resize(max(end, len(self.data) * 3 // 2), refcheck=False)
        self.data[self.size : end] = chunk
        self.size = end

    def finish(self) -> np.ndarray:
        self.data.resize(self.size, refcheck=False)
        np.clip(self.data, -1.0, 1.0, out=self.data)  # the resampler's filter can overshoot full scale slightly
        return self.data


def _declared_duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def _frames(container: Any, stream: Any) -> Iterator[Any]:
    """Decoded frames, skipping the invalid packets a damaged file holds (as faster-whisper does)."""
    import av

    frames = container.decode(stream)
    while True:
        try:
            yield next(frames)
        except StopIteration:
            return
        except av.error.InvalidDataError:
            continue


def _stream(path: Path, data: bytes | None) -> tuple[np.ndarray, float | None]:
    import av

    with (
        path.open("rb") if data is None else io.BytesIO(data) as handle,
        av.open(handle, metadata_errors="ignore") as container,
    ):
        if not container.streams.audio:
            raise AudioError(f"{display(path)}: decode: has no audio stream; nothing to transcribe")
        stream = container.streams.audio[0]
        declared = _declared_duration(container, stream)
        capacity = int(declared * SAMPLE_RATE) + SAMPLE_RATE if declared else _UNKNOWN_DURATION_SAMPLES
        samples = _Samples(capacity)
        resampler = av.audio.resampler.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        for frame in _frames(container, stream):
            for out in resampler.resample(frame):
                samples.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            samples.append(out.to_ndarray().reshape(-1))
    return samples.finish(), declared


def check_file(path: Path) -> None:
    """Refuse what is not a regular, non-empty file before any decoder (or a FIFO's open) can hang on it."""
    info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        raise AudioError(
            f"{display(path)}: decode: is a folder named like an audio file; rename it or move its recordings out"
        )
    if not stat.S_ISREG(info.st_mode):
        raise AudioError(
            f"{display(path)}: decode: is not a regular file (a FIFO, socket or device); give a recording file"
        )
    if info.st_size == 0:
        raise AudioError(f"{display(path)}: decode: is empty (0 bytes); re-export or re-copy the recording")


def decode(path: Path, data: bytes | None = None) -> Audio:
    """Decode `path`; raises `AudioError` for empty, corrupt, non-audio or unreadable files.

    With `data`, those bytes are decoded instead of reading `path` (a Ray worker gets the recording's bytes
    from the driver, with no shared file system) and `path` only names the recording in errors.
    """
    import av

    try:
        if data is None:
            check_file(path)
        elif not data:
            raise AudioError(f"{display(path)}: decode: is empty (0 bytes); re-export or re-copy the recording")
        samples, declared = _stream(path, data)
    except AudioError:
        raise
    except PermissionError as exc:
        raise AudioError(f"{display(path)}: decode: cannot be read ({exc.strerror}); check its permissions") from exc
    except (av.error.FFmpegError, OSError, ValueError, IndexError, RuntimeError, EOFError) as exc:
        raise AudioError(
            f"{display(path)}: decode: is not decodable audio ({exc}); it may be corrupt or not a recording"
        ) from exc
    if samples.size == 0:
        raise AudioError(f"{display(path)}: decode: holds no decodable audio samples; it may be truncated or corrupt")
    audio = Audio(samples=samples)
    if declared and audio.duration < _TRUNCATED_BELOW * declared:
        audio.warnings.append(
            f"decoded {audio.duration:.1f} s of the {declared:.1f} s the file declares: it looks truncated, "
            "so only the part present was transcribed"
        )
    return audio
