"""Atomic file writes: a file is complete or absent, and a recording's outputs all or none.

Both sides use it (the host for env files and imported models, the container for transcripts), so it
imports the standard library only.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: Suffix of in-flight temp files; a run that was killed leaves some, and the next run sweeps them.
TEMP_SUFFIX = ".transcriber-tmp"
#: mkstemp creates files readable by the owner alone; outputs get the usual mode, as `open` would give them.
_UMASK = os.umask(0)
os.umask(_UMASK)


def _encode(data: str | bytes) -> bytes:
    """Text as UTF-8; a lone surrogate (a file name's undecodable byte) goes back out as that byte."""
    if isinstance(data, bytes):
        return data
    try:
        return data.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return data.encode("utf-8", "backslashreplace")


def write_temp(path: Path, data: str | bytes) -> str:
    """A synced temp file beside `path`, named short so any name that fits NAME_MAX can be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            handle.write(_encode(data))
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` (text as UTF-8) to `path` via a temp file in the same folder and an atomic rename."""
    write_all_atomic([(path, data)])


def write_all_atomic(items: list[tuple[Path, str | bytes]]) -> None:
    """Write several files all or none: every temp file is complete before the first rename, and a rename
    that fails takes back the ones before it, so a recording never has half of its outputs."""
    temps: list[str] = []
    done: list[Path] = []
    try:
        for path, data in items:
            temps.append(write_temp(path, data))
        for tmp, (path, _) in zip(temps, items, strict=False):
            os.replace(tmp, path)
            done.append(path)
    except BaseException:
        for leftover in [*map(Path, temps[len(done) :]), *done]:
            leftover.unlink(missing_ok=True)
        raise
