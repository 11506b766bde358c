"""Progress for a batch: a rich bar on a terminal, plain lines in logs and pipes, nothing with --quiet.

Errors are printed in every mode, one line each, on stderr, so a failed file is never silent.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, TextIO


class TolerantStream:
    """stderr that outlives its reader: once a write fails (`... 2>&1 | head -2` closed the pipe), the
    stream is pointed at /dev/null and the batch goes on silently instead of stopping after one file."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except (OSError, ValueError):
            self._silence()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            self._silence()

    def _silence(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # point the fd at /dev/null so the exit-time flush works
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
        self._stream = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class Reporter:
    """Plain lines: what a log file or CI output should hold."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet

    def start(self, total_files: int) -> None:
        self.total = total_files

    def step(self, index: int, name: str, stage: str) -> None:
        """A file begins a stage ("transcribing", "cleaning")."""
        if not self.quiet:
            print(f"[{index}/{self.total}] {stage} {name}", file=self.stream, flush=True)

    def advance(self, audio_seconds: float) -> None:
        """A file finished; `audio_seconds` of audio were covered."""

    def note(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.stream, flush=True)

    def error(self, message: str) -> None:
        print(f"error: {message}", file=self.stream, flush=True)

    def close(self) -> None:
        """Stop any live display before the summary is printed."""


class RichReporter(Reporter):
    """A live bar over files, with the audio seconds done beside it, for an interactive terminal."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        super().__init__(stream, quiet)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[audio]:.0f} s audio"),
            TimeElapsedColumn(),
            console=Console(file=self.stream),
        )
        self._task = self._progress.add_task("starting", total=None, audio=0.0)
        self._audio = 0.0

    def start(self, total_files: int) -> None:
        super().start(total_files)
        self._progress.update(self._task, total=total_files)
        self._progress.start()

    def step(self, index: int, name: str, stage: str) -> None:
        self._progress.update(self._task, description=f"{stage} {name}")

    def advance(self, audio_seconds: float) -> None:
        self._audio += audio_seconds
        self._progress.update(self._task, advance=1, audio=self._audio)

    def note(self, message: str) -> None:
        self._progress.console.print(message, markup=False, highlight=False)

    def error(self, message: str) -> None:
        self._progress.console.print(f"error: {message}", markup=False, highlight=False, style="red")

    def close(self) -> None:
        self._progress.stop()


def make_reporter(quiet: bool, stream: TextIO | None = None) -> Reporter:
    stream = stream or sys.stderr
    if not quiet and stream.isatty():
        return RichReporter(stream)
    return Reporter(stream, quiet=quiet)
