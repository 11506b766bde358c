"""When a recording is safe to read: its size and mtime unchanged for a settle time, as seen by us.

A phone, a recorder or a copy tool writes a file in parts; reading it before the last part would
transcribe half a recording (and the manifest would call it done). So a path is ready only once two looks
`settle` seconds apart found the same (size, mtime): every change starts the wait again. The check is
ours, not the file's mtime age, so clock skew on a network share cannot make a growing file look old.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: What a file looks like from outside: (size in bytes, mtime in ns).
Signature = tuple[int, int]


def signature(path: Path) -> Signature | None:
    """(size, mtime_ns) of a regular file, or None if it is gone or not a file."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns) if os.path.isfile(path) else None


@dataclass
class _Seen:
    signature: Signature
    since: float


class Settler:
    """Paths waiting to settle. `observe` a path whenever it may have changed; `ready` hands back those
    unchanged for `settle` seconds, each once until it changes again (so a rescan of the whole folder
    does not hand back every finished recording, nor a known bad one, see `known`)."""

    def __init__(self, settle: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.settle = settle
        self._clock = clock
        self._waiting: dict[Path, _Seen] = {}
        self._handed: dict[Path, Signature] = {}

    def known(self, path: Path, seen: Signature) -> None:
        """Treat `path` as handed over already at `seen`: it waits again only once it looks different."""
        self._handed[path] = seen

    def observe(self, path: Path) -> None:
        """Note the path's current look; a new or changed one starts its settle time now, a gone one is dropped."""
        current = signature(path)
        seen = self._waiting.get(path)
        if current is None or current == self._handed.get(path):
            self._waiting.pop(path, None)
        elif seen is None or seen.signature != current:
            self._waiting[path] = _Seen(current, self._clock())

    def ready(self) -> list[tuple[Path, Signature]]:
        """The paths settled by now, with the signature they settled at, sorted; they stop waiting. Each is
        looked at once more first, so a change the watcher has not reported yet restarts its wait."""
        now, settled = self._clock(), []
        for path in sorted(self._waiting):
            if now - self._waiting[path].since < self.settle:
                continue
            self.observe(path)
            seen = self._waiting.get(path)
            if seen is not None and now - seen.since >= self.settle:
                settled.append((path, seen.signature))
                self._handed[path] = seen.signature
                del self._waiting[path]
        return settled

    def next_due(self) -> float | None:
        """Seconds until the next path may be ready (0 if one is), or None when nothing waits."""
        if not self._waiting:
            return None
        oldest = min(seen.since for seen in self._waiting.values())
        return max(0.0, oldest + self.settle - self._clock())

    def __len__(self) -> int:
        return len(self._waiting)
