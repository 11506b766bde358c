"""What may have changed under the input folder: inotify through `watchfiles`, or polling for network shares.

Each `Tick` names the paths to look at again; `rescan` asks for a look at everything (once the watch is in
place, at the start and after the input folder came back; after a folder moved in). A deleted input
folder is reported once and waited for; the watcher then starts over on the new folder. Inside a
container a deleted folder stays mounted as an empty husk (no links left): it counts as gone too, and
since no folder made again under its name can reach this mount, ticks say `husk` so the loop can end the
process and let a restart bind the new folder.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from transcriber.discovery import AUDIO_EXTENSIONS
from transcriber.errors import display

#: How often the loop wakes without changes, to hand over settled files and write its heartbeat.
TICK_S = 0.5


@dataclass
class Tick:
    paths: set[Path] = field(default_factory=set)
    rescan: bool = False
    #: The input folder is gone and being waited for (the loop still ticks, so its heartbeat stays fresh).
    gone: bool = False
    #: ... and what is left is a deleted folder still mounted here: only a new mount shows its successor.
    husk: bool = False


def folder_present(root: Path) -> bool:
    """True while `root` is a folder that still has a name (a deleted one that is still mounted has none)."""
    try:
        info = os.stat(root)
    except OSError:
        return False
    return os.path.isdir(root) and info.st_nlink > 0


def mounted_husk(root: Path) -> bool:
    """True if `root` is a deleted folder that is still mounted: by path, only a mount point can lead to a
    folder with no links left, and a folder made again on the host under its name is not this one."""
    try:
        return os.stat(root).st_nlink == 0
    except OSError:
        return False


class FolderEvents:
    """The change feed for one input folder, skipping the output folder, hidden names and non-recordings."""

    def __init__(self, root: Path, output: Path, poll: float | None, note: Callable[[str], None]) -> None:
        self.root, self.poll, self.note = root, poll, note
        self.output = output.resolve()

    def wanted(self, path: Path) -> bool:
        """A recording's name, outside the output folder, with no hidden part below the input folder."""
        try:
            parts = path.relative_to(self.root).parts
        except ValueError:
            return False
        if any(part.startswith(".") for part in parts) or path.suffix.lower() not in AUDIO_EXTENSIONS:
            return False
        return not path.resolve().is_relative_to(self.output)

    def ticks(self) -> Generator[Tick, None, None]:
        """Forever: the changes of each tick, the first a rescan; around a deleted input folder, a wait."""
        while True:
            if not folder_present(self.root):
                yield from self._wait_for_folder()
            yield from self._watch()

    def _watch(self) -> Iterator[Tick]:
        """Changes until the input folder goes away (then returns, to wait for it). The first tick comes once
        the watch is in place and asks for a rescan: a file that arrived before then (while the watch was being
        set up, say) has no event of its own, and a rescan made earlier could have missed it."""
        from watchfiles import watch

        changes = watch(
            self.root, watch_filter=None, debounce=int(TICK_S * 1000), step=50, rust_timeout=int(TICK_S * 1000),
            yield_on_timeout=True, force_polling=self.poll is not None,
            poll_delay_ms=int((self.poll or 1) * 1000), ignore_permission_denied=True,
        )  # fmt: skip
        first = True
        try:
            for found in changes:
                if not folder_present(self.root):
                    return
                paths = {Path(raw) for _, raw in found}
                moved_in = any(p.is_dir() and not p.resolve().is_relative_to(self.output) for p in paths)
                yield Tick({p for p in paths if self.wanted(p)}, rescan=first or moved_in)
                first = False
        except FileNotFoundError:  # the poller lost the folder under it (a deletion): wait for it
            if folder_present(self.root):
                raise
        finally:
            changes.close()

    def _wait_for_folder(self) -> Iterator[Tick]:
        self.note(f"input folder {display(self.root)} is gone; waiting for it to come back")
        while not folder_present(self.root):
            yield Tick(gone=True, husk=mounted_husk(self.root))
            time.sleep(TICK_S)
        self.note(f"input folder {display(self.root)} is back; looking at it again")
