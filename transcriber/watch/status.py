"""A watcher's status in `OUT/.transcriber/watch.json`: written by the watcher, read by `--health` in its
container and by `invoke watch --status` on the host, so this module imports only the standard library and
`transcriber.atomic` (the host side's rule).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from transcriber.atomic import write_atomic

#: `transcriber.state.STATE_DIR`, which the host side may not import (tests/test_host_watch.py checks they agree).
STATE_DIR = ".transcriber"

STATUS_FILE = "watch.json"
#: A heartbeat older than this means the loop is stuck (it ticks every half second while it waits).
STALE_IDLE_S = 60.0
#: ... and while one file is in the models (a long recording on a slow device takes a while).
STALE_BUSY_S = 1800.0
#: The heartbeat is written at most this often unless the state changes.
HEARTBEAT_S = 5.0


@dataclass
class WatchStatus:
    """The watcher's state as `invoke watch --status` shows it."""

    pid: int = field(default_factory=os.getpid)
    input: str = ""
    state: str = "starting"  # starting, watching, transcribing, paused, waiting, restarting, stopped
    detail: str = ""
    started: float = field(default_factory=time.time)
    heartbeat: float = field(default_factory=time.time)
    files_done: int = 0
    files_failed: int = 0
    last_file: str = ""
    last_done: float = 0.0
    last_error: str = ""
    models_loaded: bool = False
    #: Starts after a crash, a kill or a reboot (the status then goes on from where it was).
    restarts: int = 0


class StatusFile:
    """`watch.json`, rewritten on every change of state and every `HEARTBEAT_S` while nothing changes."""

    def __init__(self, output: Path, input_dir: Path) -> None:
        self.path = output / STATE_DIR / STATUS_FILE
        self.status = WatchStatus(input=str(input_dir))
        self._written = 0.0
        previous = read_status(output)
        if previous is not None and previous.state != "stopped":  # it did not stop: this is a restart
            self.status = dataclasses.replace(
                previous, pid=self.status.pid, input=self.status.input, state="starting", detail="",
                heartbeat=self.status.heartbeat, models_loaded=False, restarts=previous.restarts + 1,
            )  # fmt: skip

    def update(self, **changes: Any) -> None:
        """Change fields and write at once (a state change is news)."""
        for key, value in changes.items():
            setattr(self.status, key, value)
        self.beat(force=True)

    def beat(self, force: bool = False) -> None:
        """Write the status if it is due. A write that fails (a full disk the watcher is paused for) is
        skipped: the status is news, not state, and a stale heartbeat then says so to `--health`."""
        now = time.time()
        if force or now - self._written >= HEARTBEAT_S:
            self.status.heartbeat = now
            try:
                write_atomic(self.path, json.dumps(asdict(self.status), indent=2))
            except OSError:
                return
            self._written = now


def output_fault(output: Path) -> str:
    """Why the watcher cannot write into `output` ("Read-only file system", "Permission denied"), or ""."""
    try:
        if os.statvfs(output).f_flag & os.ST_RDONLY:
            return os.strerror(errno.EROFS)
    except OSError as exc:
        return exc.strerror or str(exc)
    return "" if os.access(output, os.W_OK | os.X_OK) else os.strerror(errno.EACCES)


def read_status(output: Path) -> WatchStatus | None:
    """The status a watcher of `output` last wrote, or None if there is none (or it cannot be read)."""
    try:
        data = json.loads((output / STATE_DIR / STATUS_FILE).read_text(encoding="utf-8"))
        return WatchStatus(**{k: v for k, v in data.items() if k in WatchStatus.__dataclass_fields__})
    except (OSError, ValueError, TypeError):
        return None


def health(output: Path, now: float | None = None) -> tuple[bool, str]:
    """(healthy, one line): healthy while the watcher's heartbeat is fresh for its state."""
    status = read_status(output)
    if status is None:
        return False, f"no watcher status in {output / STATE_DIR / STATUS_FILE}"
    if status.state == "stopped":
        return False, "the watcher stopped"
    if fault := output_fault(output):  # nor can the watcher write its status there: its heartbeat is stale
        return False, f"paused: {output} cannot be written ({fault}); the watcher goes on once it can"
    age = (time.time() if now is None else now) - status.heartbeat
    limit = STALE_BUSY_S if status.state == "transcribing" else STALE_IDLE_S
    line = f"{status.state}{f' ({status.detail})' if status.detail else ''}, heartbeat {age:.0f} s ago"
    if age > limit:
        return False, f"stuck: {line} (limit {limit:.0f} s)"
    if status.state == "paused":  # alive, but waiting for someone to fix what paused it
        return False, line
    return True, line
