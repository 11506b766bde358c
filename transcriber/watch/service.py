"""`transcriber watch`: the batch once, then each new or changed recording once it has settled.

The loop ticks every half second: it takes the changes the watcher saw, hands settled recordings to the
`Runner` in one group, keeps its status file fresh, and frees the models after `--idle-unload` quiet
minutes. Faults: a bad recording is reported once (remembered with its size and mtime until it changes);
a full disk pauses until space is freed, then the same group is retried (finished files are skipped); any
other fault that stops a group (an output that cannot be written, a lost GPU) pauses too, and the group is
retried with a growing wait, at once when the output can be written again: a watcher never exits for a
fault, since a restart would not heal it either and the restart policy would only loop;
a deleted input folder is waited for; Ctrl-C or SIGTERM ends it with 130 after the file in hand.

A deleted input folder that is a mount (the container's /data/in) can never come back through that mount:
after `REMOUNT_AFTER_S` the watcher exits with `EXIT_REMOUNT`, and the container's restart policy mounts
the folder anew. The wait gives a folder that is being replaced (deleted, then made again) time to be
back: Docker's restart of a watcher whose folder is still missing fails, and the container stays stopped
(`invoke watch --status` then says what to do), rather than binding a folder Docker makes up as root.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from transcriber.batch import _output_folder
from transcriber.cleanup.auto import resolve_cleanup
from transcriber.discovery import Recording, discover
from transcriber.errors import EXIT_INTERRUPTED, EXIT_REMOUNT, ConfigError, display
from transcriber.extras import require
from transcriber.progress import Reporter
from transcriber.settings import Settings
from transcriber.summary import Summary
from transcriber.watch.badfiles import BadFiles
from transcriber.watch.events import TICK_S, FolderEvents, folder_present
from transcriber.watch.runner import Runner
from transcriber.watch.settle import Settler, Signature
from transcriber.watch.status import StatusFile, output_fault

#: Words of the errno messages that mean the output's disk is full (the batch stops with one of them).
_DISK_FULL = (os.strerror(errno.ENOSPC), os.strerror(errno.EDQUOT))
#: A paused watcher resumes once this much more space is free than when it paused...
RESUME_MARGIN = 8 << 20
#: ... or, for a quota (which free space does not show), tries again after this long.
PAUSE_RETRY_S = 300.0
#: A group stopped by another fault is tried again after this long, doubled after each failed try...
RETRY_FIRST_S = 10.0
#: ... up to this long.
RETRY_MAX_S = 600.0
#: How long a deleted input folder that is a mount is waited for before the watcher exits to be mounted anew.
REMOUNT_AFTER_S = 30.0


@dataclass(frozen=True)
class WatchOptions:
    settle: float = 5.0
    poll: float | None = None
    idle_unload: float | None = None


class _StatusReporter(Reporter):
    """Plain log lines, with each file's start and each error mirrored into the status file."""

    def __init__(self, status: StatusFile, quiet: bool) -> None:
        super().__init__(quiet=quiet)
        self.status_file = status
        self.errors: list[str] = []

    def step(self, index: int, name: str, stage: str) -> None:
        super().step(index, name, stage)
        self.status_file.update(state="transcribing", detail=stage, last_file=name)

    def error(self, message: str) -> None:
        super().error(message)
        self.errors.append(message)
        self.status_file.update(last_error=message)


def watch(settings: Settings, options: WatchOptions, debug: bool = False) -> int:
    """Watch `settings.input` until interrupted (130), through every fault (each pauses it); `EXIT_REMOUNT`
    when the mounted input folder was deleted (a restart mounts the one made again)."""
    if not settings.input.is_dir():
        raise ConfigError(f"--input {settings.input}: watch needs a folder to watch; give a folder of recordings")
    require("watch", "transcriber watch", "watchfiles")
    # Absolute, as the watcher reports its paths: a recording is matched by path between the two.
    settings = dataclasses.replace(settings, input=Path(os.path.abspath(settings.input)))
    status = StatusFile(settings.output, settings.input)
    reporter = _StatusReporter(status, settings.quiet)
    settings = resolve_cleanup(settings, reporter.note)
    with _output_folder(settings, reporter):
        loop = _Loop(settings, options, reporter, debug)
        try:
            loop.runner.prepare()  # a missing model or a bad flag ends the watch now, not at the first arrival
            return loop.run()
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        finally:
            loop.runner.unload()
            # "restarting" is not "stopped": the next start counts a restart and keeps the counts.
            ended = "restarting" if loop.stopped_for else "stopped"
            status.update(state=ended, detail=loop.stopped_for, models_loaded=False)
            reporter.note(f"watch stopped: {status.status.files_done} done, {status.status.files_failed} failed")


class _Loop:
    def __init__(self, settings: Settings, options: WatchOptions, reporter: _StatusReporter, debug: bool) -> None:
        self.settings, self.options, self.reporter = settings, options, reporter
        self.status = reporter.status_file
        self.runner = Runner(settings, reporter, debug)
        self.settler = Settler(options.settle)
        self.bad = BadFiles(settings.output, reporter.note)
        for name, seen in self.bad.entries.items():
            self.settler.known(settings.input / name, seen)
        self.events = FolderEvents(settings.input, settings.output, options.poll, reporter.note)
        self.idle_since = time.monotonic()
        #: Why the watcher ended to be restarted (kept in the status it leaves behind); "" otherwise.
        self.stopped_for = ""

    def run(self) -> int:
        where = f"polling every {self.options.poll:g} s" if self.options.poll else "inotify"
        self.reporter.note(f"watching {display(self.settings.input)} ({where}, settle {self.options.settle:g} s)")
        gone_since: float | None = None
        for tick in self.events.ticks():
            if tick.gone:
                gone_since = time.monotonic() if gone_since is None else gone_since
                if tick.husk and time.monotonic() - gone_since >= REMOUNT_AFTER_S:
                    return self._remount()
                self._state("waiting", f"input folder {display(self.settings.input)} is gone")
                continue
            gone_since = None
            if tick.rescan:
                self._rescan()
            for path in tick.paths:
                self.settler.observe(path)
            ready = self.settler.ready()
            if ready:
                self._group(dict(ready))
            self._idle()
            self._state("watching", f"{len(self.settler)} settling" if len(self.settler) else "")
        return EXIT_INTERRUPTED  # the feed never ends; a signal ends the loop

    def _remount(self) -> int:
        """End the watch so that a restart mounts the input folder anew (the deleted one stays mounted)."""
        folder = display(self.settings.input)
        self.stopped_for = f"input folder {folder} was deleted; the watcher exits for a restart to mount it anew"
        self.reporter.note(
            f"input folder {folder} was deleted while mounted here: exiting ({EXIT_REMOUNT}) so that the restart "
            "mounts the folder made again; if it is not back by then, the container stops: make the folder, "
            "then start the watcher again (invoke watch --input)"
        )
        return EXIT_REMOUNT

    def _state(self, state: str, detail: str) -> None:
        current = self.status.status
        if (current.state, current.detail) != (state, detail):
            self.status.update(state=state, detail=detail, models_loaded=self.runner.loaded)
        else:
            self.status.beat()

    def _discover(self, unreadable: list[OSError]) -> list[Recording]:
        """Every recording under the input, names planned as a `run` plans them; none while the folder is
        gone (the next tick says so and waits)."""
        if not folder_present(self.settings.input):
            return []
        return discover(self.settings.input, self.settings.output, unreadable)

    def _rescan(self) -> None:
        for recording in self._discover([]):
            self.settler.observe(recording.path)

    def _group(self, ready: dict[Path, Signature]) -> None:
        """Run the settled recordings (planned with the whole folder, so output names match a `run`'s),
        pausing for each fault that stops them until it is fixed; finished files are not redone."""
        unreadable: list[OSError] = []
        chosen = [r for r in self._discover(unreadable) if r.path in ready]
        tries = 0
        while True:
            self.reporter.errors.clear()
            summary = self.runner.run(chosen, unreadable)
            self._account(summary, chosen, ready)
            unreadable = []  # reported once
            if not summary.stopped:
                break
            fault = self.reporter.errors[-1] if self.reporter.errors else "the batch stopped"
            if any(words in fault for words in _DISK_FULL):
                self._wait_for_space()
            else:
                self._wait_to_retry(fault, min(RETRY_FIRST_S * 2**tries, RETRY_MAX_S))
                tries += 1
        self.idle_since = time.monotonic()
        self._rescan()  # what arrived while the models were busy

    def _account(self, summary: Summary, chosen: list[Recording], ready: dict[Path, Signature]) -> None:
        """Counts into the status; failures remembered as bad (except one that stopped the group: its
        fault was the disk's or the device's), successes forgotten."""
        failed = summary.failed[:-1] if summary.stopped else summary.failed
        by_name = {display(r.relative): r for r in chosen}
        bad = {r.relative.as_posix(): ready[r.path] for name in failed if (r := by_name.get(name)) is not None}
        good = [r.relative.as_posix() for r in chosen if display(r.relative) not in summary.failed]
        self.bad.update(bad, good)
        current = self.status.status
        if summary.done:
            current.last_done = time.time()
        self.status.update(files_done=current.files_done + summary.done,
                           files_failed=current.files_failed + len(bad))  # fmt: skip
        if summary.done or summary.failed:
            self.reporter.note(summary.render())

    def _wait_for_space(self) -> None:
        """Pause until space is freed on the output's disk (or a quota's retry time passed)."""
        output = self.settings.output
        paused_free, since = shutil.disk_usage(output).free, time.monotonic()
        self.reporter.note(f"paused: {display(output)} is full; free some space there and the watch resumes")
        while True:
            self._state("paused", f"{display(output)} is full")
            time.sleep(TICK_S)
            free = shutil.disk_usage(output).free
            if free >= paused_free + RESUME_MARGIN or time.monotonic() - since >= PAUSE_RETRY_S:
                self.reporter.note(f"{display(output)}: {free >> 20} MiB free; resuming")
                return

    def _wait_to_retry(self, fault: str, delay: float) -> None:
        """Pause for a fault a restart would not heal either: `delay` seconds, or until an output that
        could not be written can be. A fault that is not the output's (a lost GPU) gets fresh models."""
        output = self.settings.output
        blocked = output_fault(output)
        if not blocked:
            self.runner.unload()
        self.reporter.note(f"paused: {fault}; trying again in {delay:g} s, or as soon as the output can be written")
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            self._state("paused", fault)
            time.sleep(TICK_S)
            if blocked and not output_fault(output):
                self.reporter.note(f"{display(output)} can be written again; resuming")
                return
        self.reporter.note("trying again")

    def _idle(self) -> None:
        minutes = self.options.idle_unload
        if minutes is not None and self.runner.loaded and time.monotonic() - self.idle_since >= minutes * 60:
            self.runner.unload()
            self.reporter.note(f"idle for {minutes:g} min: models unloaded (they load again for the next file)")
            self.status.update(models_loaded=False)
