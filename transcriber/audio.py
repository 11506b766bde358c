"""Decoding any audio or video container PyAV reads into 16 kHz mono float32, streamed.

Frames are resampled one by one into a single preallocated float32 array (230 MB per hour of audio), sized
from the duration the container declares and grown when that is missing or wrong, so peak memory is that
array and not several copies of it (a list of chunks plus their concatenation plus a type conversion, as
a decode-then-convert approach needs). A header is believed only as far as the file's size allows (a
7 s FLAC that claims 50 days starts at ten minutes and grows by what is decoded). Everything that cannot be
decoded is one `AudioError` that names the file, the stage and the fix; a file that decodes to much less
than it declares gets a truncation warning.

A file with several audio tracks (a screen recording with a silent microphone track, a video with a
commentary track) is decoded from the track that holds sound: the default-flagged one if it is not silent,
else the loudest, measured over its first minutes; `--audio-track N` picks one, and the choice is said.
"""

from __future__ import annotations

import io
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from transcriber.errors import AudioError, display

SAMPLE_RATE = 16000
_TRUNCATED_BELOW = 0.9
#: First allocation when the container declares no duration: ten minutes (38 MB); grown by half as needed.
_UNKNOWN_DURATION_SAMPLES = 600 * SAMPLE_RATE
#: Output samples a byte of any real codec decodes to at most (codec2 at 1.2 kbit/s is about 110); a header
#: that declares more than this per byte of file is not believed for the first allocation.
_MAX_SAMPLES_PER_BYTE = 128
#: How much of each track is measured to choose among several, and the level below which a track is silent.
_PROBE_SECONDS = 300
_SILENT_DBFS = -60.0


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


def _wav_data_seconds(head: bytes) -> float | None:
    """The length a RIFF/WAVE header's `data` chunk declares (FFmpeg reports the length the file's size allows,
    so a cut-off WAV would otherwise look whole), or None if the header says nothing usable."""
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    at, byte_rate = 12, 0
    while at + 8 <= len(head):
        name, size = head[at : at + 4], int.from_bytes(head[at + 4 : at + 8], "little")
        if name == b"fmt " and at + 16 <= len(head):
            byte_rate = int.from_bytes(head[at + 16 : at + 20], "little")
        if name == b"data":
            return size / byte_rate if byte_rate and size not in (0, 0xFFFFFFFF) else None  # streamed WAVs say 0/max
        at += 8 + size + (size & 1)
    return None


def _declared_duration(container: Any, stream: Any, head: bytes) -> float | None:
    if container.format.name == "wav" and (seconds := _wav_data_seconds(head)) is not None:
        return seconds
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


@contextmanager
def _open(path: Path, data: bytes | None) -> Iterator[Any]:
    import av

    with (
        path.open("rb") if data is None else io.BytesIO(data) as handle,
        av.open(handle, metadata_errors="ignore") as box,
    ):
        yield box


def _resampled(container: Any, stream: Any) -> Iterator[np.ndarray]:
    """The stream as 16 kHz mono float32 chunks."""
    import av

    resampler = av.audio.resampler.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    for frame in _frames(container, stream):
        for out in resampler.resample(frame):
            yield out.to_ndarray().reshape(-1)
    for out in resampler.resample(None):
        yield out.to_ndarray().reshape(-1)


def _level_dbfs(path: Path, data: bytes | None, index: int) -> float:
    """RMS level of audio track `index` over its first `_PROBE_SECONDS`, in dB below full scale."""
    energy, count = 0.0, 0
    with _open(path, data) as container:
        for chunk in _resampled(container, container.streams.audio[index]):
            energy += float(np.dot(chunk, chunk))
            count += len(chunk)
            if count >= _PROBE_SECONDS * SAMPLE_RATE:
                break
    return 10 * float(np.log10(energy / count)) if energy > 0 and count else -200.0


def _choose_track(path: Path, data: bytes | None, tracks: list[Any], track: int | None) -> tuple[int, str | None]:
    """The audio track to decode, and a note saying which when there was a choice."""
    if track is not None:
        if track >= len(tracks):
            raise AudioError(
                f"{display(path)}: decode: --audio-track {track}: it has {len(tracks)} audio track(s), numbered from 0"
            )
        return track, None
    if len(tracks) == 1:
        return 0, None
    levels = [_level_dbfs(path, data, i) for i in range(len(tracks))]
    sounding = [i for i, level in enumerate(levels) if level > _SILENT_DBFS]
    default = [i for i in sounding if tracks[i].disposition & _default_flag()]
    chosen = default[0] if default else max(sounding, key=lambda i: levels[i]) if sounding else 0
    how = "the default track" if default else "the loudest" if sounding else "all are silent"
    heard = ", ".join(f"{i}: {level:.0f} dBFS" for i, level in enumerate(levels))
    return chosen, (
        f"{len(tracks)} audio tracks ({heard}); transcribed track {chosen} ({how}); choose another with --audio-track N"
    )


def _default_flag() -> int:
    import av

    return int(av.stream.Disposition.default)


def _head(path: Path, data: bytes | None) -> bytes:
    """The first 64 KiB, where a WAV's chunk headers are."""
    if data is not None:
        return data[:65536]
    with path.open("rb") as handle:
        return handle.read(65536)


def _first_allocation(declared: float | None, size: int) -> int:
    """Samples to allocate up front: the declared length, unless the file is too small to hold it."""
    if not declared:
        return _UNKNOWN_DURATION_SAMPLES
    wanted = int(declared * SAMPLE_RATE) + SAMPLE_RATE
    return wanted if wanted <= size * _MAX_SAMPLES_PER_BYTE else _UNKNOWN_DURATION_SAMPLES


def _stream(path: Path, data: bytes | None, track: int | None) -> tuple[np.ndarray, float | None, list[str]]:
    with _open(path, data) as container:
        tracks = list(container.streams.audio)
        if not tracks:
            raise AudioError(f"{display(path)}: decode: has no audio stream; nothing to transcribe")
        index, note = _choose_track(path, data, tracks, track)
        stream = tracks[index]
        declared = _declared_duration(container, stream, _head(path, data))
        size = len(data) if data is not None else path.stat().st_size
        samples = _Samples(_first_allocation(declared, size))
        for chunk in _resampled(container, stream):
            samples.append(chunk)
    return samples.finish(), declared, [note] if note else []


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


def decode(path: Path, data: bytes | None = None, track: int | None = None) -> Audio:
    """Decode `path`; raises `AudioError` for empty, corrupt, non-audio or unreadable files.

    With `data`, those bytes are decoded instead of reading `path` (a Ray worker gets the recording's bytes
    from the driver, with no shared file system) and `path` only names the recording in errors. `track`
    picks the audio track (numbered from 0); None chooses the one with sound (module docstring).
    """
    import av

    try:
        if data is None:
            check_file(path)
        elif not data:
            raise AudioError(f"{display(path)}: decode: is empty (0 bytes); re-export or re-copy the recording")
        samples, declared, notes = _stream(path, data, track)
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
    audio = Audio(samples=samples, warnings=notes)
    if declared and audio.duration < _TRUNCATED_BELOW * declared:
        audio.warnings.append(
            f"decoded {audio.duration:.1f} s of the {declared:.1f} s the file declares: it looks truncated, "
            "so only the part present was transcribed"
        )
    return audio
