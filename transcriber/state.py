"""What a batch keeps in `OUT/.transcriber/`: the manifest, the raw-transcript cache and the lock.

The manifest maps each recording (relative path) to the hash of its content and of the settings that
produced its outputs, so a rerun skips finished files and redoes those whose audio or settings changed.
Raw (verbatim, pre-cleanup) transcripts are cached by content and ASR-settings hash, so changing only the
cleanup or the formats never repeats speech recognition. The lock stops two runs writing one folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from transcriber.errors import OutputLockedError
from transcriber.transcript import Transcript
from transcriber.writers import write_atomic

STATE_DIR = ".transcriber"
_CHUNK = 1 << 20


def content_hash(path: Path) -> str:
    """sha256 of the file's bytes: renaming or moving a recording does not make it new."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Manifest:
    """`manifest.json`: one entry per finished recording, saved atomically after every file."""

    def __init__(self, output: Path) -> None:
        self.path = output / STATE_DIR / "manifest.json"
        self.entries: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            try:
                self.entries = json.loads(self.path.read_text(encoding="utf-8")).get("files", {})
            except (json.JSONDecodeError, AttributeError):
                self.entries = {}  # a damaged manifest only costs a redo, never a wrong skip

    def is_done(self, relative: str, digest: str, settings: str, output: Path) -> bool:
        entry = self.entries.get(relative)
        return (
            entry is not None
            and entry.get("content_hash") == digest
            and entry.get("settings_hash") == settings
            and all((output / name).is_file() for name in entry.get("outputs", []))
        )

    def record(self, relative: str, digest: str, settings: str, outputs: list[str]) -> None:
        self.entries[relative] = {"content_hash": digest, "settings_hash": settings, "outputs": outputs}
        write_atomic(self.path, json.dumps({"version": 1, "files": self.entries}, indent=2, ensure_ascii=False))


class RawCache:
    """Verbatim transcripts by (content hash, ASR settings hash)."""

    def __init__(self, output: Path) -> None:
        self.folder = output / STATE_DIR / "raw"

    def _path(self, digest: str, asr_hash: str) -> Path:
        return self.folder / f"{digest[:32]}-{asr_hash}.json"

    def get(self, digest: str, asr_hash: str) -> Transcript | None:
        path = self._path(digest, asr_hash)
        try:
            return Transcript.from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def put(self, digest: str, asr_hash: str, transcript: Transcript) -> None:
        write_atomic(self._path(digest, asr_hash), transcript.to_json())


class OutputLock:
    """An exclusive `flock` on `OUT/.transcriber/lock`, released by the kernel even if the run is killed."""

    def __init__(self, output: Path) -> None:
        self.path = output / STATE_DIR / "lock"
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise OutputLockedError(
                f"another transcriber run (pid {holder}) is writing to {self.path.parent.parent}; wait for it "
                "to finish or choose another --output"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
