"""The watcher's change feed on a real folder with real inotify: nothing that arrives around the start of
the watch goes unseen (issue 20's CI saw a recording copied in just after "watching" never picked up)."""

from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path

from transcriber.watch.events import FolderEvents, Tick


def _seen(ticks: Generator[Tick, None, None], path: Path, within: float = 30.0) -> bool:
    """Whether a tick names `path` or asks for a rescan (which would find it) within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        tick = next(ticks)
        if tick.rescan or path in tick.paths:
            return True
    return False


def test_a_file_that_arrives_after_the_first_look_is_seen(tmp_path: Path) -> None:
    """Each rescan tick comes once the watch is in place, so a file written after it has an event: with the
    rescan before the watch was set up, a file copied in between had neither."""
    source = tmp_path / "in"
    source.mkdir()
    ticks = FolderEvents(source, tmp_path / "out", None, lambda _: None).ticks()
    assert next(ticks).rescan, "the first tick looks at what is there already"
    arrived = source / "memo.wav"
    arrived.write_bytes(b"RIFF")
    assert _seen(ticks, arrived)
    ticks.close()


def test_the_feed_names_new_recordings_and_skips_the_rest(tmp_path: Path) -> None:
    source = tmp_path / "in"
    (source / ".hidden").mkdir(parents=True)
    ticks = FolderEvents(source, source / "out", None, lambda _: None).ticks()
    assert next(ticks).rescan
    for name in ("call.mp3", "notes.txt", ".hidden/secret.wav"):
        (source / name).write_bytes(b"data")
    named: set[Path] = set()
    deadline = time.monotonic() + 30
    while source / "call.mp3" not in named and time.monotonic() < deadline:
        named |= next(ticks).paths
    assert named == {source / "call.mp3"}
    ticks.close()
