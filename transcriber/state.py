"""What a batch keeps in `OUT/.transcriber/`: the manifest, the raw-transcript cache and the lock.

The manifest maps each recording (relative path) to the hash of its content and of the settings that
produced its outputs, and lists those outputs, so a rerun skips finished files and redoes those whose
audio, settings or output names changed. Raw (verbatim, pre-cleanup) transcripts are cached by content and
ASR-settings hash, so changing only the cleanup or the formats never repeats speech recognition. The lock
stops two runs writing one folder. Whatever is found in the folder, these heal: a manifest, cache entry
or lock that cannot be read or has the wrong shape is set aside (renamed, with a warning) and rebuilt, as
losing state only costs a redo, never a wrong skip. State files are opened without following links and
without blocking, and only a regular file of sane size is read, so a FIFO, a device or a link to `/dev/zero`
in their place is set aside instead of hanging the run.

The manifest is keyed by output stem (`OUT/<stem>.<fmt>`), as the output folder outlives any one batch: each
entry names the source that owns the stem (`transcriber.ownership` keeps a second source off it).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import socket
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transcriber.errors import OutputLockedError, display
from transcriber.transcript import Segment, Transcript
from transcriber.writers import write_atomic

STATE_DIR = ".transcriber"
_CHUNK = 1 << 20
#: Larger than any manifest or cached transcript of a sane batch; a bigger "state file" is not ours.
MAX_STATE_BYTES = 512 << 20
Warn = Callable[[str], None]


def content_hash(path: Path) -> str:
    """sha256 of the file's bytes: renaming or moving a recording does not make it new."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_state_file(path: Path, limit: int = MAX_STATE_BYTES) -> bytes:
    """The bytes of a state file, or OSError/ValueError if it is not a regular file of at most `limit` bytes.

    `O_NOFOLLOW | O_NONBLOCK`: a link, FIFO or device in its place fails at once instead of hanging the run.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError("it is a link, not a file of ours") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("it is not a regular file")
        if info.st_size > limit:
            raise ValueError(f"it is {info.st_size} bytes, more than any state file")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ValueError("it grew past the size of any state file")
    return data


def set_aside(path: Path, why: str, warn: Warn) -> None:
    """Rename a damaged state file or folder out of the way (kept for a look), and say so."""
    target = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    os.replace(path, target)
    warn(f"warning: {display(path)}: {why}; set aside as {display(target.name)} and rebuilt")


def ensure_folder(path: Path, warn: Warn) -> None:
    """`path` as a real folder; anything else in its place (a file, a dangling link) is set aside first."""
    if os.path.lexists(path) and not path.is_dir():
        set_aside(path, "is not a folder", warn)
    path.mkdir(parents=True, exist_ok=True)


VERBATIM_SUFFIX = ".verbatim.txt"  # the output every recording has; the manifest's stems end before it


def _valid_entry(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and all(isinstance(entry.get(k), str) for k in ("content_hash", "settings_hash", "source", "relative"))
        and isinstance(entry.get("outputs"), list)
        and all(isinstance(name, str) for name in entry["outputs"])
    )


def _from_version_1(files: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Version 1 keyed entries by the recording's relative path and named no source: key them by stem, with
    the relative path as the only clue to the owner (`ownership` matches it)."""
    entries = {}
    for relative, entry in files.items():
        outputs = entry.get("outputs") if isinstance(entry, dict) else None
        if isinstance(outputs, list) and outputs and str(outputs[-1]).endswith(VERBATIM_SUFFIX):
            entries[str(outputs[-1])[: -len(VERBATIM_SUFFIX)]] = {**entry, "source": "", "relative": relative}
    return entries


class Manifest:
    """`manifest.json`: one entry per output stem, saying which source owns it and what it was made from.

    An entry is `{"source", "relative", "content_hash", "settings_hash", "outputs"}`; `source` is the real path
    of the recording that wrote it ("" for an entry from version 1). A batch changes the file through
    `staged` + `commit`, so the new manifest switches in the same journal as the outputs it describes.
    """

    def __init__(self, output: Path, warn: Warn) -> None:
        self.path = output / STATE_DIR / "manifest.json"
        self.entries: dict[str, dict[str, Any]] = {}
        if os.path.lexists(self.path):
            self.entries = self._load(warn)

    def _load(self, warn: Warn) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(read_state_file(self.path).decode("utf-8"))
            files = data.get("files") if isinstance(data, dict) else None
            if not isinstance(files, dict):
                raise ValueError("it has no table of files")
        except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            set_aside(self.path, f"cannot be read ({exc})", warn)
            return {}
        if data.get("version") == 1:
            files = _from_version_1(files)
        return {stem: entry for stem, entry in files.items() if _valid_entry(entry)}

    def is_done(self, stem: str, digest: str, settings: str, outputs: list[str], output: Path) -> bool:
        entry = self.entries.get(stem)
        return (
            entry is not None
            and entry["content_hash"] == digest
            and entry["settings_hash"] == settings
            and entry["outputs"] == outputs
            and all((output / name).is_file() for name in outputs)
        )

    def staged(self, stem: str, entry: dict[str, Any]) -> str:
        """The manifest's text with `entry` at `stem`, for the journal to switch in with its outputs."""
        # ASCII escapes keep names with undecodable bytes (lone surrogates) exact through a reload.
        return json.dumps({"version": 2, "files": {**self.entries, stem: entry}}, indent=2)

    def commit(self, stem: str, entry: dict[str, Any]) -> None:
        """Take `entry` as written (once the journal switched the staged text in)."""
        self.entries[stem] = entry


def _check_transcript(transcript: Transcript) -> Transcript:
    """Raise TypeError unless the fields writers rely on have their types (a hand edit may break them)."""
    numbers = (int, float)
    ok = isinstance(transcript.duration, numbers) and all(
        isinstance(s, Segment)
        and isinstance(s.start, numbers)
        and isinstance(s.end, numbers)
        and isinstance(s.text, str)
        and isinstance(s.words, list)
        and all(isinstance(w.start, numbers) and isinstance(w.end, numbers) for w in s.words)
        for s in transcript.segments
    )
    if not ok or not isinstance(transcript.language, str) or not isinstance(transcript.warnings, list):
        raise TypeError("a field has the wrong type")
    return transcript


class RawCache:
    """Verbatim transcripts by (content hash, ASR settings hash)."""

    def __init__(self, output: Path, warn: Warn) -> None:
        self.folder = output / STATE_DIR / "raw"
        self.warn = warn

    def _path(self, digest: str, asr_hash: str) -> Path:
        return self.folder / f"{digest[:32]}-{asr_hash}.json"

    def get(self, digest: str, asr_hash: str) -> Transcript | None:
        path = self._path(digest, asr_hash)
        if not os.path.lexists(path):
            return None
        try:
            return _check_transcript(Transcript.from_json(read_state_file(path).decode("utf-8")))
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            set_aside(path, f"is not a readable cached transcript ({exc})", self.warn)
            return None

    def put(self, digest: str, asr_hash: str, transcript: Transcript) -> None:
        ensure_folder(self.folder, self.warn)
        write_atomic(self._path(digest, asr_hash), transcript.to_json())


def _holder() -> str:
    """Who holds the lock, as the one who finds it taken can find it. A pid inside a container means nothing
    on the host: `invoke` names the container and itself (TRANSCRIBER_LOCK_HOLDER); another container of
    our image is named by its hostname, which the engine sets to the container's short id."""
    if named := os.environ.get("TRANSCRIBER_LOCK_HOLDER"):
        return named
    if os.environ.get("TRANSCRIBER_IN_CONTAINER") == "1":
        return f"container {socket.gethostname()}"
    return f"pid {os.getpid()} on {socket.gethostname()}"


class OutputLock:
    """An exclusive `flock` on `OUT/.transcriber/lock`, released by the kernel even if the run is killed.

    Whatever is in the way (`.transcriber` a file, `lock` a folder, link or FIFO) is set aside first, so the
    lock is always a regular file of our own; a regular file is never moved, as another run may hold it.
    """

    def __init__(self, output: Path, warn: Warn | None = None) -> None:
        self.path = output / STATE_DIR / "lock"
        self.warn = warn or (lambda message: print(message, file=sys.stderr))
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        ensure_folder(self.path.parent, self.warn)
        if os.path.lexists(self.path) and not stat.S_ISREG(os.lstat(self.path).st_mode):
            set_aside(self.path, "is not a lock file", self.warn)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 512).decode(errors="replace").strip() or "of an unknown process"
            os.close(fd)
            raise OutputLockedError(
                f"another transcriber run ({'pid ' if holder.isdigit() else ''}{holder}) is writing to "
                f"{self.path.parent.parent}; wait for it to finish or choose another --output"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, _holder().encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
