"""The settle rule on real files: a recording is handed over only after it stayed the same for the settle
time as we saw it, once per look it has, and never while it still grows."""

from __future__ import annotations

from pathlib import Path

from transcriber.watch.settle import Settler, signature


class Clock:
    """Time the test moves by hand (the files are real; only waiting is skipped)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_growing_file_waits_until_it_stops(tmp_path: Path) -> None:
    clock, path = Clock(), tmp_path / "memo.wav"
    settler = Settler(5.0, clock)
    path.write_bytes(b"part one")
    settler.observe(path)
    assert settler.next_due() == 5.0
    clock.now += 4
    with path.open("ab") as handle:  # a copy tool writes the next part before the settle time is up
        handle.write(b" part two")
    settler.observe(path)
    clock.now += 4
    assert settler.ready() == []
    clock.now += 1.5
    assert settler.ready() == [(path, signature(path))]
    assert settler.ready() == [] and len(settler) == 0


def test_a_change_the_watcher_missed_restarts_the_wait(tmp_path: Path) -> None:
    clock, path = Clock(), tmp_path / "memo.wav"
    settler = Settler(2.0, clock)
    path.write_bytes(b"a")
    settler.observe(path)
    clock.now += 3
    path.write_bytes(b"ab")  # no event for this one: ready() looks again itself
    assert settler.ready() == []
    clock.now += 2
    assert [p for p, _ in settler.ready()] == [path]


def test_handed_and_known_files_wait_again_only_when_changed(tmp_path: Path) -> None:
    clock, done, bad = Clock(), tmp_path / "done.wav", tmp_path / "bad.wav"
    settler = Settler(1.0, clock)
    done.write_bytes(b"done")
    bad.write_bytes(b"bad")
    seen = signature(bad)
    assert seen is not None
    settler.known(bad, seen)
    for path in (done, bad):
        settler.observe(path)
    clock.now += 1
    assert [p for p, _ in settler.ready()] == [done]
    settler.observe(done)  # a rescan of the whole folder
    settler.observe(bad)
    assert len(settler) == 0
    bad.write_bytes(b"bad, fixed")
    settler.observe(bad)
    clock.now += 1
    assert [p for p, _ in settler.ready()] == [bad]


def test_a_deleted_file_stops_waiting(tmp_path: Path) -> None:
    clock, path = Clock(), tmp_path / "memo.wav"
    settler = Settler(1.0, clock)
    path.write_bytes(b"x")
    settler.observe(path)
    path.unlink()
    settler.observe(path)
    assert len(settler) == 0 and settler.next_due() is None
