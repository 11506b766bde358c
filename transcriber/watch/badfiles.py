"""The recordings a watcher found bad, kept in `OUT/.transcriber/watch-bad.json`, so each is reported
once, across restarts too, until it changes (then it is tried again).

A file that cannot be read is set aside and started afresh, as the manifest is: losing it costs at most
one repeated report.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from transcriber.state import STATE_DIR, Warn, set_aside
from transcriber.watch.settle import Signature
from transcriber.writers import write_atomic

BAD_FILE = "watch-bad.json"


class BadFiles:
    """Recordings that failed, by relative name, with the (size, mtime) they failed at: a watcher skips
    them silently until they change, so a broken file is reported once, not on every look."""

    def __init__(self, output: Path, warn: Warn) -> None:
        self.path = output / STATE_DIR / BAD_FILE
        self.entries: dict[str, Signature] = {}
        if os.path.lexists(self.path):
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.entries = {name: (int(sig[0]), int(sig[1])) for name, sig in data.items()}
            except (OSError, ValueError, TypeError, AttributeError, IndexError) as exc:
                set_aside(self.path, f"cannot be read ({exc})", warn)

    def update(self, failed: dict[str, Signature], succeeded: list[str]) -> None:
        """Remember the new failures, forget the files that now went through; saved only if it changed."""
        before = dict(self.entries)
        self.entries.update(failed)
        for name in succeeded:
            self.entries.pop(name, None)
        if self.entries != before:
            with contextlib.suppress(OSError):  # a full disk: kept in memory, saved with the next change
                write_atomic(self.path, json.dumps(self.entries, indent=2))
